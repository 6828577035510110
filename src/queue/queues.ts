import type { Queue } from 'bullmq';
import type { QueueBackend, QueueSettings } from './backend';
import { JOBS, jobOptions, QUEUES, type JobName, type JobPayloads, type QueueName } from './registry';

export { DEFAULT_JOB_OPTIONS } from './job-options';

export type Queues = Record<QueueName, Queue>;

/** One producer-side Queue per registry queue, on the configured backend (backend.ts). */
export function createQueues(backend: Pick<QueueBackend, 'queue'>, options: QueueSettings = {}): Queues {
  return Object.fromEntries(QUEUES.map((name) => [name, backend.queue(name, options)])) as Queues;
}

/** Typed enqueue over the registry: the job id is deterministic, so the same work is added once. */
export async function enqueue<N extends JobName>(queues: Queues, name: N, payload: JobPayloads[N]): Promise<void> {
  const spec = JOBS[name];
  await queues[spec.queue].add(name, payload, jobOptions(name, payload));
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
