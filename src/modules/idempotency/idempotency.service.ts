import type { DataSource, EntityManager } from 'typeorm';
import type { Fingerprinter } from '../../crypto';
import { DomainError } from '../../errors';
import type { IdempotentOperation } from './idempotency.entity';
import { canonicalJson, checkIdempotencyKey, IDEMPOTENCY_TTL_HOURS, reusedKeyError, sameRequest } from './idempotency.rules';

/** One keyed request: the tenant, what it does, and keyed hashes of its key and of its whole input. */
export interface IdempotentRequest {
  tenantId: string;
  operation: IdempotentOperation;
  keyHash: Buffer;
  requestHash: Buffer;
}

const FIELD = ['input', 'idempotencyKey'];

type StoredRow = { operation: string; request_hash: Buffer | null; response: unknown };

/**
 * Remembers, per tenant and idempotency key, the answer of a key-material mutation for 24 hours.
 *
 * The key and the request are stored as keyed hashes only (HMAC under the fingerprint pepper, each
 * in its own domain): the request includes the submitted key, which must never be stored in a form
 * anyone without the pepper could test a guess against. The answer stored is what the mutation
 * returned minus anything shown once (no key, no secret).
 *
 * Exactly once: the mutation claims the key (INSERT into the primary key) in its own transaction
 * before doing anything, and writes the answer in that transaction. A concurrent request with the
 * same key waits on the claim; once the first commits it reads the answer, and if the first rolled
 * back it claims the key itself. Only answers are kept: a request that failed can be sent again
 * with the same key. Expired rows are replaced on claim and deleted by the hourly idempotency sweep.
 */
export class IdempotencyStore {
  constructor(
    private readonly db: Pick<DataSource, 'query'>,
    private readonly hasher: Pick<Fingerprinter, 'keyedHash'>,
    private readonly ttlHours = IDEMPOTENCY_TTL_HOURS,
  ) {}

  /** null when no key was given; the key is checked here, before anything else of the request. */
  request(
    tenantId: string,
    operation: IdempotentOperation,
    key: string | null | undefined,
    input: Record<string, unknown>,
  ): IdempotentRequest | null {
    if (key == null) return null;
    checkIdempotencyKey(key, FIELD);
    return {
      tenantId,
      operation,
      // Bound to the tenant: the same string in another tenant is another key, and nothing links them.
      keyHash: this.hasher.keyedHash('idempotency-key', canonicalJson([tenantId, key])),
      requestHash: this.hasher.keyedHash('idempotency-request', canonicalJson({ operation, tenantId, input })),
    };
  }

  /** The stored answer of an earlier identical request, or null; a different request is IDEMPOTENCY_KEY_REUSED. */
  async find(r: IdempotentRequest): Promise<unknown | null> {
    const [row]: StoredRow[] = await this.db.query(
      `SELECT operation, request_hash, response FROM idempotency_keys
        WHERE tenant_id = $1 AND key_hash = $2 AND expires_at > now() AND response IS NOT NULL`,
      [r.tenantId, r.keyHash],
    );
    return row ? this.answer(row, r) : null;
  }

  /**
   * Claims the key in the caller's transaction: null means "yours, do the work and complete()";
   * otherwise the answer of the request that holds it (it waited for that one to commit).
   */
  async claimInTx(tx: EntityManager, r: IdempotentRequest): Promise<unknown | null> {
    const claimed: unknown[] = await tx.query(
      `INSERT INTO idempotency_keys (tenant_id, key_hash, operation, request_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5))
       ON CONFLICT (tenant_id, key_hash) DO UPDATE
          SET operation = EXCLUDED.operation, request_hash = EXCLUDED.request_hash, target_id = NULL, response = NULL,
              created_at = now(), expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= now()
       RETURNING tenant_id`,
      [r.tenantId, r.keyHash, r.operation, r.requestHash, this.ttlHours],
    );
    if (claimed.length > 0) return null;
    const [row]: StoredRow[] = await tx.query(
      'SELECT operation, request_hash, response FROM idempotency_keys WHERE tenant_id = $1 AND key_hash = $2 AND response IS NOT NULL',
      [r.tenantId, r.keyHash],
    );
    // Deleted or replaced between the two statements (the sweep, or an expiry): the client retries.
    if (!row) throw new DomainError('IDEMPOTENCY_KEY_IN_USE', 'A request with this idempotency key is in progress. Try again shortly.', FIELD);
    return this.answer(row, r);
  }

  /** Stores the answer with the claim, in the same transaction as the work. Never pass a secret here. */
  async completeInTx(tx: EntityManager, r: IdempotentRequest, targetId: string, response: unknown): Promise<void> {
    await tx.query('UPDATE idempotency_keys SET target_id = $3, response = $4::jsonb WHERE tenant_id = $1 AND key_hash = $2', [
      r.tenantId,
      r.keyHash,
      targetId,
      JSON.stringify(response),
    ]);
  }

  private answer(row: StoredRow, r: IdempotentRequest): unknown {
    if (!sameRequest({ operation: row.operation, requestHash: row.request_hash }, r.operation, r.requestHash)) throw reusedKeyError(FIELD);
    return row.response;
  }
}

/**
 * Nothing derived from a destroyed key is kept: revoking credentials erases the request hashes
 * (which cover the submitted keys) of the answers that created or rotated them. Their keys still
 * replay the stored answer until they expire.
 */
export async function forgetRequestsOfInTx(tx: EntityManager, tenantId: string, targetIds: readonly string[]): Promise<void> {
  if (targetIds.length === 0) return;
  await tx.query(
    'UPDATE idempotency_keys SET request_hash = NULL WHERE tenant_id = $1 AND target_id = ANY($2::uuid[]) AND request_hash IS NOT NULL',
    [tenantId, targetIds],
  );
}

/** The hourly sweep: deletes up to `limit` expired answers (any tenant); returns how many. */
export async function deleteExpiredIdempotencyKeys(db: Pick<DataSource, 'query'>, limit: number): Promise<number> {
  const rows: unknown[] = await db.query(
    `DELETE FROM idempotency_keys k USING (
       SELECT tenant_id, key_hash FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT $1) due
      WHERE k.tenant_id = due.tenant_id AND k.key_hash = due.key_hash
     RETURNING 1`,
    [limit],
  );
  return Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
}
