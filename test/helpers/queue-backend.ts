import { Cluster, Redis } from 'ioredis';
import { Client } from 'pg';
import { loadConfig, type QueueBackendKind } from '../../src/config';
import { queueSchemaOf } from '../../src/config-values';
import { migrateQueueSchema } from '../../src/db/migrate';
import { createLiveEvents } from '../../src/events';
import { liveChannelOf } from '../../src/events/pg-events';
import { createQueueBackend, type QueueBackend } from '../../src/queue/backend';
import { liveChannel } from '../../src/queue/key-layout';
import { TEST_DATABASE_URL, TEST_ENV, TEST_QUEUE_BACKEND, TEST_REDIS_CLUSTER, TEST_REDIS_URL } from './test-env';

/**
 * The suites run on the queue backend named by KEYPLANE_TEST_QUEUE_BACKEND (redis by default;
 * `.ci/run` runs the integration and e2e tiers on both). These helpers give a test run its own
 * queue namespace on it: a Redis key prefix, or a BullMQ schema on PostgreSQL built by the same
 * migration step `npm run migrate` runs.
 */
export const onPostgresQueues = TEST_QUEUE_BACKEND === 'postgres';

export function testQueueConfig(prefix: string) {
  return loadConfig({ ...process.env, ...TEST_ENV, QUEUE_PREFIX: prefix });
}

export function testQueueBackend(prefix: string): QueueBackend {
  const config = testQueueConfig(prefix);
  return createQueueBackend({
    queue: { ...config.queue, backend: TEST_QUEUE_BACKEND as QueueBackendKind },
    redisUrl: TEST_REDIS_CLUSTER ? null : TEST_REDIS_URL,
    redisCluster: config.redisCluster,
    databaseUrl: TEST_DATABASE_URL,
  });
}

/**
 * Every key under a pattern on the test Redis: one server, or each master of the test cluster
 * (KEYS runs per node on a cluster). `use` gets a client that routes the keys it is given.
 */
async function onTestRedis<T>(pattern: string, use: (redis: Redis | Cluster, keys: string[]) => Promise<T>): Promise<T> {
  if (!TEST_REDIS_CLUSTER) {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      return await use(redis, await redis.keys(pattern));
    } finally {
      redis.disconnect();
    }
  }
  const cluster = new Cluster(TEST_REDIS_CLUSTER.split(',').map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) })));
  try {
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    const keys = (await Promise.all(cluster.nodes('master').map((node) => node.keys(pattern)))).flat();
    return await use(cluster, keys);
  } finally {
    cluster.disconnect();
  }
}

export function testLiveEvents(prefix: string) {
  return createLiveEvents(testQueueConfig(prefix));
}

/** Creates the run's namespace (PostgreSQL: migrates its BullMQ schema; Redis: nothing to do). */
export async function prepareQueueNamespace(prefix: string, databaseUrl = TEST_DATABASE_URL): Promise<void> {
  if (onPostgresQueues) await migrateQueueSchema(databaseUrl, queueSchemaOf(prefix));
}

/** Drops the run's BullMQ schema (PostgreSQL), once its queues and workers are closed. */
export async function dropQueueNamespace(prefix: string, databaseUrl = TEST_DATABASE_URL): Promise<void> {
  if (!onPostgresQueues) return;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${queueSchemaOf(prefix)}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Every entry the key-check store holds under a prefix (limits and the key-test cache): Redis keys
 * and string values, or the rows of key_check_buckets and key_test_cache.
 */
export async function keyCheckStoreEntries(prefix: string): Promise<{ key: string; value: string }[]> {
  if (!onPostgresQueues) {
    return onTestRedis(`${prefix}:*`, (redis, keys) =>
      Promise.all(keys.map(async (key) => ({ key, value: (await redis.type(key)) === 'string' ? ((await redis.get(key)) ?? '') : '' }))),
    );
  }
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT key, tat::text AS value FROM key_check_buckets WHERE starts_with(key, $1)
       UNION ALL SELECT key, value::text FROM key_test_cache WHERE starts_with(key, $1)`,
      [`${prefix}:`],
    );
    return rows as { key: string; value: string }[];
  } finally {
    await client.end();
  }
}

/** Removes what keyCheckStoreEntries would list. */
export async function clearKeyCheckStore(prefix: string): Promise<void> {
  if (!onPostgresQueues) {
    // One DEL per key: on a cluster the keys of several tenants live in several slots.
    await onTestRedis(`${prefix}:*`, (redis, keys) => Promise.all(keys.map((key) => redis.del(key))));
    return;
  }
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query('DELETE FROM key_check_buckets WHERE starts_with(key, $1)', [`${prefix}:`]);
    await client.query('DELETE FROM key_test_cache WHERE starts_with(key, $1)', [`${prefix}:`]);
  } finally {
    await client.end();
  }
}

/** Sends a raw message on the live-events channel of a prefix, as a stranger on the store could. */
export async function rawLivePublish(prefix: string, event: string, message: string): Promise<void> {
  if (!onPostgresQueues) {
    await onTestRedis(`${prefix}:live:none`, async (redis) => {
      if (redis instanceof Cluster) await redis.spublish(liveChannel(prefix, event, true), message);
      else await redis.publish(liveChannel(prefix, event, false), message);
    });
    return;
  }
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query('SELECT pg_notify($1, $2)', [liveChannelOf(prefix), `${event} ${message}`]);
  } finally {
    await client.end();
  }
}

/**
 * For suites that do not use the test queue backend at all (they start their own engines, such as
 * the embedded PostgreSQL): they run once, in the default (redis) pass, not again in CI's
 * postgres pass, where they would repeat the same thing.
 */
export const describeOnce: jest.Describe = onPostgresQueues ? describe.skip : describe;
