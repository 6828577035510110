import type { EntityManager } from 'typeorm';
import { auditInTx } from '../audit/audit.writer';
import { keyRefsInTx } from './credential-key-refs';
import { SYSTEM_ACTOR } from '../auth/actor';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { forgetRequestsOfInTx } from '../idempotency/idempotency.service';
import type { VersionState } from './credential.entity';
import type { CheckedVersion, RetireDeps } from './credential-lifecycle.deps';

/**
 * Crypto-shredding: every column that holds or is derived from a key, so nothing decryptable or
 * matchable is left; the row stays for history. Both statements below use this one list, so a
 * column added to the key material cannot be wiped on one path and forgotten on the other.
 */
const SHRED = `kek_version = NULL, wrapped_key = NULL, ciphertext = NULL, fingerprint = NULL,
               retired_at = COALESCE(retired_at, now())`;

/** node-postgres through TypeORM: an UPDATE … RETURNING comes back as [rows, count]. */
function returned<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

/** Moves the tenant's matching versions to newState and destroys their key material; returns how many changed. */
export async function shredVersionsInTx(
  tx: EntityManager,
  tenantId: string,
  where: { credentialId?: string; versionState?: VersionState },
  newState: VersionState,
): Promise<number> {
  const result = await tx.query(
    `UPDATE credential_versions
        SET state = $4, ${SHRED}
      WHERE tenant_id = $1
        AND ($2::uuid IS NULL OR credential_id = $2::uuid)
        AND ($3::text IS NULL OR state = $3::text)
        AND (ciphertext IS NOT NULL OR state <> $4)`,
    [tenantId, where.credentialId ?? null, where.versionState ?? null, newState],
  );
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
}

/** A rotation supersedes a still-pending earlier one: that key never served, and nothing of it is kept. */
export function retireSupersededPendingInTx(tx: EntityManager, tenantId: string, credentialId: string): Promise<number> {
  return shredVersionsInTx(tx, tenantId, { credentialId, versionState: 'PENDING' }, 'RETIRED');
}

export interface Revoked {
  credentials: { id: string; revoked_at: Date; updated_at: Date }[];
  destroyedVersions: number;
}

/**
 * Revokes one live credential of the tenant, or all of them (credentialId null, leaving BYOK):
 * each leaves every gateway and the material of every version is destroyed. Reloading gateways is
 * the caller's: one revocation reloads those its attachments name, so it bumps them before this
 * deletes the attachments; leaving BYOK reloads every gateway of the tenant.
 */
export async function revokeCredentialsInTx(tx: EntityManager, tenantId: string, credentialId: string | null): Promise<Revoked> {
  const credentials = returned<Revoked['credentials'][number]>(
    await tx.query(
      `UPDATE credentials SET status = 'REVOKED', revoked_at = now(), updated_at = now()
        WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2::uuid) AND revoked_at IS NULL
        RETURNING id, revoked_at, updated_at`,
      [tenantId, credentialId],
    ),
  );
  await tx.query('DELETE FROM gateway_credentials WHERE tenant_id = $1 AND ($2::uuid IS NULL OR credential_id = $2::uuid)', [tenantId, credentialId]);
  const destroyedVersions = await shredVersionsInTx(tx, tenantId, { credentialId: credentialId ?? undefined }, 'REVOKED');
  await forgetRequestsOfInTx(
    tx,
    tenantId,
    credentials.map((c) => c.id),
  );
  return { credentials, destroyedVersions };
}

/**
 * Ends the grace period of up to `limit` PREVIOUS versions, of any tenant: state RETIRED, key
 * material destroyed, and the gateways using each credential reload without it. One transaction
 * over rows locked with SKIP LOCKED, so overlapping sweeps never retire (or bump) a version twice.
 */
export function retireDuePreviousVersions(deps: RetireDeps, limit: number): Promise<CheckedVersion[]> {
  return deps.db.transaction(async (tx) => {
    const rows = returned<{ tenant_id: string; credential_id: string; version: number }>(
      await tx.query(
        `WITH due AS (
           SELECT id FROM credential_versions
            WHERE state = 'PREVIOUS' AND retire_after <= now()
            ORDER BY retire_after LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE credential_versions v
            SET state = 'RETIRED', ${SHRED}
           FROM due WHERE v.id = due.id
         RETURNING v.tenant_id, v.credential_id, v.version`,
        [limit],
      ),
    );
    for (const r of rows) {
      const gateways = await bumpGatewaysInTx(tx, r.tenant_id, { credentialId: r.credential_id }, 'CREDENTIAL_ROTATED');
      await auditInTx(tx, SYSTEM_ACTOR, {
        tenantId: r.tenant_id,
        action: 'CREDENTIAL_VERSION_RETIRED',
        targetType: 'CREDENTIAL',
        targetId: r.credential_id,
        details: {
          version: r.version,
          reason: 'grace period ended',
          reloadedGateways: gateways.length,
          keyRefs: await keyRefsInTx(tx, r.tenant_id, r.credential_id, [r.version]),
        },
      });
    }
    return rows.map((r) => ({ tenantId: r.tenant_id, credentialId: r.credential_id, version: r.version }));
  });
}

/**
 * A PREVIOUS version (still served through its grace period) was found INVALID: serving a key the
 * provider rejects helps nobody, so it retires now, as at the end of its grace: material destroyed,
 * the gateways using the credential reload without it, and the trail says why. Returns whether it
 * was retired (false: it was no longer PREVIOUS).
 */
export async function retireInvalidPreviousInTx(tx: EntityManager, v: CheckedVersion, outcome: string): Promise<boolean> {
  const { tenantId, credentialId, version } = v;
  const rows = returned<{ version: number }>(
    await tx.query(
      `UPDATE credential_versions SET state = 'RETIRED', ${SHRED}
        WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND state = 'PREVIOUS'
        RETURNING version`,
      [tenantId, credentialId, version],
    ),
  );
  if (rows.length === 0) return false;
  const gateways = await bumpGatewaysInTx(tx, tenantId, { credentialId }, 'CREDENTIAL_INVALID');
  await auditInTx(tx, SYSTEM_ACTOR, {
    tenantId,
    action: 'CREDENTIAL_VERSION_RETIRED',
    targetType: 'CREDENTIAL',
    targetId: credentialId,
    details: {
      version,
      reason: 'found invalid during grace period',
      outcome,
      reloadedGateways: gateways.length,
      keyRefs: await keyRefsInTx(tx, tenantId, credentialId, [version]),
    },
  });
  return true;
}
