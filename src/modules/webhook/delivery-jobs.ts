import type { Job, JobType, Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { QueueBackend } from '../../queue/backend';
import { JOBS, type QueueName } from '../../queue/registry';
import type { WebhookKind } from './webhook.entity';

/** Job states in which a job will still run (a retry waiting for its backoff is `delayed`). */
export const LIVE_JOB_STATES: JobType[] = ['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'];

export type JobQueues = Pick<Record<QueueName, Queue>, 'notifications' | 'gateways'>;

export interface OpenDelivery {
  id: string;
  kind: WebhookKind;
  targetId: string;
  replayCount: number;
}

/** Whether the queue holds a job by this id that will still run. */
export async function isLiveJob(queue: Pick<Queue, 'getJob'>, jobId: string): Promise<boolean> {
  const job: Job | undefined = await queue.getJob(jobId);
  if (!job) return false;
  return (LIVE_JOB_STATES as string[]).includes(await job.getState());
}

/**
 * Gateways with a reload job that will still run. A reload's first try picks the gateway's newest
 * version and pins it (gateway-reload.processor.ts), so a job's id does not name the delivery it
 * ends up driving: a delivery counts as driven while any reload of its gateway is on its way.
 */
export async function gatewaysWithLiveReloads(queue: Pick<Queue, 'getJobs'>): Promise<Set<string>> {
  const jobs = await queue.getJobs(LIVE_JOB_STATES, 0, -1);
  return new Set(jobs.filter((j) => j?.name === 'gateway-reload').map((j) => String((j.data as { gatewayId?: unknown }).gatewayId)));
}

/**
 * A job for the delivery committed but not relayed yet (the outbox keeps it while the queue store
 * is down): on its way as much as a queued one. Unsent rows are few (partial index ix_outbox_unsent).
 */
export async function inOutbox(db: Pick<DataSource, 'query'>, d: OpenDelivery): Promise<boolean> {
  const rows: unknown[] = await db.query(
    `SELECT 1 FROM outbox
      WHERE sent_at IS NULL
        AND ((job_name = 'deliver-webhook' AND payload->>'deliveryId' = $1)
             OR ($2 AND job_name = 'gateway-reload' AND payload->>'gatewayId' = $3))
      LIMIT 1`,
    [d.id, d.kind === 'GATEWAY_RELOAD', d.targetId],
  );
  return rows.length > 0;
}

/**
 * Tells a webhook delivery that some job will still send (or settle) from one the queue store
 * lost (Redis flushed or restored, a job removed on the dashboard). The reconciler re-creates the
 * latter; replayWebhookDelivery accepts them, so no delivery is left RETRYING for good.
 */
export class DeliveryJobs {
  constructor(private readonly queues: () => JobQueues) {}

  async hasLiveJob(d: OpenDelivery, liveGateways?: Set<string>): Promise<boolean> {
    const { notifications, gateways } = this.queues();
    if (await isLiveJob(notifications, JOBS['deliver-webhook'].jobId({ tenantId: '', deliveryId: d.id, replay: d.replayCount }))) return true;
    if (d.kind !== 'GATEWAY_RELOAD') return false;
    return (liveGateways ?? (await gatewaysWithLiveReloads(gateways))).has(d.targetId);
  }

  liveGateways(): Promise<Set<string>> {
    return gatewaysWithLiveReloads(this.queues().gateways);
  }
}

/**
 * The API's read-only views of the two webhook queues, made on first use (an API that never
 * replays needs no queue connection) and closed by app.close().
 */
export class WebhookQueueViews {
  private views: JobQueues | null = null;

  constructor(
    private readonly backend: Pick<QueueBackend, 'queue'>,
    private readonly onError: (error: Error) => void,
  ) {}

  get(): JobQueues {
    if (!this.views) {
      this.views = { notifications: this.backend.queue('notifications', { view: true }), gateways: this.backend.queue('gateways', { view: true }) };
      for (const q of Object.values(this.views)) q.on('error', this.onError);
    }
    return this.views;
  }

  async close(): Promise<void> {
    const views = this.views;
    this.views = null;
    if (views) await Promise.all(Object.values(views).map((q) => q.close()));
  }
}
