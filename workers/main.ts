import 'reflect-metadata';
import { ConfigError, loadConfig } from '../src/config';
import { parseKeyring, SecretBox } from '../src/crypto';
import { createDataSource } from '../src/db/data-source';
import { createLogger } from '../src/logger';
import { createRedis } from '../src/queue/connection';
import { closeQueues, createQueues } from '../src/queue/queues';
import { startRelay } from './relay';
import { startWorkers } from './worker';

/** Worker process: no HTTP API, never runs migrations. Several copies may run at once. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keyplane-worker: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const log = createLogger(config.logLevel).child({ process: 'worker' });
  const db = createDataSource(config.databaseUrl, config.databasePoolSize);
  await db.initialize();
  const box = new SecretBox(parseKeyring(config.masterKeys));
  const workerRedis = createRedis(config.redisUrl, 'worker');
  // The relay fails fast while Redis is down (and retries later) instead of holding outbox locks.
  const relayRedis = createRedis(config.redisUrl, 'producer');
  const queues = createQueues(relayRedis);
  const relay = startRelay(db, queues, log);
  const workers = startWorkers(workerRedis, { db, box, timeoutMs: config.providerTimeoutMs }, log);
  log.info({ queues: workers.map((w) => w.name) }, 'keyplane worker started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing active jobs');
    const force = setTimeout(() => process.exit(1), 30_000).unref();
    await relay.stop();
    await Promise.all(workers.map((w) => w.close()));
    await closeQueues(queues);
    workerRedis.disconnect();
    relayRedis.disconnect();
    await db.destroy();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`keyplane-worker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
