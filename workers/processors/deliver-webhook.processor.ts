import { refuseStaleOrForeign } from './foreign-job';
import { Backoffs, DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { JobPayloads } from '../../src/queue/registry';
import { nextTryDelayMs } from '../../src/modules/webhook/retry-after';
import { attemptDelivery, type AdmitCall, type AttemptOutcome, type DeliveryRow, type SenderDeps } from '../../src/modules/webhook/webhook-sender';
import type { DeliveryStatus, ErrorClass, WebhookKind } from '../../src/modules/webhook/webhook.entity';
import type { ProcessorDeps } from './deps';
import { admitOrPutBack, triesStarted } from './outbound-slot';

export type DeliverDeps = Pick<ProcessorDeps, 'db' | 'box' | 'security' | 'events' | 'gate'> & SenderDeps;

/** A failed attempt BullMQ should retry with backoff. Class and status only: never the receiver's body. */
export class WebhookRetryError extends Error {
  override name = 'WebhookRetryError';
  constructor(
    readonly errorClass: ErrorClass | null,
    readonly statusCode: number | null,
  ) {
    super(`webhook attempt failed (${errorClass ?? 'UNKNOWN'}${statusCode ? `, HTTP ${statusCode}` : ''}); will retry`);
  }
}

/**
 * This job's last try: WEBHOOK_MAX_ATTEMPTS, capped by the job's own BullMQ attempts. Tries started
 * count, so a stalled-and-restarted try is not a free extra one (nor a try put off by Retry-After);
 * starts that only waited for an outbound slot do not (triesStarted).
 */
export function isLastTry(job: Pick<Job, 'attemptsMade' | 'attemptsStarted' | 'opts' | 'data'>, maxAttempts: number): boolean {
  const limit = Math.min(maxAttempts, job.opts.attempts ?? 1);
  return triesStarted(job) >= limit;
}

/** Each webhook call of this job waits for its tenant's and destination's slots (src/outbound/isolation). */
export function webhookSlot(deps: Pick<DeliverDeps, 'gate' | 'config'>, job: Job<{ tenantId: string; deferred?: number }>): AdmitCall {
  return (url) => admitOrPutBack(deps.gate, job, { pool: 'webhook', url, callTimeoutMs: deps.config.webhook.timeoutMs });
}

type RetryJob = Pick<Job, 'attemptsMade' | 'attemptsStarted' | 'opts' | 'token' | 'moveToDelayed' | 'data'>;

/**
 * Turns a recorded attempt into the job's result: done, held (endpoint disabled), retry later, or
 * dead (no more tries). An endpoint this attempt disabled is announced first: it is committed.
 */
export async function settle(
  deps: Pick<DeliverDeps, 'events' | 'config'>,
  job: RetryJob,
  outcome: AttemptOutcome,
): Promise<{ status: DeliveryStatus; attempt: number }> {
  if (outcome.disabled) {
    // A hint for open settings pages; the alert row is the record.
    await deps.events.publish('WEBHOOK_ENDPOINT_DISABLED', { tenantId: outcome.disabled.tenantId, alertId: outcome.disabled.alertId });
  }
  if (outcome.status === 'DELIVERED' || outcome.status === 'HELD') return { status: outcome.status, attempt: outcome.attempt };
  if (outcome.status === 'DEAD') throw new UnrecoverableError(`webhook delivery dead-lettered (${outcome.errorClass ?? 'UNKNOWN'})`);
  const error = new WebhookRetryError(outcome.errorClass, outcome.statusCode);
  if (outcome.retryAfterMs !== null) await retryAfter(job, outcome.retryAfterMs, deps.config.webhook.retryAfterMaxMs, error);
  throw error;
}

/**
 * The receiver named when to come back (429/503 Retry-After): the job is put off until then
 * (bounded, never sooner than our backoff) with BullMQ's moveToDelayed + DelayedError.
 *
 * Why not a thrown error and a custom backoff strategy: that needs a custom backoff type on every
 * webhook job and a strategy on every worker, for one header. Why this does not burn a try
 * wrongly: moveToDelayed skips BullMQ's attemptsMade, but the try just made still counts once,
 * in attemptsStarted (which isLastTry reads) and in the delivery's recorded attempts; throwing as
 * well would have counted it twice and let the queue's own limit end the job early.
 */
async function retryAfter(job: RetryJob, retryAfterMs: number, maxMs: number, error: Error): Promise<never> {
  const tried = triesStarted(job);
  const backoff = Backoffs.normalize(job.opts.backoff ?? 0);
  const backoffMs = backoff ? Number((await Backoffs.calculate(backoff, tried, error, job as Job)) ?? 0) : 0;
  await job.moveToDelayed(Date.now() + nextTryDelayMs(retryAfterMs, backoffMs, maxMs), job.token);
  throw new DelayedError('webhook receiver asked to retry later (Retry-After)');
}

interface Row {
  id: string;
  tenant_id: string;
  kind: WebhookKind;
  target_id: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  replay_count: number;
  created_at: Date;
}

/**
 * (Re)sends one stored delivery: rotation reminders, admin replays of dead letters, and what an
 * endpoint's re-enabling releases. A job for a delivery already settled, held, or superseded by a
 * newer replay, ends without side effects.
 */
export async function deliverWebhook(deps: DeliverDeps, job: Job<JobPayloads['deliver-webhook']>) {
  const { tenantId, deliveryId, replay } = job.data;
  const rows: Row[] = await deps.db.query(
    `SELECT id, tenant_id, kind, target_id, payload, status, replay_count, created_at
       FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`,
    [tenantId, deliveryId],
  );
  const row = rows[0];
  if (!row) return refuseStaleOrForeign(deps, job, { table: 'webhook_deliveries', id: deliveryId, tenantId }, 'no such delivery');
  if (row.replay_count !== replay) return { skipped: 'SUPERSEDED' };
  if (row.status === 'DELIVERED' || row.status === 'DEAD' || row.status === 'HELD') return { skipped: row.status };
  const delivery: DeliveryRow = {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    targetId: row.target_id,
    payload: row.payload,
    createdAt: row.created_at,
  };
  return settle(deps, job, await attemptDelivery(deps, delivery, isLastTry(job, deps.config.webhook.maxAttempts), webhookSlot(deps, job)));
}
