import type { ReloadReason } from '../../queue/registry';
import type { ReminderThreshold } from '../reminder/reminder.entity';

/*
 * The bodies of the webhooks Keyplane sends, in the Standard Webhooks payload structure
 * (https://www.standardwebhooks.com): `type` (full-stop delimited), `timestamp` (ISO 8601, when
 * the event happened) and `data` (the event). Their JSON Schemas are webhook-schemas.ts, published
 * in docs/webhooks/. Bodies carry ids, versions, reasons and dates: never a key or a label.
 *
 * Deprecated: for now every field of `data` is also repeated at the top level, where bodies
 * before this structure had them, so receivers reading `body.configVersion` keep working while they move to
 * `body.data.configVersion` (deprecate before removing).
 */

export const GATEWAY_CONFIG_CHANGED = 'gateway.config_changed';
export const CREDENTIAL_ROTATION_DUE = 'credential.rotation_due';
export const WEBHOOK_EVENT_TYPES = [GATEWAY_CONFIG_CHANGED, CREDENTIAL_ROTATION_DUE] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface GatewayConfigChangedData {
  tenantId: string;
  gatewayId: string;
  configVersion: number;
  reason: ReloadReason;
}

export interface CredentialRotationDueData {
  tenantId: string;
  credentialId: string;
  reminderId: string;
  version: number;
  threshold: ReminderThreshold;
  /** ISO 8601. */
  rotateBy: string;
}

export type WebhookMessage<T extends WebhookEventType, D> = { type: T; timestamp: string; data: D } & D;

function message<T extends WebhookEventType, D extends object>(type: T, at: Date, data: D): WebhookMessage<T, D> {
  return { type, timestamp: at.toISOString(), data, ...data } as WebhookMessage<T, D>;
}

/** `at`: when the gateway's config changed (its config_changed_at). */
export const gatewayConfigChanged = (data: GatewayConfigChangedData, at: Date) => message(GATEWAY_CONFIG_CHANGED, at, data);

/** `at`: when the reminder was recorded. */
export const credentialRotationDue = (data: CredentialRotationDueData, at: Date) => message(CREDENTIAL_ROTATION_DUE, at, data);

/**
 * The body sent for a stored delivery. Deliveries stored before this structure hold the flat body (no `data`,
 * no `timestamp`); a retry or replay of one is sent in today's structure, its event time taken from
 * when the delivery was stored, so every message sent follows the published schema.
 */
export function webhookBody(stored: Record<string, unknown>, storedAt: Date): Record<string, unknown> {
  const data = stored.data;
  if (typeof stored.timestamp === 'string' && data !== null && typeof data === 'object' && !Array.isArray(data)) return stored;
  const { type, ...rest } = stored;
  return { type, timestamp: storedAt.toISOString(), data: rest, ...rest };
}

/** A stored body's event fields, in either structure (for the delivery log's configVersion and reason). */
export function webhookData(stored: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const data = stored?.data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : (stored ?? {});
}
