import type { DataSource } from 'typeorm';
import type { SealContext, SecretBox } from '../../crypto';
import { SIGNING_PURPOSE } from '../gateway/gateway.service';
import type { WebhookDeliveryEntity } from './webhook.entity';

/** AAD purpose of the tenant's notification signing secret (sealed in tenants.notification_*). */
export const TENANT_NOTIFICATION_PURPOSE = 'tenant-notification-signing-secret';

export function tenantNotificationSealContext(tenantId: string): SealContext {
  return { purpose: TENANT_NOTIFICATION_PURPOSE, tenantId, objectId: tenantId, version: 1 };
}

export function gatewaySigningSealContext(tenantId: string, gatewayId: string): SealContext {
  return { purpose: SIGNING_PURPOSE, tenantId, objectId: gatewayId, version: 1 };
}

/** Where a delivery goes and the secret that signs it, both read at send time. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

type Delivery = Pick<WebhookDeliveryEntity, 'tenantId' | 'kind' | 'targetId'>;

interface SealedRow {
  url: string | null;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
}

/**
 * The target of a delivery by kind: a gateway's webhook URL and signing secret (GATEWAY_RELOAD),
 * or the tenant's notification URL and secret (ROTATION_REMINDER). Null when there is no URL or
 * no secret: an unsigned message is never sent.
 */
export async function webhookTargetFor(db: Pick<DataSource, 'query'>, box: SecretBox, d: Delivery): Promise<WebhookTarget | null> {
  const gateway = d.kind === 'GATEWAY_RELOAD';
  const rows: SealedRow[] = gateway
    ? await db.query(
        `SELECT webhook_url AS url, signing_kek_version AS kek_version, signing_wrapped_key AS wrapped_key,
                signing_ciphertext AS ciphertext
           FROM gateways WHERE tenant_id = $1 AND id = $2`,
        [d.tenantId, d.targetId],
      )
    : await db.query(
        `SELECT notification_webhook_url AS url, notification_kek_version AS kek_version,
                notification_wrapped_key AS wrapped_key, notification_ciphertext AS ciphertext
           FROM tenants WHERE id = $1`,
        [d.tenantId],
      );
  const row = rows[0];
  if (!row?.url || row.kek_version == null || !row.wrapped_key || !row.ciphertext) return null;
  const context = gateway ? gatewaySigningSealContext(d.tenantId, d.targetId) : tenantNotificationSealContext(d.tenantId);
  const secret = box.open({ kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, context);
  return { url: row.url, secret };
}

/** The signing secret alone (gateway or tenant, by kind); null, like the target, when URL or secret is missing. */
export async function signingSecretFor(db: Pick<DataSource, 'query'>, box: SecretBox, d: Delivery): Promise<string | null> {
  return (await webhookTargetFor(db, box, d))?.secret ?? null;
}
