import type { DataSource } from 'typeorm';
import { verifyAuditSignature, type AuditPublicKey } from '../../crypto';
import { CHAINED_ROW_COLUMNS, chainKey, checkpointMessage, GENESIS_HASH, rowHash, type ChainedRow } from './audit-chain';

/** How a chain can be broken; the first one found (in seq order) is reported. */
export const CHAIN_BREAK_KINDS = [
  /** A row is missing: deleted (seq is gap-free by construction). */
  'SEQ_GAP',
  /** A row does not follow the one before it: inserted, or moved (reordered). */
  'PREV_HASH_MISMATCH',
  /** A row's content no longer gives its hash: modified. */
  'HASH_MISMATCH',
  /** A signed checkpoint names a hash the row at its seq does not have: the chain was rewritten. */
  'CHECKPOINT_MISMATCH',
  /** A checkpoint whose signature does not verify with the published keys (forged, or its key removed). */
  'CHECKPOINT_SIGNATURE_INVALID',
  /** A signed checkpoint names a seq beyond the last row: the tail was cut. */
  'TRUNCATED',
  /** Rows exist but the chain head row is gone. */
  'HEAD_MISSING',
  /** The chain head names another seq or hash than the last row (tail cut, or the head edited). */
  'HEAD_MISMATCH',
] as const;
export type ChainBreakKind = (typeof CHAIN_BREAK_KINDS)[number];

export interface ChainBreak {
  kind: ChainBreakKind;
  /** The seq where the chain breaks (the missing one for a gap, the first missing for a cut tail). */
  seq: string | null;
  /** The row found at that seq, if any. */
  eventId: string | null;
  message: string;
}

export interface StoredCheckpoint {
  tenantId: string | null;
  seq: string;
  hash: string;
  keyVersion: number;
  signature: string;
  signedAt: string;
}

export interface IntegrityReport {
  tenantId: string | null;
  ok: boolean;
  rowsChecked: number;
  /** Last row checked (the chain's head when ok). */
  lastSeq: string | null;
  lastHash: string | null;
  checkpointsChecked: number;
  lastCheckpoint: StoredCheckpoint | null;
  break: ChainBreak | null;
}

const PAGE = 2_000;

export const CHECKPOINT_COLUMNS = `c.tenant_id::text AS "tenantId", c.seq::text AS "seq", c.hash AS "hash", c.key_version AS "keyVersion",
  c.signature AS "signature", to_char(c.signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "signedAt"`;

/** Rows of one chain with seq > after, in seq order, at most `limit`. */
export function chainRows(db: Pick<DataSource, 'query'>, tenantId: string | null, after: string, limit: number): Promise<ChainedRow[]> {
  return tenantId === null
    ? db.query(`SELECT ${CHAINED_ROW_COLUMNS} FROM audit_events e WHERE e.tenant_id IS NULL AND e.seq > $1 ORDER BY e.seq LIMIT $2`, [after, limit])
    : db.query(`SELECT ${CHAINED_ROW_COLUMNS} FROM audit_events e WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`, [
        tenantId,
        after,
        limit,
      ]);
}

export function chainCheckpoints(db: Pick<DataSource, 'query'>, tenantId: string | null, after = '0'): Promise<StoredCheckpoint[]> {
  return db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints c WHERE c.chain = $1 AND c.seq > $2 ORDER BY c.seq`, [
    chainKey(tenantId),
    after,
  ]);
}

/**
 * Walks one chain in seq order and reports the first break. `from` starts after a point already
 * trusted (a verified checkpoint): the checkpoint job checks only what it is about to sign.
 * Rows are recomputed here, in JavaScript, never trusted from the database's own hashing.
 */
export async function verifyChain(
  db: Pick<DataSource, 'query'>,
  keys: readonly AuditPublicKey[],
  tenantId: string | null,
  from: { seq: string; hash: string } | null = null,
): Promise<IntegrityReport> {
  const checkpoints = await chainCheckpoints(db, tenantId, from?.seq ?? '0');
  const bySeq = new Map(checkpoints.map((c) => [c.seq, c]));
  const report: IntegrityReport = {
    tenantId,
    ok: false,
    rowsChecked: 0,
    lastSeq: from?.seq ?? null,
    lastHash: from?.hash ?? null,
    checkpointsChecked: 0,
    lastCheckpoint: null,
    break: null,
  };
  const fail = (kind: ChainBreakKind, seq: bigint | string | null, eventId: string | null, message: string) => {
    report.break = { kind, seq: seq === null ? null : String(seq), eventId, message };
    return report;
  };
  const checkCheckpoint = (c: StoredCheckpoint, row: ChainedRow | null) => {
    if (!verifyAuditSignature(keys, c.keyVersion, checkpointMessage(c), c.signature)) {
      return `checkpoint at seq ${c.seq} (key version ${c.keyVersion}) does not verify with the published keys`;
    }
    report.checkpointsChecked++;
    report.lastCheckpoint = c;
    if (row && row.hash !== c.hash) return null;
    return undefined;
  };

  let expected = BigInt(from?.seq ?? '0') + 1n;
  let prev = from?.hash ?? GENESIS_HASH;
  for (;;) {
    const rows = await chainRows(db, tenantId, String(expected - 1n), PAGE);
    for (const row of rows) {
      if (BigInt(row.seq) !== expected) return fail('SEQ_GAP', expected, null, `row ${expected} is missing (the next row is ${row.seq})`);
      if (row.prevHash !== prev) return fail('PREV_HASH_MISMATCH', row.seq, row.id, `row ${row.seq} does not follow row ${expected - 1n}`);
      if (rowHash(row.prevHash, row) !== row.hash) return fail('HASH_MISMATCH', row.seq, row.id, `row ${row.seq} was modified`);
      const c = bySeq.get(row.seq);
      if (c) {
        const problem = checkCheckpoint(c, row);
        if (typeof problem === 'string') return fail('CHECKPOINT_SIGNATURE_INVALID', row.seq, row.id, problem);
        if (problem === null) return fail('CHECKPOINT_MISMATCH', row.seq, row.id, `row ${row.seq} is not the row checkpointed at ${c.signedAt}`);
      }
      prev = row.hash;
      report.rowsChecked++;
      report.lastSeq = row.seq;
      report.lastHash = row.hash;
      expected++;
    }
    if (rows.length < PAGE) break;
  }
  // Checkpoints past the last row: signed proof that rows existed there.
  for (const c of checkpoints) {
    if (BigInt(c.seq) < expected) continue;
    const problem = checkCheckpoint(c, null);
    if (typeof problem === 'string') return fail('CHECKPOINT_SIGNATURE_INVALID', c.seq, null, problem);
    return fail('TRUNCATED', expected, null, `rows ${expected} to ${c.seq} are missing (checkpoint signed at ${c.signedAt})`);
  }
  if (from === null) {
    const [head]: { seq: string; hash: string }[] = await db.query('SELECT seq::text AS seq, hash FROM audit_chain_heads WHERE chain = $1', [
      chainKey(tenantId),
    ]);
    const last = expected - 1n;
    if (!head && last > 0n) return fail('HEAD_MISSING', null, null, 'the chain head is missing');
    if (head && (BigInt(head.seq) !== last || head.hash !== prev)) {
      const seq = BigInt(head.seq) > last ? last + 1n : BigInt(head.seq);
      return fail('HEAD_MISMATCH', seq, null, `the chain head names row ${head.seq}, the last row is ${last}`);
    }
  }
  report.ok = true;
  return report;
}
