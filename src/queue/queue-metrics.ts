import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { GaugeLease } from './gauge-lease';
import type { Queues } from './queues';

/** Job states reported per queue. Labels are queue names and states only: bounded, never ids. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

const SCRAPE_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), SCRAPE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Several gauges read one sample per scrape: prom-client collects them concurrently. */
function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => (inFlight ??= read().finally(() => setImmediate(() => (inFlight = null))));
}

const errorOf = (error: unknown) => ({ name: (error as Error).name, message: (error as Error).message });

/**
 * Whether this process exports the deployment-wide gauges at this scrape (without a lease: always),
 * and the 0/1 gauge saying so, exported by every process that has a lease.
 */
export function exporterCheck(registry: Registry, lease: GaugeLease | null): () => Promise<boolean> {
  if (!lease) return async () => true;
  const held = perScrape(() => lease.held());
  new Gauge({
    name: 'keyplane_deployment_gauges_exporter',
    help: '1 when this process holds the lease to export the deployment-wide gauges (queue depth, outbox lag), else 0.',
    registers: [registry],
    async collect() {
      this.set((await held()) ? 1 : 0);
    },
  });
  return held;
}

/**
 * Queue depth per queue and state, read from Redis when Prometheus scrapes (no polling in
 * between), by the process holding `exporter`'s lease only. While Redis is unreachable (`connected`
 * says so, or the read fails) the series disappear and keyplane_queue_metrics_up is 0; that one
 * gauge is exported by every process (the others report their connection state, read nothing).
 */
export function registerQueueGauges(
  registry: Registry,
  queues: Queues,
  log: Logger,
  connected: () => boolean = () => true,
  exporter: () => Promise<boolean> = async () => true,
): void {
  const sample = perScrape(async () => {
    // BullMQ waits for a connection rather than failing; a scrape should not wait for Redis.
    if (!connected() || !(await exporter())) return null;
    try {
      return await withTimeout(
        Promise.all(Object.entries(queues).map(async ([name, q]) => [name, await q.getJobCounts(...JOB_STATES)] as const)),
        'queue count',
      );
    } catch (error) {
      log.warn({ err: errorOf(error) }, 'could not read queue counts for metrics');
      return null;
    }
  });
  new Gauge({
    name: 'keyplane_queue_metrics_up',
    help: '1 when this scrape could read the queues from the queue store, else 0.',
    registers: [registry],
    async collect() {
      // Not the exporter: this process's connection state, without reading the store.
      this.set((await exporter()) ? ((await sample()) ? 1 : 0) : connected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keyplane_queue_jobs',
    help: 'Jobs per queue and state, at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const counts = await sample();
      this.reset();
      for (const [queue, byState] of counts ?? []) {
        for (const state of JOB_STATES) this.set({ queue, state }, byState[state] ?? 0);
      }
    },
  });
}

/**
 * Outbox lag: committed work not yet handed to Redis. A growing age means the relay (in the
 * workers) is down or Redis is unreachable; nothing is lost meanwhile.
 */
export function registerOutboxGauges(
  registry: Registry,
  db: Pick<DataSource, 'query'>,
  log: Logger,
  exporter: () => Promise<boolean> = async () => true,
): void {
  const sample = perScrape(async () => {
    if (!(await exporter())) return 'elsewhere' as const;
    try {
      const [row]: { pending: number; lag: number | null }[] = await withTimeout(
        db.query(
          `SELECT count(*)::int AS pending, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag
             FROM outbox WHERE sent_at IS NULL`,
        ),
        'outbox lag',
      );
      return { pending: row.pending, lag: Math.max(0, Number(row.lag ?? 0)) };
    } catch (error) {
      log.warn({ err: errorOf(error) }, 'could not read outbox lag for metrics');
      return null;
    }
  });
  new Gauge({
    name: 'keyplane_outbox_pending',
    help: 'Outbox rows not yet relayed to the queue.',
    registers: [registry],
    async collect() {
      const s = await sample();
      // Another process exports it: no sample at all here (an unlabelled gauge would otherwise say 0).
      if (s === 'elsewhere') this.remove();
      else if (s) this.set(s.pending);
      else this.reset();
    },
  });
  new Gauge({
    name: 'keyplane_outbox_lag_seconds',
    help: 'Age of the oldest outbox row not yet relayed to the queue (0 when none).',
    registers: [registry],
    async collect() {
      const s = await sample();
      if (s === 'elsewhere') this.remove();
      else if (s) this.set(s.lag);
      else this.reset();
    },
  });
}
