import { DEFAULT_AUDIT_CHECKPOINT_CRON, type Config } from '../src/config';
import type { Queues } from '../src/queue/queues';
import type { JobName } from '../src/queue/registry';

export interface SchedulerSpec {
  /** Stable: upserting by this id on every start-up (from any number of workers) keeps one scheduler. */
  id: string;
  job: Extract<
    JobName,
    'revalidation-sweep' | 'rotation-sweep' | 'retire-previous-sweep' | 'idempotency-sweep' | 'reconcile-queues' | 'audit-checkpoint'
  >;
  /** A cron pattern (UTC), or a period in ms. */
  pattern?: string;
  every?: number;
}

// The reconciler re-creates these from the same settings; `audit` is optional for callers that hold
// only the sweep settings (the default checkpoint cron then applies, as AUDIT_CHECKPOINT_CRON's).
type SchedulerConfig = Pick<Config, 'sweepCron'> & Partial<Pick<Config, 'reconcileIntervalMs' | 'audit'>>;

export function schedulerSpecs(config: SchedulerConfig): SchedulerSpec[] {
  return [
    { id: 'daily-revalidation', job: 'revalidation-sweep', pattern: config.sweepCron },
    { id: 'daily-rotation-reminders', job: 'rotation-sweep', pattern: config.sweepCron },
    // Hourly, so a grace period ends within the hour it was set to, not up to a day late.
    { id: 'hourly-retire-previous', job: 'retire-previous-sweep', pattern: '0 * * * *' },
    // Expired answers are already ignored (and replaced on reuse); this only reclaims the rows.
    { id: 'hourly-idempotency', job: 'idempotency-sweep', pattern: '30 * * * *' },
    // The queue store is not the source of truth: every few minutes, what it lost comes back.
    { id: 'reconcile-queues', job: 'reconcile-queues', every: config.reconcileIntervalMs ?? 120_000 },
    // Signs moved audit chain heads: what a database-only attacker can rewrite undetected is at most this old.
    { id: 'audit-checkpoint', job: 'audit-checkpoint', pattern: config.audit?.checkpointCron ?? DEFAULT_AUDIT_CHECKPOINT_CRON },
  ];
}

export async function upsertScheduler(queues: Pick<Queues, 'maintenance'>, spec: SchedulerSpec): Promise<void> {
  const repeat = spec.every ? { every: spec.every } : { pattern: spec.pattern, tz: 'UTC' };
  await queues.maintenance.upsertJobScheduler(spec.id, repeat, { name: spec.job, data: {} });
}

/**
 * Periodic work: one scheduler per sweep, by stable id, in UTC. The sweeps fan out one job per
 * due row themselves. Safe to call from every worker at every start: upsert replaces, never adds.
 */
export async function upsertSchedulers(queues: Pick<Queues, 'maintenance'>, config: SchedulerConfig): Promise<void> {
  for (const spec of schedulerSpecs(config)) await upsertScheduler(queues, spec);
}

/** The schedulers the queue store does not hold (lost with Redis's data, or removed on the dashboard). */
export async function missingSchedulers(queues: Pick<Queues, 'maintenance'>, config: SchedulerConfig): Promise<SchedulerSpec[]> {
  const specs = schedulerSpecs(config);
  const found = await Promise.all(specs.map((spec) => queues.maintenance.getJobScheduler(spec.id)));
  return specs.filter((_, i) => !found[i]);
}
