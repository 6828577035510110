import type { DataSource } from 'typeorm';
import { auditInTx } from '../audit/audit.writer';
import { keyRefsInTx } from '../credential/credential-key-refs';
import { SYSTEM_ACTOR } from '../auth/actor';
import type { SecurityEvents } from '../security/security-events';

export interface UnreadableDeps {
  db: DataSource;
  security: Pick<SecurityEvents, 'record'>;
  /** Live update for the tenant's open pages (best effort). */
  publishChanged?: (tenantId: string, credentialId: string) => Promise<void>;
}

/**
 * A credential's stored key did not open (tampered, moved, forged; not a missing KEK version,
 * which is the operator's to fix and marks nothing). It becomes visibly UNREADABLE, the tenant
 * hears of it (a CREDENTIAL_UNREADABLE row in its audit trail and a live update), and the platform
 * gets a DECRYPT_FAILED security event. `version`: only when it is the serving version, or the
 * credential has none yet (a broken rotation or retired version does not take a working key down);
 * null: whichever version it was. A later check that opens and works sets it ACTIVE again.
 * Ids only, never material. Returns whether the status changed.
 */
export async function markCredentialUnreadable(
  deps: UnreadableDeps,
  tenantId: string,
  credentialId: string,
  version: number | null,
  source: 'gateway-config' | 'validation' | 'key-rewrap',
): Promise<boolean> {
  deps.security.record({
    kind: 'DECRYPT_FAILED',
    tenantId,
    targetType: 'credential',
    targetId: credentialId,
    details: { version, source },
    throttleKey: `${credentialId}:${version ?? 'any'}`,
  });
  const changed = await deps.db.transaction(async (tx) => {
    const rows: { id: string }[] = await tx
      .query(
        `UPDATE credentials SET status = 'UNREADABLE', updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status NOT IN ('REVOKED', 'UNREADABLE') AND ($3::int IS NULL OR current_version = $3 OR current_version IS NULL)
        RETURNING id`,
        [tenantId, credentialId, version],
      )
      .then((r: unknown) => (Array.isArray(r) && Array.isArray(r[0]) ? (r[0] as { id: string }[]) : (r as { id: string }[])));
    if (rows.length === 0) return false;
    await auditInTx(tx, SYSTEM_ACTOR, {
      tenantId,
      action: 'CREDENTIAL_UNREADABLE',
      targetType: 'CREDENTIAL',
      targetId: credentialId,
      details: {
        version,
        source,
        message: 'The stored key could not be decrypted. Rotate the credential to store the key again.',
        keyRefs: await keyRefsInTx(tx, tenantId, credentialId, version === null ? undefined : [version]),
      },
    });
    return true;
  });
  if (changed) await deps.publishChanged?.(tenantId, credentialId).catch(() => undefined);
  return changed;
}
