import type { Config } from '../src/config';
import type { Queues } from '../src/queue/queues';
import type { JobName } from '../src/queue/registry';

interface SchedulerSpec {
  /** Stable: upserting by this id on every start-up (from any number of workers) keeps one scheduler. */
  id: string;
  job: Extract<JobName, 'revalidation-sweep' | 'rotation-sweep' | 'retire-previous-sweep' | 'idempotency-sweep' | 'audit-checkpoint'>;
  pattern: string;
}

export function schedulerSpecs(config: Pick<Config, 'sweepCron' | 'audit'>): SchedulerSpec[] {
  return [
    { id: 'daily-revalidation', job: 'revalidation-sweep', pattern: config.sweepCron },
    { id: 'daily-rotation-reminders', job: 'rotation-sweep', pattern: config.sweepCron },
    // Hourly, so a grace period ends within the hour it was set to, not up to a day late.
    { id: 'hourly-retire-previous', job: 'retire-previous-sweep', pattern: '0 * * * *' },
    // Expired answers are already ignored (and replaced on reuse); this only reclaims the rows.
    { id: 'hourly-idempotency', job: 'idempotency-sweep', pattern: '30 * * * *' },
    // Signs moved audit chain heads: what a database-only attacker can rewrite undetected is at most this old.
    { id: 'audit-checkpoint', job: 'audit-checkpoint', pattern: config.audit.checkpointCron },
  ];
}

/**
 * Periodic work: one scheduler per sweep, by stable id, in UTC. The sweeps fan out one job per
 * due row themselves. Safe to call from every worker at every start: upsert replaces, never adds.
 */
export async function upsertSchedulers(queues: Pick<Queues, 'maintenance'>, config: Pick<Config, 'sweepCron' | 'audit'>): Promise<void> {
  for (const spec of schedulerSpecs(config)) {
    await queues.maintenance.upsertJobScheduler(spec.id, { pattern: spec.pattern, tz: 'UTC' }, { name: spec.job, data: {} });
  }
}
