import { DelayedError, MetricsTime, UnrecoverableError, type Job, type Worker } from 'bullmq';
import { KekUnavailableError, KeyVersionUnavailableError } from '../src/crypto';
import type { Logger } from 'pino';
import type { QueueBackend } from '../src/queue/backend';
import { JOBS, QUEUES, type JobName, type QueueName } from '../src/queue/registry';
import { PROCESSORS, type ProcessorDeps } from './processors';
import { behindDatabaseGate, DatabaseGate, sanitizedJobError } from './database-gate';
import { SpanKind } from '@opentelemetry/api';
import { inSpan, withTraceparent } from '../src/tracing';
import { traceparentOfJob } from './relay';

/** How long a job waits when the HSM is unreachable before it runs again. */
export const KEK_RETRY_DELAY_MS = 15_000;

/** One BullMQ worker per queue, dispatching by job name to the registry's processor. */
export function startWorkers(
  backend: Pick<QueueBackend, 'worker'>,
  deps: ProcessorDeps,
  log: Logger,
  options: { concurrency?: number; lockDurationMs?: number; stalledIntervalMs?: number; kekRetryDelayMs?: number; database?: DatabaseGate },
): Worker[] {
  // PostgreSQL unreachable: jobs wait (paused fetching, delayed, no try used) instead of failing.
  const gate = options.database ?? new DatabaseGate(deps.db, log);
  const workers = QUEUES.filter((queue) => hasProcessors(queue)).map((queue) => {
    const worker = backend.worker(
      queue,
      async (job: Job, token?: string) => {
        const processor = PROCESSORS[job.name as JobName];
        if (!processor) throw new Error(`no processor for job ${job.name}`);
        const run = () => (processor as (d: ProcessorDeps, j: Job) => Promise<unknown>)(deps, job);
        // Tracing on: the job continues the trace of the request that queued it (workers/relay.ts).
        const traced = () =>
          withTraceparent(traceparentOfJob(job.opts), () =>
            inSpan(`job ${job.name}`, { kind: SpanKind.CONSUMER, attributes: jobAttributes(job) }, run),
          );
        const started = performance.now();
        return behindDatabaseGate(gate, job, traced).then(
          (value) => {
            // One line per finished run (docs/audit.md "Request logs"); failures: the 'failed' line below.
            log.info({ ...jobFields(queue, job), outcome: 'completed', durationMs: sinceMs(started) }, 'job completed');
            return value;
          },
          async (error: unknown) => {
            if (error instanceof DelayedError) {
              log.info({ ...jobFields(queue, job), outcome: 'delayed', durationMs: sinceMs(started) }, 'job delayed');
              throw error;
            }
            // The HSM holding the KEK is unreachable: the job waits and runs again, however long the
            // outage, without spending an attempt (moveToDelayed skips the attempt count).
            if (error instanceof KekUnavailableError) {
              log.warn(
                { queue, job: job.name, jobId: job.id, kekVersion: error.kekVersion, reason: error.reason },
                'key store unavailable: job delayed',
              );
              await job.moveToDelayed(Date.now() + (options.kekRetryDelayMs ?? KEK_RETRY_DELAY_MS), token);
              log.info({ ...jobFields(queue, job), outcome: 'delayed', durationMs: sinceMs(started) }, 'job delayed');
              throw new DelayedError();
            }
            // A record sealed under a KEK version this worker lacks: no retries burnt on it (key custody).
            throw error instanceof KeyVersionUnavailableError ? new UnrecoverableError(error.message) : sanitizedJobError(error);
          },
        );
      },
      {
        concurrency: options.concurrency ?? 10,
        // Per-minute completed/failed counts, kept a week: the queue dashboard's charts read them.
        metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
        // A crashed worker's jobs go back to the queue once its lock lapses (BullMQ defaults: 30 s each).
        ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
        ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      },
    );
    // Job data is ids only, and errors carry no provider text, so both are safe to log.
    worker.on('failed', (job, error) =>
      log.warn(
        {
          ...(job ? jobFields(queue, job) : { queue }),
          // attemptsMade already counts this run here.
          attempt: job?.attemptsMade,
          attempts: job?.attemptsMade,
          // BullMQ sets finishedOn only when no retry is left.
          outcome: job?.finishedOn ? 'failed' : 'retrying',
          durationMs: job?.processedOn ? Date.now() - job.processedOn : null,
          err: { name: error.name, message: error.message },
        },
        'job failed',
      ),
    );
    // A job whose worker died (lock lapsed) moved back to wait by this one, on either backend.
    worker.on('stalled', (jobId: string) => log.warn({ queue, jobId }, 'stalled job taken over'));
    worker.on('error', (error) => log.error({ queue, err: { name: error.name, message: error.message } }, 'worker error'));
    return worker;
  });
  gate.attach(workers);
  return workers;
}

/**
 * What every job line says: ids, never payloads (they hold ids only, but a line is no place to
 * rely on that). `attempt` counts from 1; `stallRecovered` says a crashed or blocked worker's run
 * of this job was taken over before this one.
 */
function jobFields(queue: QueueName, job: Job) {
  return {
    queue,
    job: job.name,
    jobId: job.id,
    attempt: job.attemptsMade + 1,
    stallRecovered: (job.stalledCounter ?? 0) > 0,
  };
}

const sinceMs = (started: number) => Math.round((performance.now() - started) * 100) / 100;

const jobAttributes = (job: Job) => ({
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'process',
  'messaging.destination.name': job.queueName,
  'messaging.message.id': String(job.id),
  'keyplane.job.attempt': job.attemptsMade + 1,
});

function hasProcessors(queue: QueueName): boolean {
  return (Object.keys(JOBS) as JobName[]).some((name) => JOBS[name].queue === queue && PROCESSORS[name]);
}
