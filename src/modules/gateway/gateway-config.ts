import type { EntityManager } from 'typeorm';
import type { ReloadReason } from '../../queue/registry';
import { enqueueInTx } from '../outbox/outbox.writer';

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
  const rows: { id: string; config_version: number }[] = await tx.query(
    `UPDATE gateways g
        SET config_version = g.config_version + 1, config_changed_at = now(), updated_at = now()
      WHERE g.tenant_id = $1
        AND ($2::uuid IS NULL OR g.id = $2::uuid)
        AND ($3::uuid IS NULL OR EXISTS (
              SELECT 1 FROM gateway_credentials gc
               WHERE gc.gateway_id = g.id AND gc.tenant_id = $1 AND gc.credential_id = $3::uuid))
      RETURNING g.id, g.config_version`,
    [tenantId, filter?.gatewayId ?? null, filter?.credentialId ?? null],
  );
  const bumped = Array.isArray(rows[0]) ? (rows[0] as typeof rows) : rows;
  for (const row of bumped) {
    await enqueueInTx(tx, 'gateway-reload', {
      tenantId,
      gatewayId: row.id,
      configVersion: row.config_version,
      reason,
    });
  }
  return bumped.map((r) => r.id);
}
