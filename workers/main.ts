import 'reflect-metadata';
import { Fingerprinter, parseKeyring, SecretBox } from '../src/crypto';
import { NO_EVENTS } from '../src/events/types';
import { createDataSource } from '../src/db/data-source';
import { exitOnStartFailure, loadConfigOrExit, onShutdown } from '../src/lifecycle';
import { createLogger } from '../src/logger';
import { createRedis } from '../src/queue/connection';
import { closeQueues, createQueues } from '../src/queue/queues';
import { startRelay } from './relay';
import { startWorkers } from './worker';

/** Worker process: no HTTP API, never runs migrations. Several copies may run at once. */
async function main(): Promise<void> {
  const config = loadConfigOrExit('keyplane-worker');
  const log = createLogger(config.logLevel).child({ process: 'worker' });
  const db = createDataSource(config.databaseUrl, config.databasePoolSize);
  await db.initialize();
  const box = new SecretBox(parseKeyring(config.masterKeys));
  const workerRedis = createRedis(config.redisUrl, 'worker');
  // The relay fails fast while Redis is down (and retries later) instead of holding outbox locks.
  const relayRedis = createRedis(config.redisUrl, 'producer');
  const queues = createQueues(relayRedis, config.queue.prefix);
  const relay = startRelay(db, queues, log);
  const fingerprinter = new Fingerprinter(Buffer.from(config.fingerprintKey, 'utf8'));
  const deps = { db, box, fingerprinter, queues, events: NO_EVENTS, log, config, timeoutMs: config.providerTimeoutMs };
  const workers = startWorkers(workerRedis, deps, log, { prefix: config.queue.prefix, concurrency: config.queue.concurrency });
  log.info({ queues: workers.map((w) => w.name) }, 'keyplane worker started');

  // Active jobs finish first (worker.close waits for them); then the connections go.
  onShutdown(log, 30_000, async () => {
    await relay.stop();
    await Promise.all(workers.map((w) => w.close()));
    await closeQueues(queues);
    workerRedis.disconnect();
    relayRedis.disconnect();
    await db.destroy();
  });
}

main().catch(exitOnStartFailure('keyplane-worker'));
