import 'reflect-metadata';
// First, before the modules it instruments load (a no-op without OTEL_EXPORTER_OTLP_ENDPOINT).
import { shutdownTracing, startTracingFromEnv } from '../src/tracing';
startTracingFromEnv('keyplane-worker');
import { SecretBox } from '../src/crypto';
import { fingerprinterFor } from '../src/config';
import { openKekRing } from '../src/modules/key-custody/kek-ring';
import { assertKeyCustody } from '../src/modules/key-custody/startup-check';
import { sealedRecordsGauge } from '../src/modules/key-custody/sealed-metric';
import { createLiveEvents } from '../src/events';
import { createDataSource } from '../src/db/data-source';
import { exitOnStartFailure, loadConfigOrExit, onShutdown } from '../src/lifecycle';
import { createLogger } from '../src/logger';
import { ConfirmedOutcomes } from '../src/modules/credential/credential-lifecycle.confirm';
import { SecurityEvents } from '../src/modules/security/security-events';
import { logOutboundPolicy, outboundFor, watchOutbound } from '../src/outbound';
import { createOutboundGate } from '../src/outbound/isolation';
import { createQueueBackend } from '../src/queue/backend';
import { describeDatabaseUrl } from '../src/config-values';
import { closeQueues, createQueues } from '../src/queue/queues';
import { startWorkerMetrics } from './metrics';
import { startRelay } from './relay';
import { replicaAcks } from './replica-acks';
import { upsertSchedulers } from './schedulers';
import { startWorkers } from './worker';
import { DatabaseGate } from './database-gate';
import { startReconcileWatch } from './reconcile-watch';
import { VersionReader } from './processors/version-reader';
import { promoteWaiter } from './processors/outbound-slot';

/** Worker process: no HTTP API, never runs migrations. Several copies may run at once. */
async function main(): Promise<void> {
  const config = loadConfigOrExit('keyplane-worker');
  const log = createLogger(config.logLevel).child({ process: 'worker' });
  logOutboundPolicy(config, log);
  // Jobs of one queue run WORKER_CONCURRENCY at a time and each holds a connection while it
  // writes: a smaller pool makes them queue for connections (measured: 408 -> 586 jobs/s at 50).
  const db = createDataSource(config.databaseUrl, Math.max(config.databasePoolSize, config.queue.concurrency + 4));
  await db.initialize();
  // The HSM (KEYPLANE_KEK_PROVIDER=pkcs11) is reached here: a wrong PIN, module or label stops the start.
  const keks = await openKekRing(config, log);
  const box = new SecretBox(keks);
  // Fail closed before taking jobs (key custody): exits naming missing or wrong key versions.
  const fingerprinter = fingerprinterFor(config);
  await assertKeyCustody(db, box, log, { generatedKeys: config.masterKeysGenerated, fingerprinter });
  // QUEUE_BACKEND: Redis, or BullMQ's schema on PostgreSQL (src/queue/backend.ts). The relay's
  // queues fail fast while the store is down (and retry later) instead of holding outbox locks.
  const backend = createQueueBackend(config, log);
  await backend.assertUsable();
  const queues = createQueues(backend);
  // Without a listener BullMQ prints a queue's connection errors whole (console.error), the
  // store's address included; the backend already logs them, throttled and scrubbed.
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  await upsertSchedulers(queues, config);
  const relay = startRelay(db, queues, log, 250, config.queue.replicaAcks && replicaAcks(backend, config.queue.replicaAcks));
  // Live events for open settings pages (GraphQL subscriptions on the API), ids only.
  const events = createLiveEvents(config, log);
  const confirmed = new ConfirmedOutcomes(db);
  const security = new SecurityEvents(db, log, config.security);
  // Webhook and key-check failures: their distinct causes go to these logs and the metric only;
  // policy refusals are security events too.
  const outboundFailures = watchOutbound(outboundFor(config), log, (event) => security.outboundRefused(event));
  const deps = {
    db,
    box,
    fingerprinter,
    queues,
    events,
    log,
    security,
    config,
    timeoutMs: config.providerTimeoutMs,
    confirmed,
    versions: new VersionReader(db),
    // Outbound slots per tenant and destination, on the queue backend's engine, shared by every
    // worker; a released slot wakes (promotes) the oldest job put back waiting for it.
    gate: createOutboundGate(config, db, log, promoteWaiter(queues)),
  };
  // PostgreSQL unreachable: fetching pauses and caught jobs wait without using their tries.
  const database = new DatabaseGate(db, log);
  const workers = startWorkers(backend, deps, log, {
    concurrency: config.queue.concurrency,
    lockDurationMs: config.queue.lockDurationMs,
    stalledIntervalMs: config.queue.stalledIntervalMs,
    database,
  });
  // What the queue store should hold but lost comes back from PostgreSQL (workers/reconciler.ts).
  const reconcileWatch = startReconcileWatch(queues, config, log);
  // WORKER_METRICS_PORT=0 turns the metrics server off.
  const connected = () => backend.connected();
  const metrics =
    config.queue.metricsPort > 0
      ? await startWorkerMetrics({
          port: config.queue.metricsPort,
          workers,
          queues,
          log,
          connected,
          extra: [outboundFailures, security.metric, sealedRecordsGauge(db, log), deps.gate.putBacks, deps.gate.wakeups, deps.gate.circuitsOpened],
          deployment: { db, queuePrefix: config.queue.prefix },
        })
      : null;
  log.info(
    {
      queues: workers.map((w) => w.name),
      database: describeDatabaseUrl(config.databaseUrl),
      backend: backend.where,
      metricsPort: metrics?.port ?? null,
    },
    'keyplane worker started',
  );

  // Active jobs finish first (worker.close waits for them); then the connections go.
  onShutdown(log, 30_000, async () => {
    reconcileWatch.stop();
    // Jobs held for the database go back to the queue now rather than at the kill.
    database.stop();
    await relay.stop();
    await Promise.all(workers.map((w) => w.close()));
    await metrics?.close();
    await security.flush();
    await events.close();
    await closeQueues(queues);
    await deps.gate.close();
    await backend.close();
    await db.destroy();
    await keks.close();
    await shutdownTracing();
  });
}

main().catch(exitOnStartFailure('keyplane-worker'));
