import type { EntityManager } from 'typeorm';

/** What key-material audit events carry in details.keyRefs (docs/audit.md "Key references"). */
export interface KeyRefEntry {
  /** Keyed reference to the version's key (src/crypto auditKeyRef); null for versions stored before references existed. */
  ref: string | null;
  /** The credential version; null for a key tested without being stored (PROVIDER_KEY_TESTED). */
  version: number | null;
}

/**
 * The stored references of a credential's versions, in version order: the listed ones, or every
 * version when `versions` is omitted. Read from credential_versions.key_ref, which outlives the key
 * material, so a revoke or retire names the key it destroyed. Tenant-scoped like every read.
 */
export async function keyRefsInTx(
  tx: Pick<EntityManager, 'query'>,
  tenantId: string,
  credentialId: string,
  versions?: readonly number[],
): Promise<KeyRefEntry[]> {
  const rows: { version: number; key_ref: string | null }[] = await tx.query(
    `SELECT version, key_ref FROM credential_versions
      WHERE tenant_id = $1 AND credential_id = $2 AND ($3::int[] IS NULL OR version = ANY($3::int[]))
      ORDER BY version`,
    [tenantId, credentialId, versions ? [...versions] : null],
  );
  return rows.map((r) => ({ ref: r.key_ref, version: r.version }));
}
