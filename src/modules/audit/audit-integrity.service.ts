import type { DataSource } from 'typeorm';
import type { AuditPublicKey, AuditSigner } from '../../crypto';
import { chainKey, checkpointMessage } from './audit-chain';
import { verifyChain, type IntegrityReport, type StoredCheckpoint } from './audit-integrity';

export interface CheckpointRunResult {
  /** Chains whose head moved and got a new signed checkpoint. */
  signed: StoredCheckpoint[];
  /** Chains whose new rows did not verify: nothing was signed for them. */
  refused: IntegrityReport[];
}

const HEADS_PAGE = 500;

/**
 * Verification and signed checkpoints of the audit chains (docs/audit.md). The signer's private
 * keys stay in process memory; only public keys, signatures and hashes reach the database.
 */
export class AuditIntegrityService {
  constructor(
    private readonly db: DataSource,
    private readonly signer: Pick<AuditSigner, 'sign' | 'publicKeys'>,
  ) {}

  publicKeys(): AuditPublicKey[] {
    return this.signer.publicKeys();
  }

  /**
   * One chain (a tenant's, or the platform's with null), read in ONE snapshot (REPEATABLE READ):
   * rows committed meanwhile can neither look like a gap nor like a head out of step.
   */
  verify(tenantId: string | null): Promise<IntegrityReport> {
    return this.db.transaction('REPEATABLE READ', (tx) => verifyChain(tx, this.signer.publicKeys(), tenantId));
  }

  /** Every chain the heads table or the rows know of: the platform's first, then tenants by id. */
  async chains(): Promise<(string | null)[]> {
    const rows: { tenant_id: string | null }[] = await this.db.query(
      `SELECT tenant_id::text AS tenant_id FROM audit_chain_heads
        UNION SELECT DISTINCT tenant_id::text FROM audit_events
        ORDER BY tenant_id NULLS FIRST`,
    );
    return rows.map((r) => r.tenant_id);
  }

  /**
   * Signs the head of every chain that moved since its last checkpoint, a page of chains at a
   * time. The rows since that checkpoint are verified first, so a checkpoint never vouches for a
   * chain that was already broken; a refused chain is reported (and logged by the caller).
   * Idempotent: two runs racing write one checkpoint per (chain, seq).
   */
  async checkpoint(now: () => Date = () => new Date()): Promise<CheckpointRunResult> {
    const result: CheckpointRunResult = { signed: [], refused: [] };
    let after = '';
    for (;;) {
      const heads: { chain: string; tenant_id: string | null; cp_seq: string | null; cp_hash: string | null }[] = await this.db.query(
        `SELECT h.chain, h.tenant_id::text AS tenant_id, cp.seq::text AS cp_seq, cp.hash AS cp_hash
           FROM audit_chain_heads h
           LEFT JOIN LATERAL (SELECT c.seq, c.hash FROM audit_checkpoints c WHERE c.chain = h.chain ORDER BY c.seq DESC LIMIT 1) cp ON true
          WHERE h.chain > $1 AND (cp.seq IS NULL OR cp.seq < h.seq)
          ORDER BY h.chain LIMIT $2`,
        [after, HEADS_PAGE],
      );
      for (const head of heads) {
        const from = head.cp_seq && head.cp_hash ? { seq: head.cp_seq, hash: head.cp_hash } : null;
        const report = await this.db.transaction('REPEATABLE READ', (tx) => verifyChain(tx, this.signer.publicKeys(), head.tenant_id, from));
        if (!report.ok) {
          result.refused.push(report);
          continue;
        }
        if (!report.lastSeq || !report.lastHash || report.lastSeq === head.cp_seq) continue;
        const unsigned = { tenantId: head.tenant_id, seq: report.lastSeq, hash: report.lastHash, signedAt: now().toISOString() };
        const { keyVersion, signature } = this.signer.sign(checkpointMessage(unsigned));
        await this.db.query(
          `INSERT INTO audit_checkpoints (chain, tenant_id, seq, hash, key_version, signature, signed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain, seq) DO NOTHING`,
          [chainKey(head.tenant_id), head.tenant_id, unsigned.seq, unsigned.hash, keyVersion, signature, unsigned.signedAt],
        );
        result.signed.push({ ...unsigned, keyVersion, signature });
      }
      if (heads.length < HEADS_PAGE) return result;
      after = heads[heads.length - 1].chain;
    }
  }
}
