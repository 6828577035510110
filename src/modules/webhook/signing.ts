import type { DataSource } from 'typeorm';
import { SEALS, type SecretBox } from '../../crypto';
import type { WebhookDeliveryEntity } from './webhook.entity';

/** Where a delivery goes and the secret that signs it, both read at send time. */
export interface WebhookTarget {
  url: string;
  secret: string;
  /** The endpoint is disabled (410, or too many dead deliveries in a row): nothing may be sent to it. */
  disabled: boolean;
}

type Delivery = Pick<WebhookDeliveryEntity, 'tenantId' | 'kind' | 'targetId'>;

interface SealedRow {
  url: string | null;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  disabled_at: Date | null;
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
                signing_ciphertext AS ciphertext, webhook_disabled_at AS disabled_at
           FROM gateways WHERE tenant_id = $1 AND id = $2`,
        [d.tenantId, d.targetId],
      )
    : await db.query(
        `SELECT notification_webhook_url AS url, notification_kek_version AS kek_version,
                notification_wrapped_key AS wrapped_key, notification_ciphertext AS ciphertext,
                notification_webhook_disabled_at AS disabled_at
           FROM tenants WHERE id = $1`,
        [d.tenantId],
      );
  const row = rows[0];
  if (!row?.url || row.kek_version == null || !row.wrapped_key || !row.ciphertext) return null;
  const context = gateway
    ? SEALS.gatewaySigning.context({ tenantId: d.tenantId, objectId: d.targetId })
    : SEALS.tenantNotification.context({ tenantId: d.tenantId, objectId: d.tenantId });
  const secret = await box.open({ kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, context);
  return { url: row.url, secret, disabled: row.disabled_at !== null };
}
