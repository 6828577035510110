import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { SecretBox } from '../../crypto';
import { outboundFor, type OutboundResult } from '../../outbound';
import { endpointOf, settleEndpointInTx, type EndpointDisabled } from './endpoint-health';
import { retryAfterOf } from './retry-after';
import { webhookSignatureHeaders, webhookTargetFor } from './signing';
import { webhookBody } from './webhook-messages';
import type { DeliveryStatus, ErrorClass, WebhookDeliveryEntity } from './webhook.entity';

export interface SenderDeps {
  db: DataSource;
  box: SecretBox;
  config: Pick<Config, 'webhook' | 'outbound'>;
}

/** What one attempt came to. Only a status code and a class: the receiver's body is never read. */
export interface AttemptOutcome {
  status: Exclude<DeliveryStatus, 'PENDING'>;
  statusCode: number | null;
  errorClass: ErrorClass | null;
  attempt: number;
  /** The receiver's Retry-After (429, 503), in ms, not yet bounded; null when it gave none. */
  retryAfterMs: number | null;
  /** The endpoint this delivery's end disabled, to announce once committed; null mostly. */
  disabled: EndpointDisabled | null;
}

type Classified = { statusCode: number | null; errorClass: ErrorClass | null; latencyMs: number; retryAfterMs?: number | null };

/**
 * Retrying cannot help these, and they say nothing about the network. UNREACHABLE is retried
 * whatever its cause, a policy refusal included: dead-at-once for blocked addresses only would
 * tell tenants which names resolve internally.
 */
const PERMANENT: readonly ErrorClass[] = ['INVALID_URL', 'NO_URL'];

/**
 * Waits for (or refuses, by throwing) the outbound slots of the call about to go to `url`
 * (workers/processors/outbound-slot.ts). It runs before anything is sent or recorded, so a refusal
 * leaves the delivery as it was; `leave` is told whether an answer came.
 */
export type AdmitCall = (url: string) => Promise<{ leave(outcome: { unreachable: boolean }): Promise<void> }>;

export type DeliveryRow = Pick<WebhookDeliveryEntity, 'id' | 'tenantId' | 'kind' | 'targetId' | 'payload' | 'createdAt'>;

/** Standard Webhooks message id; a replay reuses it, so receivers can drop duplicates. */
export const messageId = (deliveryId: string): string => `msg_${deliveryId.replace(/-/g, '')}`;

/** 410 Gone: the receiver says the endpoint will not come back. Its delivery dies and the endpoint is disabled. */
export const GONE = 410;

/**
 * Sends one signed attempt of a stored delivery and records it. `final` is the job's last try:
 * a failure then dead-letters the delivery; permanent failures (and 410) dead-letter it at once.
 * While the endpoint is disabled nothing is sent: the delivery is HELD for its re-enabling.
 */
export async function attemptDelivery(deps: SenderDeps, delivery: DeliveryRow, final: boolean, admit?: AdmitCall): Promise<AttemptOutcome> {
  const target = await webhookTargetFor(deps.db, deps.box, delivery);
  if (!target) return record(deps, delivery, { statusCode: null, errorClass: 'NO_URL', latencyMs: 0 }, 'DEAD');
  if (target.disabled) return hold(deps.db, delivery);

  // The body is the stored payload (ids, versions, reasons): nothing secret can be in it. Bodies
  // stored before the Standard Webhooks structure go out in it (docs/webhooks.md).
  const body = JSON.stringify(webhookBody(delivery.payload, delivery.createdAt));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Keyplane-Webhooks/1',
    ...webhookSignatureHeaders(target, messageId(delivery.id), Math.floor(Date.now() / 1000), body),
  };
  const slot = await admit?.(target.url);
  let res: OutboundResult | undefined;
  try {
    res = await outboundFor(deps.config).request(target.url, {
      method: 'POST',
      headers,
      body,
      timeoutMs: deps.config.webhook.timeoutMs,
      tag: { purpose: 'webhook', tenantId: delivery.tenantId, refId: delivery.id },
    });
  } finally {
    // Any answer, whatever its status, is an answer: only a call that got none counts against the destination.
    await slot?.leave({ unreachable: res?.kind !== 'response' });
  }
  const result = classify(res!);
  const dies = final || result.statusCode === GONE || (result.errorClass !== null && PERMANENT.includes(result.errorClass));
  const status = result.errorClass === null ? 'DELIVERED' : dies ? 'DEAD' : 'RETRYING';
  return record(deps, delivery, result, status);
}

export function classify(res: OutboundResult, nowMs = Date.now()): Classified {
  if (res.kind === 'failure') return { statusCode: null, errorClass: res.errorClass, latencyMs: res.latencyMs, retryAfterMs: null };
  const s = res.status;
  const errorClass = s >= 200 && s < 300 ? null : s >= 300 && s < 400 ? 'REDIRECT' : s >= 400 && s < 500 ? 'HTTP_4XX' : 'HTTP_5XX';
  return { statusCode: s, errorClass, latencyMs: res.latencyMs, retryAfterMs: retryAfterOf(s, res.headers, nowMs) };
}

/** Not sent, no attempt recorded: the delivery waits, HELD, until its endpoint is re-enabled. */
async function hold(db: DataSource, d: DeliveryRow): Promise<AttemptOutcome> {
  await db.query(
    `UPDATE webhook_deliveries SET status = 'HELD', updated_at = now()
      WHERE tenant_id = $1 AND id = $2 AND status IN ('PENDING', 'RETRYING')`,
    [d.tenantId, d.id],
  );
  return { status: 'HELD', statusCode: null, errorClass: null, attempt: 0, retryAfterMs: null, disabled: null };
}

async function record(deps: SenderDeps, d: DeliveryRow, r: Classified, status: AttemptOutcome['status']): Promise<AttemptOutcome> {
  const retryAfterMs = status === 'RETRYING' ? (r.retryAfterMs ?? null) : null;
  return deps.db.transaction(async (tx) => {
    const result: unknown = await tx.query(
      `UPDATE webhook_deliveries
          SET attempts = attempts + 1, last_status_code = $3, last_error_class = $4, status = $5::text,
              delivered_at = CASE WHEN $5::text = 'DELIVERED' THEN now() ELSE delivered_at END,
              dead_at = CASE WHEN $5::text = 'DEAD' THEN now() ELSE NULL END, updated_at = now()
        WHERE tenant_id = $1 AND id = $2
        RETURNING attempts`,
      [d.tenantId, d.id, r.statusCode, r.errorClass, status],
    );
    const rows = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as { attempts: number }[];
    // The delivery is gone (its tenant was deleted meanwhile): nothing left to record against.
    if (!rows[0]) return { status, statusCode: r.statusCode, errorClass: r.errorClass, attempt: 0, retryAfterMs, disabled: null };
    const attempt = rows[0].attempts;
    await tx.query(
      `INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, latency_ms, error_class)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.tenantId, d.id, attempt, r.statusCode, r.latencyMs, r.errorClass],
    );
    // A settled delivery counts for its endpoint, in this transaction (no URL: there is no endpoint to judge).
    const settled = (status === 'DELIVERED' || status === 'DEAD') && r.errorClass !== 'NO_URL';
    const disabled = settled
      ? await settleEndpointInTx(
          tx,
          endpointOf(d),
          { delivered: status === 'DELIVERED', gone: r.statusCode === GONE, statusCode: r.statusCode, deliveryId: d.id },
          deps.config.webhook.disableAfterFailures,
        )
      : null;
    return { status, statusCode: r.statusCode, errorClass: r.errorClass, attempt, retryAfterMs, disabled };
  });
}
