import { DelayedError, type Job } from 'bullmq';
import type { Admission, GateRequest, OutboundGate, Pool } from '../../src/outbound/isolation';

/** Job data of the jobs that call out: `deferred` counts the times the job was put back for a slot. */
type Deferrable = { tenantId: string; deferred?: number };
type GatedJob = Pick<Job<Deferrable>, 'id' | 'queueName' | 'data' | 'token' | 'moveToDelayed' | 'updateData'>;

/**
 * Tries this job has really started: BullMQ counts every start in attemptsStarted, including the
 * starts that only found no free slot and were put back (putBack), which sent nothing. Those are
 * taken off, so waiting for a slot never spends a try (isLastTry, a reload's first try).
 */
export function triesStarted(job: Pick<Job<Partial<Deferrable>>, 'attemptsMade' | 'attemptsStarted' | 'data'>): number {
  return Math.max(job.attemptsMade + 1, (job.attemptsStarted ?? 0) - (job.data?.deferred ?? 0));
}

/**
 * Takes this job's outbound slots (src/outbound/isolation), or puts the job back and throws
 * DelayedError. The holder is the job itself (queue and id, deterministic): a job restarted after
 * a stall finds its own slots and keeps them instead of taking more.
 */
export async function admitOrPutBack(
  gate: OutboundGate,
  job: GatedJob,
  req: Pick<GateRequest, 'url' | 'callTimeoutMs'> & { pool: Pool },
): Promise<Extract<Admission, { admitted: true }>> {
  const deferrals = job.data.deferred ?? 0;
  const admission = await gate.admit({ ...req, tenantId: job.data.tenantId, holder: `${job.queueName}:${job.id}`, deferrals });
  if (admission.admitted) return admission;
  return putBack(job, admission.delayMs, `no free outbound slot (${admission.reason})`);
}

/**
 * The job leaves its worker slot to other tenants' jobs and comes back after `delayMs`, as the
 * Retry-After path does (moveToDelayed + DelayedError): moveToDelayed skips attemptsMade, and the
 * count in the data takes this start off attemptsStarted (triesStarted). The count is written
 * first: should the move fail (lock lost to a restart elsewhere), the start is taken off anyway,
 * which is right too: that start sent nothing either. Nothing is sent before this point.
 */
async function putBack(job: GatedJob, delayMs: number, why: string): Promise<never> {
  await job.updateData({ ...job.data, deferred: (job.data.deferred ?? 0) + 1 });
  await job.moveToDelayed(Date.now() + delayMs, job.token);
  throw new DelayedError(why);
}
