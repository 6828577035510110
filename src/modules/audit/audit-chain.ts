import { createHash } from 'node:crypto';

/**
 * The audit hash chain as JavaScript computes it (docs/audit.md "Hash chain"). The database
 * computes the same on insert (trigger audit_events_chain, migration 1795960000000); the offline
 * verifier (scripts/verify-audit-export.mjs) holds a copy of these few lines, no project imports.
 */

/** prev_hash of the first row of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** An audit row as it is hashed: every value as text, exactly as the database renders it. */
export interface ChainedRow {
  id: string;
  tenantId: string | null;
  seq: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  /** The jsonb value's text (details::text), byte for byte. */
  details: string;
  requestId: string | null;
  /** ISO 8601, UTC, microseconds: 2026-01-02T03:04:05.123456Z. */
  createdAt: string;
  prevHash: string;
  hash: string;
}

/**
 * The canonical encoding: a JSON object with sorted keys and no whitespace; seq is a number,
 * absent values are null, everything else a JSON string. JSON.stringify keeps insertion order, and
 * escapes strings exactly as PostgreSQL's to_json does.
 */
export function canonicalRow(r: Omit<ChainedRow, 'prevHash' | 'hash'>): string {
  if (!/^[1-9][0-9]*$/.test(r.seq)) throw new Error('seq must be a positive integer');
  const head = JSON.stringify({
    action: r.action,
    actor_id: r.actorId,
    actor_type: r.actorType,
    created_at: r.createdAt,
    details: r.details,
    id: r.id,
    request_id: r.requestId,
  });
  // seq as a bigint's digits, never through a double.
  const tail = JSON.stringify({ target_id: r.targetId, target_type: r.targetType, tenant_id: r.tenantId });
  return `${head.slice(0, -1)},"seq":${r.seq},${tail.slice(1)}`;
}

/** hash = hex(SHA-256(UTF-8(prev_hash || canonical row))). */
export function rowHash(prevHash: string, row: Omit<ChainedRow, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(prevHash + canonicalRow(row), 'utf8')
    .digest('hex');
}

/** SQL select list giving a ChainedRow from audit_events aliased `e`. */
export const CHAINED_ROW_COLUMNS = `e.id::text AS "id", e.tenant_id::text AS "tenantId", e.seq::text AS "seq",
  e.actor_type AS "actorType", e.actor_id AS "actorId", e.action AS "action", e.target_type AS "targetType",
  e.target_id AS "targetId", e.details::text AS "details", e.request_id AS "requestId",
  to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
  e.prev_hash AS "prevHash", e.hash AS "hash"`;

/** The chain key audit_chain_heads and audit_checkpoints use: the tenant id, or "platform". */
export function chainKey(tenantId: string | null): string {
  return tenantId ?? 'platform';
}

/**
 * What a checkpoint signs (Ed25519), as UTF-8: a fixed prefix and the chain, seq, hash and signing
 * time, one per line. The verifier rebuilds it from the stored checkpoint.
 */
export function checkpointMessage(c: { tenantId: string | null; seq: string; hash: string; signedAt: string }): string {
  return `keyplane-audit-checkpoint/v1\n${chainKey(c.tenantId)}\n${c.seq}\n${c.hash}\n${c.signedAt}`;
}
