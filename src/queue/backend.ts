import {
  assertSchemaCompatibility,
  createPostgresBackend,
  Queue,
  SchemaMigrationRequiredError,
  SchemaVersionMismatchError,
  UnsupportedPostgresVersionError,
  Worker,
  type JobsOptions,
  type Processor,
  type WorkerOptions,
} from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { Command } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, QueueBackendKind } from '../config';
import { queueSchemaOf } from '../config-values';
import { judgeCluster, probeClusterNodes } from './cluster-probe';
import { createRedis, isCluster, redisTargetOf, type RedisClient, type RedisTarget } from './connection';
import { DEFAULT_JOB_OPTIONS } from './job-options';
import { queueKeyPrefix } from './key-layout';
import { QUEUES, type QueueName } from './registry';

export type WorkerSettings = Omit<WorkerOptions, 'connection' | 'prefix'>;
export interface QueueSettings {
  view?: boolean;
  defaultJobOptions?: JobsOptions;
}

/**
 * Where BullMQ keeps the jobs: the one place that knows (QUEUE_BACKEND, decided in config.ts).
 * Everything that makes a Queue or a Worker asks this, so queues, workers, schedulers, the relay,
 * rescan status, queue gauges, readiness and the dashboard run on either backend unchanged.
 *
 * - redis: BullMQ's default backend; throughput and scale (Redis Cluster in the scale-out docs).
 * - postgres: BullMQ 6's own PostgreSQL backend, in a schema of its own (queueSchemaOf), migrated by
 *   `npm run migrate` (src/db/migrate.ts), never by a starting process. One engine to run and back
 *   up, and jobs share the data's consistent state (a backup holds both as of one moment).
 */
export interface QueueBackend {
  readonly kind: QueueBackendKind;
  /** For start-up lines: the backend and its namespace, never an address with credentials. */
  readonly where: string;
  /**
   * A producer-side queue. `view`: the API's read-only views, which must write nothing at start.
   * `defaultJobOptions` replaces DEFAULT_JOB_OPTIONS (tests that must not wait for production backoff).
   */
  queue(name: QueueName, options?: QueueSettings): Queue;
  worker(name: QueueName, processor: Processor, settings: WorkerSettings): Worker;
  /** Refuses to start on a store that cannot serve this BullMQ (a clear QueueStoreError). */
  assertUsable(): Promise<void>;
  /** Readiness: one cheap round trip to the store. */
  ping(): Promise<void>;
  /** False while the store is known to be unreachable: metric scrapes skip it instead of waiting. */
  connected(): boolean;
  /** Closes the connections this object made (queues and workers are closed by their owners first). */
  close(): Promise<void>;
  /**
   * Redis only: how many replicas (up to `replicas`, waiting at most `timeoutMs`) hold every write
   * producers sent so far to the master of `name`'s keys (WAIT on the producer connection, which
   * every producer queue shares). QUEUE_REPLICA_ACKS, workers/replica-acks.ts.
   */
  replicasHolding?(name: QueueName, replicas: number, timeoutMs: number): Promise<number>;
}

/** A queue store that cannot serve: the message says what to do, and names no password. */
export class QueueStoreError extends Error {
  override name = 'QueueStoreError';
}

export function createQueueBackend(
  config: { queue: Pick<Config['queue'], 'backend' | 'prefix'> } & Pick<Config, 'redisUrl' | 'databaseUrl'> & Partial<Pick<Config, 'redisCluster'>>,
  log?: Pick<Logger, 'warn'>,
): QueueBackend {
  const warn = throttled(log, `queue backend ${config.queue.backend} unreachable`);
  return config.queue.backend === 'postgres'
    ? new PostgresQueues(config.databaseUrl, config.queue.prefix, warn)
    : new RedisQueues(redisTargetOf(config), config.queue.prefix, warn, log);
}

/** Connections report every failed reconnect; a line a minute is enough to see the store is down. */
function throttled(log: Pick<Logger, 'warn'> | undefined, message: string) {
  let last = 0;
  return (error: Error) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log?.warn({ err: { name: error.name, message: error.message } }, message);
  };
}

class RedisQueues implements QueueBackend {
  readonly kind = 'redis' as const;
  readonly where: string;
  private readonly cluster: boolean;
  private producer: RedisClient | null = null;
  private blocking: RedisClient | null = null;
  /** Readiness writes this and reads it back, in each queue's slot (a cluster: each queue's shard). */
  private readonly probeValue = randomBytes(8).toString('hex');

  constructor(
    private readonly target: RedisTarget,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void,
    private readonly log?: Pick<Logger, 'warn'>,
  ) {
    this.cluster = target.kind === 'cluster';
    this.where = this.cluster
      ? `redis cluster (${target.kind === 'cluster' ? target.nodes.length : 0} seed nodes, prefix {${prefix}-<queue>})`
      : `redis (prefix ${prefix})`;
  }

  /** Fail-fast connection (see connection.ts): queue reads and adds never wait for Redis. */
  private producerConnection(): RedisClient {
    if (!this.producer) {
      this.producer = createRedis(this.target, 'producer');
      this.producer.on('error', this.onError);
    }
    return this.producer;
  }

  /** Each queue's keys under a hash tag of its own on a cluster (key-layout.ts). */
  private prefixOf(name: QueueName): string {
    return queueKeyPrefix(this.prefix, name, this.cluster);
  }

  async replicasHolding(name: QueueName, replicas: number, timeoutMs: number): Promise<number> {
    const redis = this.producerConnection();
    if (!isCluster(redis)) return redis.wait(replicas, timeoutMs);
    // On a cluster WAIT must reach the master owning the queue's slot (all its keys share one tag).
    const slot = new Command('exists', [`${this.prefixOf(name)}:${name}:meta`]).getSlot();
    return Number(await redis.sendCommand(new Command('wait', [replicas, timeoutMs]), undefined, { slot }));
  }

  queue(name: QueueName, options: QueueSettings = {}): Queue {
    const queue = new Queue(name, {
      connection: this.producerConnection(),
      prefix: this.prefixOf(name),
      defaultJobOptions: options.defaultJobOptions ?? DEFAULT_JOB_OPTIONS,
      skipMetasUpdate: options.view === true,
    });
    // A queue emits connection failures as 'error' (a cluster not ready yet on the fail-fast
    // connection, a Redis that went away): logged, throttled, never an unhandled error that ends
    // the process. The operation itself fails and its caller retries (the relay, a scrape).
    queue.on('error', this.onError);
    return queue;
  }

  worker(name: QueueName, processor: Processor, settings: WorkerSettings): Worker {
    if (!this.blocking) {
      this.blocking = createRedis(this.target, 'worker');
      this.blocking.on('error', this.onError);
    }
    return new Worker(name, processor, { ...settings, connection: this.blocking, prefix: this.prefixOf(name) });
  }

  async assertUsable(): Promise<void> {
    // One server: BullMQ checks the server version itself and waits for Redis rather than failing.
    // A cluster: a node list that cannot be right stops the start; an unreachable or failed cluster
    // is said once, clearly, and waited for (as one server is).
    if (this.target.kind !== 'cluster') return;
    const verdict = judgeCluster(await probeClusterNodes(this.target));
    if (verdict.fatal) throw new QueueStoreError(`queue backend redis: ${verdict.fatal}`);
    if (verdict.warning) this.log?.warn(`queue backend redis: ${verdict.warning}`);
  }

  /**
   * Readiness means the queues can be served: a key is written and read back in every queue's
   * slot, which on a cluster reaches each queue's master and fails while its slots have none
   * (cluster state fail, CLUSTERDOWN) or while it cannot write (a replica, READONLY).
   */
  async ping(): Promise<void> {
    const redis = this.producerConnection();
    const keys = this.cluster ? QUEUES.map((q) => `${this.prefixOf(q)}:readyz`) : [`${this.prefix}:readyz`];
    await Promise.all(
      keys.map(async (key) => {
        await redis.set(key, this.probeValue, 'PX', 10_000);
        if ((await redis.get(key)) !== this.probeValue) throw new QueueStoreError(`queue backend redis: ${key} did not read back what was written`);
      }),
    );
  }

  connected(): boolean {
    return this.producerConnection().status === 'ready';
  }

  async close(): Promise<void> {
    for (const redis of [this.producer, this.blocking]) {
      if (!redis) continue;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }
    this.producer = this.blocking = null;
  }
}

/**
 * Pool sizes. Every Queue and Worker object on this backend owns a small pool (BullMQ's
 * PostgreSQL backend pins search_path per pool, so one cannot be shared across schemas), and a
 * Worker also holds one LISTEN connection of its own. A producer-side queue runs one statement at a
 * time (the relay adds in order; the API only reads counts), so one connection each; a worker
 * gets up to 4. A worker process (4 worker queues, 5 producer queues) so holds at most 25 queue
 * connections besides its DATABASE_POOL_SIZE, and an API 5; idle ones close after 10 s (README:
 * Deployment shapes, connection budget).
 */
const PRODUCER_POOL = 1;
const WORKER_POOL_MAX = 4;
const IDLE_MS = 10_000;

class PostgresQueues implements QueueBackend {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly schema: string;
  private readonly pool: Pool;
  private healthy = true;

  constructor(
    private readonly databaseUrl: string,
    prefix: string,
    private readonly onError: (error: Error) => void,
  ) {
    this.schema = queueSchemaOf(prefix);
    this.where = `postgres (schema ${this.schema})`;
    // Readiness and the start-up check only: one connection, never held.
    this.pool = new Pool({ connectionString: databaseUrl, max: 1, idleTimeoutMillis: IDLE_MS, application_name: 'keyplane-queue-check' });
    this.pool.on('error', (error) => {
      this.healthy = false;
      this.onError(error);
    });
  }

  private connection(max: number) {
    return {
      connectionString: this.databaseUrl,
      schema: this.schema,
      max,
      idleTimeoutMillis: IDLE_MS,
      // Fail fast rather than wait on a database that does not answer: BullMQ retries.
      connectionTimeoutMillis: 5_000,
      application_name: 'keyplane-queue',
    };
  }

  // The same Queue and Worker classes; only their connection-options type parameter differs, which
  // no caller reads, so they are handed out as the default-typed classes the rest of the code uses.
  queue(name: QueueName, options: QueueSettings = {}): Queue {
    const queue = new Queue(
      name,
      {
        connection: this.connection(PRODUCER_POOL),
        defaultJobOptions: options.defaultJobOptions ?? DEFAULT_JOB_OPTIONS,
        skipMetasUpdate: options.view === true,
      },
      createPostgresBackend,
    );
    queue.on('error', this.onError);
    return queue as unknown as Queue;
  }

  worker(name: QueueName, processor: Processor, settings: WorkerSettings): Worker {
    const max = Math.min(WORKER_POOL_MAX, Math.max(2, settings.concurrency ?? 1));
    return new Worker(name, processor, { ...settings, connection: this.connection(max) }, createPostgresBackend) as unknown as Worker;
  }

  async assertUsable(): Promise<void> {
    const client = await this.pool.connect().catch((error: Error & { code?: string }) => {
      throw new QueueStoreError(`queue backend postgres: cannot connect to PostgreSQL (${error.code ?? error.name})`);
    });
    try {
      await assertSchemaCompatibility(client, this.schema);
    } catch (error) {
      throw explainSchemaError(error, this.schema);
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    try {
      // The schema must be there too: a database that answers without BullMQ's tables cannot serve jobs.
      const { rowCount } = await this.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (!rowCount) throw new QueueStoreError(`queue schema "${this.schema}" is missing: run \`npm run migrate\``);
      this.healthy = true;
    } catch (error) {
      this.healthy = false;
      this.onError(error as Error);
      throw error;
    }
  }

  connected(): boolean {
    return this.healthy;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** BullMQ's schema errors, said as what an operator should do. */
export function explainSchemaError(error: unknown, schema: string): Error {
  if (error instanceof SchemaMigrationRequiredError) {
    return new QueueStoreError(`queue schema "${schema}" is not set up: run \`npm run migrate\` (it migrates BullMQ's schema too) before starting`);
  }
  if (error instanceof SchemaVersionMismatchError) {
    return new QueueStoreError(
      `queue schema "${schema}" was migrated by a newer BullMQ (it needs BullMQ ${error.minimumClientVersion} or newer; this Keyplane has ${error.clientVersion}): ` +
        'run the Keyplane release that migrated it, or upgrade this one; the jobs are untouched',
    );
  }
  if (error instanceof UnsupportedPostgresVersionError) {
    return new QueueStoreError(`queue backend postgres needs PostgreSQL ${error.minimumVersion} or newer (the server runs ${error.serverVersion})`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
