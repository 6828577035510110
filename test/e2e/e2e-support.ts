import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/db/data-source';
import { createQueueBackend } from '../../src/queue/backend';
import { closeQueues, createQueues, type Queues } from '../../src/queue/queues';
import type { JobName } from '../../src/queue/registry';
import { PROCESSORS } from '../../workers/processors';
import { expectOk, uniqueSlug } from '../factories';
import type { FakeProvider, RecordedRequest } from '../fakes/fake-provider';
import type { ApiProcess } from '../helpers/processes';
import type { TestApp } from '../helpers/test-app';
import { TEST_DATABASE_URL, TEST_ENV, TEST_QUEUE_BACKEND } from '../helpers/test-env';
import { prepareQueueNamespace } from '../helpers/queue-backend';
import { loadConfig } from '../../src/config';
import { queueSchemaOf } from '../../src/config-values';
import { webhookContractErrors } from '../helpers/contracts';

/** Shared pieces of the process-level tests: the test's own view of the database and of Redis. */

export const uniquePrefix = () => `kp-e2e-${randomUUID().slice(0, 8)}`;

/** The factories only call gql(), which the API process offers with the same signature. */
export const asTestApp = (api: ApiProcess) => ({ gql: api.gql }) as unknown as TestApp;

export async function openDb(): Promise<DataSource> {
  const db = createDataSource(TEST_DATABASE_URL, 2);
  await db.initialize();
  return db;
}

/**
 * Outbox rows left by earlier suites in this database belong to them: a worker process relays
 * every unsent row, so they are marked sent before ours start (startTestWorkers does the same).
 * Call it before starting worker processes.
 */
export async function settleForeignOutbox(db: DataSource): Promise<void> {
  await db.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  // A worker process also runs the reconciler at start, which re-creates the checks of every version
  // still pending and every open delivery in the database: earlier suites' leftovers (keys no worker
  // checked, deliveries to receivers long gone) would flood this run's queues. They are settled too.
  await db.query(`UPDATE credential_versions SET last_validated_at = now() WHERE state = 'PENDING' AND last_validated_at IS NULL`);
  await db.query(`UPDATE webhook_deliveries SET status = 'DEAD', dead_at = now() WHERE status IN ('PENDING', 'RETRYING')`);
}

/** A custom OpenAI-shaped provider served by the fake, created through the API process. */
export async function fakeProviderVia(api: ApiProcess, fake: FakeProvider): Promise<string> {
  const res = await expectOk<any>(
    api.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: {
        slug: uniqueSlug('e2efake'),
        name: 'E2E fake',
        baseUrl: fake.baseUrl,
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPrefixes: ['sk-proj-'],
        keyPattern: '^sk-',
      },
    }),
    'upsertProvider',
  );
  return res.provider.id;
}

export const requestsWith = (fake: FakeProvider, secret: string): RecordedRequest[] =>
  fake.requests.filter((r) => r.headers.authorization === `Bearer ${secret}`);

export async function credentialRow(db: DataSource, id: string): Promise<any> {
  const [row] = await db.query('SELECT * FROM credentials WHERE id = $1', [id]);
  return row;
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The queue settings of a process-level test on the test backend: its private Redis (redis), or
 * BullMQ's schema for the prefix in the test database (postgres, migrated here as `npm run
 * migrate` would; no Redis at all).
 */
export async function queueEnv(prefix: string, redisUrl: string | null): Promise<{ QUEUE_PREFIX: string } & Record<string, string>> {
  if (TEST_QUEUE_BACKEND === 'postgres') {
    await prepareQueueNamespace(prefix);
    return { QUEUE_BACKEND: 'postgres', QUEUE_PREFIX: prefix };
  }
  if (!redisUrl) throw new Error('the redis backend needs a Redis');
  return { QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix };
}

/** Queues of a prefix on the test backend, as the test's own producer (to inspect or forge jobs). */
export function queuesOn(redisUrl: string | null, prefix: string): { queues: Queues; close(): Promise<void> } {
  const config = loadConfig({ ...process.env, ...TEST_ENV, QUEUE_PREFIX: prefix, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) });
  const backend = createQueueBackend({ ...config, databaseUrl: TEST_DATABASE_URL });
  const queues = createQueues(backend);
  return {
    queues,
    async close() {
      await closeQueues(queues);
      await backend.close();
    },
  };
}

/** A queue's event log (BullMQ's stream on Redis, its event table on PostgreSQL), as {event, jobId}. */
export async function queueEventLog(redisUrl: string | null, prefix: string, queue: string): Promise<{ event: string; jobId?: string }[]> {
  if (TEST_QUEUE_BACKEND === 'postgres') {
    const db = await openDb();
    try {
      const rows: { event: string; data: Record<string, unknown> | null }[] = await db.query(
        `SELECT event, data FROM "${queueSchemaOf(prefix)}".event WHERE queue = $1 ORDER BY id`,
        [queue],
      );
      return rows.map((r) => ({ event: r.event, jobId: (r.data?.jobId as string | undefined) ?? undefined }));
    } finally {
      await db.destroy();
    }
  }
  const redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  try {
    const events = await redis.xrange(`${prefix}:${queue}:events`, '-', '+');
    return events.map(
      ([, fields]) => Object.fromEntries(fields.flatMap((f, i) => (i % 2 ? [] : [[f, fields[i + 1]]]))) as { event: string; jobId?: string },
    );
  } finally {
    redis.disconnect();
  }
}

export async function allJobs(queues: Queues): Promise<Job[]> {
  const lists = await Promise.all(Object.values(queues).map((q) => q.getJobs()));
  return lists.flat();
}

/**
 * What is still queued or running (empty when settled): unsent outbox rows, and jobs that neither
 * finished nor wait for a retry after a failed attempt. The schedulers' next sweeps (delayed until
 * their cron time) and jobs without a processor yet (null in PROCESSORS) never settle: left out.
 */
export async function unsettled(queues: Queues, db: DataSource): Promise<string[]> {
  const [{ n }] = await db.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL');
  const out: string[] = n > 0 ? [`${n} unsent outbox rows`] : [];
  for (const job of await allJobs(queues)) {
    if (job.finishedOn || !PROCESSORS[job.name as JobName]) continue;
    const state = await job.getState();
    if (state === 'delayed' && (job.attemptsMade > 0 || job.repeatJobKey)) continue;
    out.push(`${job.name} ${job.id} ${state} after ${job.attemptsMade} attempts`);
  }
  return out;
}

/** Waits until unsettled() is empty, naming what was left when it times out. */
export async function settled(queues: Queues, db: DataSource, timeoutMs = 15_000): Promise<void> {
  let left: string[] = [];
  await waitFor('the queues to settle', async () => (left = await unsettled(queues, db)).length === 0, timeoutMs).catch((e) => {
    throw new Error(`${(e as Error).message}; still: ${left.join(', ')}`);
  });
}

export interface Capture {
  url: string;
  received: { path: string; headers: IncomingHttpHeaders; body: string }[];
  /** Webhooks received whose body breaks its published schema (docs/webhooks/). */
  contractViolations(): string[];
  /** Stops the receiver; rejects when a webhook it received broke its published schema. */
  close(): Promise<void>;
}

/**
 * A plain HTTP receiver that answers 200 and keeps every request (webhook bodies for leak scans),
 * validating every webhook (a request with a webhook-id) against its published JSON Schema.
 */
export async function startCapture(host = '127.0.0.1'): Promise<Capture> {
  const received: Capture['received'] = [];
  const violations: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.headers['webhook-id']) violations.push(...webhookContractErrors(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/hooks`,
    received,
    contractViolations: () => [...violations],
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (violations.length > 0) throw new Error(`webhooks that break docs/webhooks/*.schema.json:\n  ${violations.join('\n  ')}`);
    },
  };
}

/**
 * Every key in a Redis and every value by type (strings, hashes, lists, sets, sorted sets, streams),
 * raw bytes decoded as UTF-8 and as Latin-1. Unknown types fail rather than being skipped.
 */
export async function dumpRedis(url: string): Promise<{ where: string; text: string }[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const out: { where: string; text: string }[] = [];
  const add = (where: string, value: Buffer | string) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    out.push({ where: `${where} (utf8)`, text: bytes.toString('utf8') }, { where: `${where} (latin1)`, text: bytes.toString('latin1') });
  };
  try {
    const keys: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', 1000);
      cursor = next.toString();
      keys.push(...batch);
    } while (cursor !== '0');
    for (const key of keys) {
      const name = key.toString('utf8');
      add(`redis key name ${name}`, key);
      const type = await redis.type(key);
      const where = `redis ${type} ${name}`;
      if (type === 'string') add(where, (await redis.getBuffer(key)) ?? '');
      else if (type === 'hash')
        for (const [f, v] of Object.entries(await redis.hgetallBuffer(key))) add(`${where} field ${f}`, Buffer.concat([Buffer.from(`${f}=`), v]));
      else if (type === 'list') (await redis.lrangeBuffer(key, 0, -1)).forEach((v, i) => add(`${where} [${i}]`, v));
      else if (type === 'set') (await redis.smembersBuffer(key)).forEach((v, i) => add(`${where} member ${i}`, v));
      else if (type === 'zset') (await redis.zrangeBuffer(key, 0, -1, 'WITHSCORES')).forEach((v, i) => add(`${where} [${i}]`, v));
      else if (type === 'stream') {
        for (const [id, fields] of await redis.xrangeBuffer(key, '-', '+'))
          add(`${where} entry ${id.toString()}`, Buffer.concat(fields.flatMap((f) => [f, Buffer.from(' ')])));
      } else if (type !== 'none') throw new Error(`redis key ${name} has type ${type}, which the dump does not read`);
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

/** Rows of the given tenants in every table with a tenant_id column, plus the tenant rows, as JSON text. */
export async function tenantSnapshot(db: DataSource, tenantIds: string[]): Promise<Record<string, string[]>> {
  const tables: { table_name: string }[] = await db.query(
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1`,
  );
  const out: Record<string, string[]> = {};
  const rows = async (sql: string) => ((await db.query(sql, [tenantIds])) as { j: string }[]).map((r) => r.j).sort();
  out.tenants = await rows('SELECT row_to_json(x)::text AS j FROM tenants x WHERE id = ANY($1::uuid[])');
  // A chain head is where the audit trail stands: it moves with every audit row (security events
  // included), so it is left out; the rows themselves, with their seq and hashes, are compared.
  for (const { table_name: t } of tables) {
    if (t === 'audit_chain_heads') continue;
    out[t] = await rows(`SELECT row_to_json(x)::text AS j FROM "${t}" x WHERE tenant_id = ANY($1::uuid[])`);
  }
  return out;
}
