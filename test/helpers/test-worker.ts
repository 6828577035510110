import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Queue, Worker } from 'bullmq';
import type { QueueBackend } from '../../src/queue/backend';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config';
import { NO_EVENTS, type EventPublisher } from '../../src/events/types';
import { createLogger } from '../../src/logger';
import { outboundFor, watchOutbound } from '../../src/outbound';
import { closeQueues, createQueues, type Queues } from '../../src/queue/queues';
import { QUEUES, type QueueName } from '../../src/queue/registry';
import type { ProcessorDeps } from '../../workers/processors';
import { relayOnce } from '../../workers/relay';
import { startWorkers } from '../../workers/worker';
import type { TestApp } from './test-app';
import { TEST_ENV } from './test-env';
import { dropQueueNamespace, prepareQueueNamespace, testQueueBackend } from './queue-backend';
export { TEST_REDIS_URL } from './test-env';
import { ConfirmedOutcomes } from '../../src/modules/credential/credential-lifecycle.confirm';
import { VersionReader } from '../../workers/processors/version-reader';
import { createOutboundGate } from '../../src/outbound/isolation';
import { promoteWaiter } from '../../workers/processors/outbound-slot';

export interface TestWorkers {
  prefix: string;
  queues: Queues;
  /** The run's queue backend (to make more queues on it), and queues replaced in `queues` (closed with it). */
  backend: QueueBackend;
  replaced: Queue[];
  workers: Worker[];
  deps: ProcessorDeps;
  /** Every log line the workers wrote, when started with captureLogs (otherwise they log nothing). */
  logs: string[];
  /** Operator log lines about outbound requests (as workers/main.ts wires them), raw JSON. */
  outboundLogs: string[];
  /** Holds keyplane_outbound_failures_total, as the worker's /metrics would. */
  metrics: Registry;
  /** Moves the outbox to this run's queues (call it after the mutations of a test). */
  relay(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Real BullMQ workers on the test queue backend (Redis, or BullMQ's schema on PostgreSQL), under a
 * prefix of their own so runs never see each other's jobs. Outbox rows written before start-up belong to other suites and are marked sent.
 */
export async function startTestWorkers(
  t: TestApp,
  options: {
    env?: Record<string, string | undefined>;
    events?: EventPublisher;
    concurrency?: number;
    timeoutMs?: number;
    captureLogs?: boolean;
  } = {},
): Promise<TestWorkers> {
  const prefix = `kp-test-${randomUUID().slice(0, 8)}`;
  // WORKER_CONCURRENCY as the workers run, so the limits derived from it (the provider pool's) match.
  const config = loadConfig({
    ...process.env,
    ...TEST_ENV,
    WORKER_CONCURRENCY: String(options.concurrency ?? 5),
    ...options.env,
    QUEUE_PREFIX: prefix,
  });
  await prepareQueueNamespace(prefix);
  const backend = testQueueBackend(prefix);
  const queues = createQueues(backend);
  await t.app.db.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const deps: ProcessorDeps = {
    db: t.app.db,
    box: t.app.services.box,
    fingerprinter: t.app.services.fingerprinter,
    queues,
    events: options.events ?? NO_EVENTS,
    log: options.captureLogs ? createLogger('debug', sink) : createLogger('silent'),
    security: t.app.services.security,
    config,
    timeoutMs: options.timeoutMs ?? 1000,
    confirmed: new ConfirmedOutcomes(t.app.db),
    versions: new VersionReader(t.app.db),
    gate: createOutboundGate(config, t.app.db, undefined, promoteWaiter(queues)),
  };
  const workers = startWorkers(backend, deps, deps.log, { concurrency: options.concurrency ?? 5 });
  const outboundLogs: string[] = [];
  const outboundSink = new Writable({
    write(chunk, _enc, done) {
      outboundLogs.push(chunk.toString());
      done();
    },
  });
  const metrics = new Registry();
  metrics.registerMetric(watchOutbound(outboundFor(config), createLogger('info', outboundSink)));
  for (const m of [deps.gate.putBacks, deps.gate.wakeups, deps.gate.circuitsOpened]) metrics.registerMetric(m);
  const replaced: Queue[] = [];
  return {
    prefix,
    queues,
    backend,
    replaced,
    workers,
    deps,
    logs,
    outboundLogs,
    metrics,
    relay: () => relayOnce(t.app.db, queues),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true })));
      await closeQueues(queues);
      await deps.gate.close();
      await Promise.all(replaced.map((q) => q.close()));
      await backend.close();
      await dropQueueNamespace(prefix);
    },
  };
}

/** Polls until `check` returns a value (not undefined/null/false), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Relays the outbox until nothing is left to do: no unsent outbox row, and no job of this run's
 * queues waiting, running or delayed. The outbox is read again last, as a finishing job may queue more.
 */
export async function drain(w: TestWorkers, opts: { queues?: QueueName[]; timeoutMs?: number } = {}): Promise<void> {
  const unsent = async () => (await w.deps.db.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'))[0].n as number;
  const names = opts.queues ?? QUEUES;
  await eventually(async () => {
    await w.relay();
    if ((await unsent()) > 0) return false;
    for (const name of names) {
      const counts = await w.queues[name].getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).some((n) => n > 0)) return false;
    }
    return (await unsent()) === 0;
  }, opts.timeoutMs ?? 10_000);
}
