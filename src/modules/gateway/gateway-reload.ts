import type { EntityManager } from 'typeorm';
import type { ReloadReason } from '../../queue/registry';
import { enqueueInTx } from '../outbox/outbox.writer';

/*
 * Config version bumps: every change to what a gateway is served goes through here, in the
 * caller's transaction, so the new version and its reload notification commit (or roll back) with
 * the change itself.
 */

const BUMP = 'UPDATE gateways g SET config_version = g.config_version + 1, config_changed_at = now(), updated_at = now()';
type Bumped = { id: string; tenant_id: string; config_version: number };

async function bumpInTx(tx: EntityManager, where: string, params: unknown[], reason: ReloadReason): Promise<Bumped[]> {
  const result: unknown = await tx.query(`${BUMP} ${where} RETURNING g.id, g.tenant_id, g.config_version`, params);
  // The driver answers an UPDATE ... RETURNING with [rows, count] through an EntityManager.
  const rows = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Bumped[];
  for (const row of rows) {
    await enqueueInTx(tx, 'gateway-reload', { tenantId: row.tenant_id, gatewayId: row.id, configVersion: row.config_version, reason });
  }
  return rows;
}

/**
 * Bumps the config version of the tenant's gateways that must reload (all of them, or those
 * using one credential) and queues one reload notification for each, in the caller's transaction.
 */
export async function bumpGatewaysInTx(
  tx: EntityManager,
  tenantId: string,
  filter: { gatewayId?: string; credentialId?: string } | null,
  reason: ReloadReason,
): Promise<string[]> {
  const rows = await bumpInTx(
    tx,
    `WHERE g.tenant_id = $1
        AND ($2::uuid IS NULL OR g.id = $2::uuid)
        AND ($3::uuid IS NULL OR EXISTS (
              SELECT 1 FROM gateway_credentials gc
               WHERE gc.gateway_id = g.id AND gc.tenant_id = $1 AND gc.credential_id = $3::uuid))`,
    [tenantId, filter?.gatewayId ?? null, filter?.credentialId ?? null],
    reason,
  );
  return rows.map((r) => r.id);
}

/**
 * Bumps every gateway that may be served platform keys of this provider: its tenant left BYOK, or
 * its effective mode for the provider (override first, then the gateway's) is BUNDLED or HYBRID.
 * One reload notification each, in the caller's transaction. Returns how many.
 */
export async function bumpPlatformGatewaysInTx(tx: EntityManager, providerId: string): Promise<number> {
  const rows = await bumpInTx(
    tx,
    `FROM tenants t
      WHERE t.id = g.tenant_id
        AND (t.byok_mode = 'PLATFORM'
             OR COALESCE((SELECT m.credential_mode FROM gateway_provider_modes m
                           WHERE m.gateway_id = g.id AND m.tenant_id = g.tenant_id AND m.provider_id = $1),
                         g.credential_mode) IN ('BUNDLED', 'HYBRID'))`,
    [providerId],
    'PLATFORM_KEYS_CHANGED',
  );
  return rows.length;
}
