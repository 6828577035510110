import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { BULLMQ_MAJOR_VERSION } from 'bullmq';
import { queueSchemaOf } from '../../../src/config-values';
import { migrateQueueSchema } from '../../../src/db/migrate';
import { createQueueBackend, QueueStoreError, type QueueBackend } from '../../../src/queue/backend';
import { TEST_DATABASE_URL } from '../../helpers/test-env';
import { dropQueueNamespace } from '../../helpers/queue-backend';

/*
 * Issue 11: BullMQ's schema on PostgreSQL is migrated by `npm run migrate` only. A process meeting
 * a schema it cannot use refuses to start with a message that says what to do, and changes nothing.
 * (These run against PostgreSQL whichever backend the suite runs on: they are about that backend.)
 */
const opened: QueueBackend[] = [];
const prefixes: string[] = [];

function postgresBackend(prefix: string): QueueBackend {
  const backend = createQueueBackend({ queue: { backend: 'postgres', prefix }, redisUrl: null, databaseUrl: TEST_DATABASE_URL });
  opened.push(backend);
  return backend;
}

async function sql(query: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

const fresh = () => {
  const prefix = `kp-qb-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
};

afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
  for (const prefix of prefixes) await dropQueueNamespace(prefix).catch(() => undefined);
  // dropQueueNamespace only acts on the postgres test backend: drop ours whatever the suite runs on.
  for (const prefix of prefixes) await sql(`DROP SCHEMA IF EXISTS "${queueSchemaOf(prefix)}" CASCADE`);
});

it('a schema nobody migrated: start refused, naming npm run migrate; migrating makes it usable and is idempotent', async () => {
  const prefix = fresh();
  const backend = postgresBackend(prefix);
  await expect(backend.assertUsable()).rejects.toThrow(QueueStoreError);
  await expect(backend.assertUsable()).rejects.toThrow(`queue schema "${queueSchemaOf(prefix)}" is not set up: run \`npm run migrate\``);
  await expect(backend.ping()).rejects.toThrow(/is missing: run `npm run migrate`/);
  expect(backend.connected()).toBe(false);

  const version = await migrateQueueSchema(TEST_DATABASE_URL, queueSchemaOf(prefix));
  expect(version).toBeGreaterThan(0);
  expect(await migrateQueueSchema(TEST_DATABASE_URL, queueSchemaOf(prefix))).toBe(version); // twice: a no-op
  await expect(backend.assertUsable()).resolves.toBeUndefined();
  await backend.ping();
  expect(backend.connected()).toBe(true);
});

it('a schema migrated by a newer BullMQ: start refused, naming both versions; its jobs are untouched', async () => {
  const prefix = fresh();
  const schema = queueSchemaOf(prefix);
  await migrateQueueSchema(TEST_DATABASE_URL, schema);
  const queue = postgresBackend(prefix).queue('maintenance');
  await queue.add('fingerprint-rescan', { requestedAt: 'kept' }, { jobId: 'kept-1', delay: 3_600_000 });
  await queue.close();
  // What a newer BullMQ's migration would leave: a ledger row that needs a newer client.
  await sql(`UPDATE "${schema}".migration SET min_client_version = ${BULLMQ_MAJOR_VERSION + 1}`);

  const backend = postgresBackend(prefix);
  await expect(backend.assertUsable()).rejects.toThrow(
    `queue schema "${schema}" was migrated by a newer BullMQ (it needs BullMQ ${BULLMQ_MAJOR_VERSION + 1} or newer; this Keyplane has ${BULLMQ_MAJOR_VERSION})`,
  );
  // The migration step refuses too, rather than downgrading anything.
  await expect(migrateQueueSchema(TEST_DATABASE_URL, schema)).rejects.toThrow(/was migrated by a newer BullMQ/);
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT id, data FROM "${schema}".job`);
    expect(rows).toEqual([{ id: 'kept-1', data: { requestedAt: 'kept' } }]);
  } finally {
    await client.end();
  }
});
