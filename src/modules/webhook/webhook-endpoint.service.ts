import type { DataSource, EntityManager } from 'typeorm';
import { NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { lockGateway } from '../gateway/gateway.service';
import type { GatewayEntity } from '../gateway/gateway.entity';
import { enqueueInTx } from '../outbox/outbox.writer';
import { TenantEntity } from '../tenant/tenant.entity';
import type { WebhookEndpoint } from './endpoint';

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];

/**
 * Re-enabling a disabled webhook endpoint (the worker disables them: see endpoint-health.ts).
 * Each re-enable clears the flag and the count, resolves the tenant's alert, is audited, and sends
 * what the endpoint missed through the outbox, all in one transaction. Enabling an endpoint that
 * is not disabled changes and writes nothing.
 */
export class WebhookEndpointService {
  constructor(private readonly db: DataSource) {}

  /**
   * A gateway's webhook. What it missed is one message: "pull version N" for the latest N, queued as
   * a gateway-reload job (the version's dead or held message goes again, else a new one). Older held
   * messages become dead letters again: the latest version supersedes them, and they stay replayable.
   */
  async enableGateway(tenantId: string, actor: AuditActor, gatewayId: string): Promise<GatewayEntity> {
    return this.db.transaction(async (tx) => {
      const gateway = await lockGateway(tx, tenantId, gatewayId, ['input', 'gatewayId']);
      if (!gateway.webhookDisabledAt) return gateway;
      const disabledAt = gateway.webhookDisabledAt;
      await tx.query(
        `UPDATE gateways SET webhook_disabled_at = NULL, webhook_disabled_reason = NULL, webhook_consecutive_failures = 0, updated_at = now()
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, gatewayId],
      );
      await tx.query(
        `UPDATE webhook_deliveries SET status = 'DEAD', dead_at = COALESCE(dead_at, now()), updated_at = now()
          WHERE tenant_id = $1 AND kind = 'GATEWAY_RELOAD' AND target_id = $2 AND status = 'HELD'`,
        [tenantId, gatewayId],
      );
      const resend = gateway.webhookUrl !== null;
      if (resend) {
        await enqueueInTx(tx, 'gateway-reload', {
          tenantId,
          gatewayId,
          configVersion: gateway.configVersion,
          reason: 'WEBHOOK_REENABLED',
          resend: disabledAt.getTime(),
        });
      }
      await resolveAlertsInTx(tx, tenantId, 'GATEWAY_WEBHOOK', gatewayId);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_WEBHOOK_ENABLED',
        targetType: 'GATEWAY',
        targetId: gatewayId,
        details: {
          previousReason: gateway.webhookDisabledReason,
          disabledAt: disabledAt.toISOString(),
          resentConfigVersion: resend ? gateway.configVersion : null,
        },
      });
      return lockGateway(tx, tenantId, gatewayId, ['input', 'gatewayId']);
    });
  }

  /**
   * The tenant's notification webhook. Every message is its own (a reminder), so each one missed
   * goes again, with the same webhook-id: those HELD while disabled, and those that died as it was
   * disabled (the 410 or the last failure in a row die in the very transaction that disables).
   */
  async enableTenantNotifications(tenantId: string, actor: AuditActor): Promise<TenantEntity> {
    return this.db.transaction(async (tx) => {
      const tenant = await tx.findOne(TenantEntity, { where: { id: tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!tenant) throw new NotFoundError('Tenant', ['input', 'tenantId']);
      if (!tenant.notificationWebhookDisabledAt) return tenant;
      const disabledAt = tenant.notificationWebhookDisabledAt;
      const released = rowsOf<{ id: string; replay_count: number }>(
        await tx.query(
          `UPDATE webhook_deliveries SET status = 'PENDING', replay_count = replay_count + 1, dead_at = NULL, updated_at = now()
            WHERE tenant_id = $1 AND kind <> 'GATEWAY_RELOAD'
              AND (status = 'HELD' OR (status = 'DEAD' AND dead_at >= (SELECT notification_webhook_disabled_at FROM tenants WHERE id = $1)))
          RETURNING id, replay_count`,
          [tenantId],
        ),
      );
      await tx.query(
        `UPDATE tenants SET notification_webhook_disabled_at = NULL, notification_webhook_disabled_reason = NULL,
                notification_webhook_consecutive_failures = 0, updated_at = now()
          WHERE id = $1`,
        [tenantId],
      );
      for (const d of released) await enqueueInTx(tx, 'deliver-webhook', { tenantId, deliveryId: d.id, replay: d.replay_count });
      await resolveAlertsInTx(tx, tenantId, 'TENANT_NOTIFICATIONS', null);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'TENANT_NOTIFICATIONS_ENABLED',
        targetType: 'TENANT',
        targetId: tenantId,
        details: {
          previousReason: tenant.notificationWebhookDisabledReason,
          disabledAt: disabledAt.toISOString(),
          resentDeliveries: released.length,
        },
      });
      return tx.findOneByOrFail(TenantEntity, { id: tenantId });
    });
  }
}

async function resolveAlertsInTx(tx: EntityManager, tenantId: string, endpoint: WebhookEndpoint, gatewayId: string | null): Promise<void> {
  await tx.query(
    `UPDATE webhook_endpoint_alerts SET status = 'RESOLVED', resolved_at = now()
      WHERE tenant_id = $1 AND endpoint = $2 AND gateway_id IS NOT DISTINCT FROM $3::uuid AND status = 'OPEN'`,
    [tenantId, endpoint, gatewayId],
  );
}
