import type { EntityManager } from 'typeorm';
import { auditInTx } from '../audit/audit.writer';
import { SYSTEM_ACTOR } from '../auth/actor';
import type { WebhookDisabledReason, WebhookEndpoint } from './endpoint';
import type { WebhookKind } from './webhook.entity';

/*
 * Whether Keyplane still sends to a webhook endpoint. A delivery that dies (after all its tries,
 * or at once on 410 Gone) counts against its endpoint; one delivered resets the count. The endpoint
 * is disabled on 410 or at WEBHOOK_DISABLE_AFTER_FAILURES in a row, in the transaction that
 * records the delivery's end, with its audit row and the tenant's alert.
 */

/** Column names per endpoint: constants, never input. Gateway rows are keyed (tenant, id); tenant rows by id. */
const COLUMNS = {
  GATEWAY_WEBHOOK: {
    table: 'gateways',
    where: 'tenant_id = $1 AND id = $2',
    at: 'webhook_disabled_at',
    reason: 'webhook_disabled_reason',
    count: 'webhook_consecutive_failures',
  },
  TENANT_NOTIFICATIONS: {
    table: 'tenants',
    where: 'id = $1 AND $2::uuid IS NOT NULL',
    at: 'notification_webhook_disabled_at',
    reason: 'notification_webhook_disabled_reason',
    count: 'notification_webhook_consecutive_failures',
  },
} as const;

export interface EndpointRef {
  endpoint: WebhookEndpoint;
  tenantId: string;
  /** The gateway for GATEWAY_WEBHOOK; the tenant itself for TENANT_NOTIFICATIONS. */
  objectId: string;
}

/** Where a delivery of this kind goes: a gateway's reload messages to its webhook, the rest to the tenant's. */
export function endpointOf(d: { tenantId: string; kind: WebhookKind; targetId: string }): EndpointRef {
  return d.kind === 'GATEWAY_RELOAD'
    ? { endpoint: 'GATEWAY_WEBHOOK', tenantId: d.tenantId, objectId: d.targetId }
    : { endpoint: 'TENANT_NOTIFICATIONS', tenantId: d.tenantId, objectId: d.tenantId };
}

export interface EndpointDisabled {
  tenantId: string;
  endpoint: WebhookEndpoint;
  gatewayId: string | null;
  reason: WebhookDisabledReason;
  alertId: string;
}

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];

/**
 * Counts a settled delivery against its endpoint, in the caller's transaction. Returns what was
 * disabled by it, for the caller to announce after commit; null otherwise.
 */
export async function settleEndpointInTx(
  tx: EntityManager,
  ref: EndpointRef,
  outcome: { delivered: boolean; gone: boolean; statusCode: number | null; deliveryId: string },
  disableAfterFailures: number,
): Promise<EndpointDisabled | null> {
  const c = COLUMNS[ref.endpoint];
  const params = [ref.tenantId, ref.objectId];
  if (outcome.delivered) {
    // Written only when there is something to reset: most deliveries succeed and the row stays untouched.
    await tx.query(`UPDATE ${c.table} SET ${c.count} = 0 WHERE ${c.where} AND ${c.count} <> 0`, params);
    return null;
  }
  const rows = rowsOf<{ disabled_at: Date | null; failures: number }>(
    await tx.query(`SELECT ${c.at} AS disabled_at, ${c.count} AS failures FROM ${c.table} WHERE ${c.where} FOR UPDATE`, params),
  );
  const row = rows[0];
  if (!row) return null; // the gateway or tenant is gone
  const failures = row.failures + 1;
  const reason: WebhookDisabledReason | null =
    row.disabled_at !== null
      ? null
      : outcome.gone
        ? 'GONE'
        : disableAfterFailures > 0 && failures >= disableAfterFailures
          ? 'CONSECUTIVE_FAILURES'
          : null;
  if (!reason) {
    await tx.query(`UPDATE ${c.table} SET ${c.count} = $3 WHERE ${c.where}`, [...params, failures]);
    return null;
  }
  await tx.query(`UPDATE ${c.table} SET ${c.count} = $3, ${c.at} = now(), ${c.reason} = $4, updated_at = now() WHERE ${c.where}`, [
    ...params,
    failures,
    reason,
  ]);
  const gatewayId = ref.endpoint === 'GATEWAY_WEBHOOK' ? ref.objectId : null;
  const [alert] = rowsOf<{ id: string }>(
    await tx.query(
      `INSERT INTO webhook_endpoint_alerts (tenant_id, endpoint, gateway_id, reason, status, last_status_code)
       VALUES ($1, $2, $3, $4, 'OPEN', $5) RETURNING id`,
      [ref.tenantId, ref.endpoint, gatewayId, reason, outcome.statusCode],
    ),
  );
  await auditInTx(tx, SYSTEM_ACTOR, {
    tenantId: ref.tenantId,
    action: ref.endpoint === 'GATEWAY_WEBHOOK' ? 'GATEWAY_WEBHOOK_DISABLED' : 'TENANT_NOTIFICATIONS_DISABLED',
    targetType: ref.endpoint === 'GATEWAY_WEBHOOK' ? 'GATEWAY' : 'TENANT',
    targetId: ref.objectId,
    // Ids, counts and a status code: never the URL (it can carry a token) or the receiver's body.
    details: { reason, consecutiveFailures: failures, deliveryId: outcome.deliveryId, statusCode: outcome.statusCode, alertId: alert.id },
  });
  return { tenantId: ref.tenantId, endpoint: ref.endpoint, gatewayId, reason, alertId: alert.id };
}
