import { DelayedError, Job } from 'bullmq';
import type { Admission, GateRequest, OutboundGate, Pool, Wake } from '../../src/outbound/isolation';
import type { Queues } from '../../src/queue/queues';
import { QUEUES, type QueueName } from '../../src/queue/registry';

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
  return putBack(job, admission.delayMs, `no free outbound slot (${admission.reason})`, admission.waitForSlot);
}

/**
 * The job leaves its worker slot to other tenants' jobs and comes back after `delayMs`, as the
 * Retry-After path does (moveToDelayed + DelayedError): moveToDelayed skips attemptsMade, and the
 * count in the data takes this start off attemptsStarted (triesStarted). The count is written
 * first: should the move fail (lock lost to a restart elsewhere), the start is taken off anyway,
 * which is right too: that start sent nothing either. Nothing is sent before this point.
 */
async function putBack(job: GatedJob, delayMs: number, why: string, waitForSlot: () => Promise<void>): Promise<never> {
  await job.updateData({ ...job.data, deferred: (job.data.deferred ?? 0) + 1 });
  await job.moveToDelayed(Date.now() + delayMs, job.token);
  // Only now, delayed, is it recorded as a waiter: a wake (a promote) always finds it delayed. A
  // release between the refusal and this finds no waiter, but this call sees the free slot then
  // and wakes the job itself (slot-scripts.ts WAIT_SCRIPT).
  await waitForSlot();
  throw new DelayedError(why);
}

/**
 * The gate's Wake: promotes the put-back job named by a holder ("<queue>:<job id>"; neither has a
 * ':'), a separate call on its queue's own keys (on a Redis Cluster, the queue's slot). A job that
 * is no longer delayed (its timer fired, it ran, it was removed) is left alone: waking is a hint,
 * the job's own timer is the fallback, so any refusal here only means "not woken".
 */
export function promoteWaiter(queues: Queues): Wake {
  return async (holder) => {
    const at = holder.indexOf(':');
    const name = holder.slice(0, at) as QueueName;
    if (at <= 0 || !QUEUES.includes(name)) return false;
    try {
      await new Job(queues[name], 'outbound-waiter', {}, {}, holder.slice(at + 1)).promote();
      return true;
    } catch {
      return false;
    }
  };
}
