import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOBS, jobOptions, QUEUES, type JobName, type JobPayloads, type QueueName } from './registry';

/** Retries with exponential backoff (BullMQ adds jitter); failed jobs are kept for inspection. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
};

export type Queues = Record<QueueName, Queue>;

/** `prefix` is config.queue.prefix (QUEUE_PREFIX): the API, workers and dashboard must agree on it. */
export function createQueues(connection: Redis, prefix: string): Queues {
  return Object.fromEntries(QUEUES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS })])) as Queues;
}

/** Typed enqueue over the registry: the job id is deterministic, so the same work is added once. */
export async function enqueue<N extends JobName>(queues: Queues, name: N, payload: JobPayloads[N]): Promise<void> {
  const spec = JOBS[name];
  await queues[spec.queue].add(name, payload, jobOptions(name, payload));
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
