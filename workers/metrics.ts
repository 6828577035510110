import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Histogram, Registry, type Metric } from 'prom-client';
import type { DataSource } from 'typeorm';
import { GaugeLease } from '../src/queue/gauge-lease';
import { exporterCheck, registerOutboxGauges, registerQueueGauges } from '../src/queue/queue-metrics';
import { KEY_TEST_OUTCOMES } from '../src/providers/types';
import type { Queues } from '../src/queue/queues';
import { JOBS } from '../src/queue/registry';

/*
 * Label values come from fixed lists only (queue and job names from the registry, outcomes from
 * their enums): never a job id, tenant id or error text, so cardinality stays bounded and a
 * scrape cannot carry anything secret.
 */
const JOB_NAMES = new Set<string>(Object.keys(JOBS));
const OUTCOMES = new Set<string>(KEY_TEST_OUTCOMES);
const WEBHOOK_JOBS = new Set(['deliver-webhook', 'gateway-reload']);

const jobName = (job: Job) => (JOB_NAMES.has(job.name) ? job.name : 'unknown');
const seconds = (job: Job) => (job.processedOn ? Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000 : null);

/** Counts and times jobs from the workers' own events: nothing extra runs per job. */
export function instrumentWorkers(registry: Registry, workers: Worker[]): void {
  const duration = new Histogram({
    name: 'keyplane_job_duration_seconds',
    help: 'Job run time by queue, job name and result (skipped: completed without work, its object gone or moved on; retrying: failed, will be tried again).',
    labelNames: ['queue', 'name', 'result'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'keyplane_validation_outcomes_total',
    help: 'Key checks against providers by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'keyplane_webhook_results_total',
    help: 'Webhook jobs (reminders, gateway reloads) by result: delivered, skipped, retrying, failed.',
    labelNames: ['job', 'result'] as const,
    registers: [registry],
  });
  const stalled = new Counter({
    name: 'keyplane_jobs_stalled_total',
    help: 'Jobs whose worker stopped renewing their lock (crash, SIGKILL, a blocked event loop), moved back to wait by this worker.',
    labelNames: ['queue'] as const,
    registers: [registry],
  });

  for (const worker of workers) {
    const queue = worker.name;
    worker.on('stalled', () => stalled.inc({ queue }));
    worker.on('completed', (job: Job, value: unknown) => {
      const result = (value ?? {}) as { outcome?: unknown; status?: unknown; skipped?: unknown };
      const took = seconds(job);
      if (took !== null) duration.observe({ queue, name: jobName(job), result: result.skipped === 'STALE' ? 'skipped' : 'completed' }, took);
      if (job.name === 'validate-credential' && typeof result.outcome === 'string') {
        outcomes.inc({ outcome: OUTCOMES.has(result.outcome) ? result.outcome : 'OTHER' });
      }
      if (WEBHOOK_JOBS.has(job.name)) webhooks.inc({ job: job.name, result: result.status === 'DELIVERED' ? 'delivered' : 'skipped' });
    });
    worker.on('failed', (job: Job | undefined, error: Error & { outcome?: unknown }) => {
      if (!job) return;
      // BullMQ sets finishedOn only when the job lands in the failed set: no retry is left.
      const result = job.finishedOn ? 'failed' : 'retrying';
      const took = seconds(job);
      if (took !== null) duration.observe({ queue, name: jobName(job), result }, took);
      // A rate-limited or unavailable provider is an outcome too, even though the job retries.
      if (job.name === 'validate-credential' && typeof error.outcome === 'string' && OUTCOMES.has(error.outcome)) {
        outcomes.inc({ outcome: error.outcome });
      }
      if (WEBHOOK_JOBS.has(job.name)) webhooks.inc({ job: job.name, result });
    });
  }
}

export interface WorkerMetrics {
  registry: Registry;
  /** The port it listens on (useful when started on port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Prometheus text at /metrics (and /healthz for container checks) on a port of its own. No auth:
 * bind it where only the scraper reaches it (compose does not publish it by default); nothing in it
 * names a tenant or a key. `port` is taken literally (0: any free port); WORKER_METRICS_PORT=0 is
 * handled by the caller, which then does not start it.
 */
export async function startWorkerMetrics(options: {
  port: number;
  host?: string;
  workers: Worker[];
  queues: Queues;
  log: Logger;
  /** Whether the queues' connection is up; scrapes skip Redis while it is not. */
  connected?: () => boolean;
  /** Metrics created elsewhere in the process (outbound failures, security events). */
  extra?: Metric[];
  /**
   * The deployment's database and queue prefix: queue depth and outbox lag are then exported by
   * whichever process holds the gauge lease (src/queue/gauge-lease.ts). Without it, this process
   * exports queue depth at every scrape.
   */
  deployment?: { db: Pick<DataSource, 'query'>; queuePrefix: string };
}): Promise<WorkerMetrics> {
  const registry = new Registry();
  for (const metric of options.extra ?? []) registry.registerMetric(metric);
  collectDefaultMetrics({ register: registry });
  instrumentWorkers(registry, options.workers);
  const lease = options.deployment ? new GaugeLease(options.deployment.db, options.deployment.queuePrefix) : null;
  const exporter = exporterCheck(registry, lease);
  registerQueueGauges(registry, options.queues, options.log, options.connected, exporter);
  if (options.deployment) registerOutboxGauges(registry, options.deployment.db, options.log, exporter);

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      (error: Error) => {
        options.log.warn({ err: { name: error.name, message: error.message } }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    registry,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await lease?.release();
    },
  };
}
