import type { DataSource } from 'typeorm';
import { SEALS, type SealContext, type Sealed, type SecretBox } from '../../crypto';
import { sign, signedHeaders, type WebhookHeaders } from '../../outbound';
import type { WebhookDeliveryEntity } from './webhook.entity';

/** Where a delivery goes and the secret that signs it, both read at send time. */
export interface WebhookTarget {
  url: string;
  secret: string;
  /** The secret a rotation replaced, while its overlap lasts: deliveries carry its signature too. */
  previousSecret?: string | null;
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
  prev_kek_version: number | null;
  prev_wrapped_key: Buffer | null;
  prev_ciphertext: Buffer | null;
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
                signing_ciphertext AS ciphertext, webhook_disabled_at AS disabled_at, ${previous('previous_signing')}
           FROM gateways WHERE tenant_id = $1 AND id = $2`,
        [d.tenantId, d.targetId],
      )
    : await db.query(
        `SELECT notification_webhook_url AS url, notification_kek_version AS kek_version,
                notification_wrapped_key AS wrapped_key, notification_ciphertext AS ciphertext,
                notification_webhook_disabled_at AS disabled_at, ${previous('previous_notification')}
           FROM tenants WHERE id = $1`,
        [d.tenantId],
      );
  const row = rows[0];
  if (!row?.url || row.kek_version == null || !row.wrapped_key || !row.ciphertext) return null;
  const context = gateway
    ? SEALS.gatewaySigning.context({ tenantId: d.tenantId, objectId: d.targetId })
    : SEALS.tenantNotification.context({ tenantId: d.tenantId, objectId: d.tenantId });
  const secret = await box.open({ kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, context);
  const previousContext = gateway
    ? SEALS.gatewaySigningPrevious.context({ tenantId: d.tenantId, objectId: d.targetId })
    : SEALS.tenantNotificationPrevious.context({ tenantId: d.tenantId, objectId: d.tenantId });
  return { url: row.url, secret, previousSecret: await openPrevious(box, row, previousContext), disabled: row.disabled_at !== null };
}

/** The previous secret's columns, only while its overlap lasts (by the database clock). */
const previous = (p: string) =>
  `CASE WHEN ${p}_expires_at > now() THEN ${p}_kek_version END AS prev_kek_version,
   CASE WHEN ${p}_expires_at > now() THEN ${p}_wrapped_key END AS prev_wrapped_key,
   CASE WHEN ${p}_expires_at > now() THEN ${p}_ciphertext END AS prev_ciphertext`;

/** A previous secret that does not open only costs its signature: the current one still signs. */
async function openPrevious(box: SecretBox, row: SealedRow, context: SealContext): Promise<string | null> {
  if (row.prev_kek_version == null || !row.prev_wrapped_key || !row.prev_ciphertext) return null;
  const sealed: Sealed = { kekVersion: row.prev_kek_version, wrappedKey: row.prev_wrapped_key, ciphertext: row.prev_ciphertext };
  try {
    return await box.open(sealed, context);
  } catch {
    return null;
  }
}

/**
 * Standard Webhooks headers for a target: the current secret's signature, then, during a rotation's
 * overlap, the previous secret's, space-separated in webhook-signature (the spec allows several;
 * a receiver accepts the message when any one verifies).
 */
export function webhookSignatureHeaders(
  target: Pick<WebhookTarget, 'secret' | 'previousSecret'>,
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookHeaders {
  const headers = signedHeaders(target.secret, id, timestampSeconds, body);
  if (target.previousSecret) headers['webhook-signature'] += ` ${sign(target.previousSecret, id, timestampSeconds, body)}`;
  return headers;
}
