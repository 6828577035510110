import { refuseStaleOrForeign } from './foreign-job';
import { UnrecoverableError, type Job } from 'bullmq';
import type { JobPayloads } from '../../src/queue/registry';
import { attemptDelivery, type AttemptOutcome, type DeliveryRow, type SenderDeps } from '../../src/modules/webhook/webhook-sender';
import type { DeliveryStatus, ErrorClass, WebhookKind } from '../../src/modules/webhook/webhook.entity';
import type { ProcessorDeps } from './deps';

export type DeliverDeps = Pick<ProcessorDeps, 'db' | 'box' | 'security'> & SenderDeps;

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
 * count, so a stalled-and-restarted try is not a free extra one.
 */
export function isLastTry(job: Pick<Job, 'attemptsMade' | 'attemptsStarted' | 'opts'>, maxAttempts: number): boolean {
  const limit = Math.min(maxAttempts, job.opts.attempts ?? 1);
  return Math.max(job.attemptsMade + 1, job.attemptsStarted ?? 0) >= limit;
}

/** Turns a recorded attempt into the job's result: done, retry later, or dead (no more tries). */
export function settle(outcome: AttemptOutcome): { status: DeliveryStatus; attempt: number } {
  if (outcome.status === 'DELIVERED') return { status: outcome.status, attempt: outcome.attempt };
  if (outcome.status === 'DEAD') throw new UnrecoverableError(`webhook delivery dead-lettered (${outcome.errorClass ?? 'UNKNOWN'})`);
  throw new WebhookRetryError(outcome.errorClass, outcome.statusCode);
}

interface Row {
  id: string;
  tenant_id: string;
  kind: WebhookKind;
  target_id: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  replay_count: number;
}

/**
 * (Re)sends one stored delivery: rotation reminders, and admin replays of dead letters. A job for a
 * delivery already settled, or superseded by a newer replay, ends without side effects.
 */
export async function deliverWebhook(deps: DeliverDeps, job: Job<JobPayloads['deliver-webhook']>) {
  const { tenantId, deliveryId, replay } = job.data;
  const rows: Row[] = await deps.db.query(
    `SELECT id, tenant_id, kind, target_id, payload, status, replay_count
       FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`,
    [tenantId, deliveryId],
  );
  const row = rows[0];
  if (!row) return refuseStaleOrForeign(deps, job, { table: 'webhook_deliveries', id: deliveryId, tenantId }, 'no such delivery');
  if (row.replay_count !== replay) return { skipped: 'SUPERSEDED' };
  if (row.status === 'DELIVERED' || row.status === 'DEAD') return { skipped: row.status };
  const delivery: DeliveryRow = { id: row.id, tenantId: row.tenant_id, kind: row.kind, targetId: row.target_id, payload: row.payload };
  return settle(await attemptDelivery(deps, delivery, isLastTry(job, deps.config.webhook.maxAttempts)));
}
