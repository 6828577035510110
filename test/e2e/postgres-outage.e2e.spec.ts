import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config';
import { createDataSource } from '../../src/db/data-source';
import { createQueueBackend } from '../../src/queue/backend';
import { closeQueues, createQueues } from '../../src/queue/queues';
import { createCredential, createGatewayWithWebhook, openaiKey, tenantWithTokens } from '../factories';
import { attachCredential } from '../factories/credentials';
import { DEFAULT_MODELS, startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { freePort, killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import {
  killAllProcesses,
  startApiProcess,
  startEmbeddedPostgresProcess,
  startWorkerProcess,
  type ApiProcess,
  type KeyplaneProcess,
} from '../helpers/processes';
import { onPostgresQueues, prepareQueueNamespace } from '../helpers/queue-backend';
import { contractFetch } from '../helpers/contracts';
import { TEST_ENV } from '../helpers/test-env';
import { asTestApp, fakeProviderVia, requestsWith, startCapture, uniquePrefix, waitFor, type Capture } from './e2e-support';

/*
 * PostgreSQL, the source of truth, stopped for a minute under load, with real processes on a
 * PRIVATE PostgreSQL (the embedded one, stopped with SIGUSR2 and started again on its folder and
 * port): GraphQL answers SERVICE_UNAVAILABLE meanwhile and the gateway pull 503, jobs caught by the
 * outage wait without using their tries, and afterwards every committed change reaches its
 * outcome. No failure reason and no output line names the database's address.
 * Runs on both queue backends (on postgres the jobs themselves are in the stopped database).
 */
describe('PostgreSQL down for a minute mid-load', () => {
  type Embedded = Awaited<ReturnType<typeof startEmbeddedPostgresProcess>>;
  const prefix = uniquePrefix();
  const root = mkdtempSync(join(tmpdir(), 'kp-pg-outage-'));
  const dir = join(root, 'postgres');
  let port: number;
  let pg: Embedded;
  let url: string;
  let redis: PrivateRedis | null = null;
  let api: ApiProcess;
  let workers: KeyplaneProcess[];
  let fake: FakeProvider;
  let capture: Capture;
  let db: DataSource;

  const startPg = async () => {
    pg = await startEmbeddedPostgresProcess({ KEYPLANE_EMBEDDED_PG_DIR: dir, KEYPLANE_EMBEDDED_PG_PORT: String(port), NODE_ENV: 'development' });
    if (!pg.url) throw new Error(`private PostgreSQL did not start:\n${pg.lines.join('\n')}`);
    url = pg.url;
  };

  beforeAll(async () => {
    chmodSync(root, 0o755); // as root, PostgreSQL runs as the `postgres` user, who must reach the folder
    port = await freePort();
    await startPg();
    db = createDataSource(url, 2);
    await db.initialize();
    await db.runMigrations({ transaction: 'each' });
    if (onPostgresQueues) await prepareQueueNamespace(prefix, url);
    else redis = await startPrivateRedis();
    [fake, capture] = await Promise.all([startFakeProvider(), startCapture()]);
    const env = {
      DATABASE_URL: url,
      QUEUE_PREFIX: prefix,
      ...(redis ? { QUEUE_BACKEND: 'redis', REDIS_URL: redis.url } : { QUEUE_BACKEND: 'postgres' }),
      RECONCILE_INTERVAL_SECONDS: '10',
    };
    [api, ...workers] = await Promise.all([startApiProcess(env), startWorkerProcess(env, 'worker-1'), startWorkerProcess(env, 'worker-2')]);
  }, 120_000);

  afterAll(async () => {
    await killAllProcesses();
    await db?.destroy().catch(() => undefined);
    if (pg && !pg.exited) await pg.signal('SIGUSR2');
    await killAllPrivateRedis();
    await fake?.close();
    await capture?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers SERVICE_UNAVAILABLE while it is down, and every committed change reaches its outcome after', async () => {
    const t = asTestApp(api);
    const providerId = await fakeProviderVia(api, fake);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGatewayWithWebhook(t, admin, tenant.id, capture.url);
    // Every answer, the 503 while PostgreSQL is down included, is checked against schema/openapi.json.
    const pull = () => contractFetch(`${api.url}/v1/gateway/config`, { headers: { authorization: `Bearer ${gw.gatewayKey}` } });
    expect((await pull()).status).toBe(200);

    // Load: keys whose provider answers slowly, so their checks are in flight when the database stops.
    const secrets = Array.from({ length: 6 }, () => openaiKey());
    const credentials: string[] = [];
    for (const secret of secrets) {
      fake.allow(secret);
      fake.script(secret, {
        ...fake.respond.json(200, { object: 'list', data: DEFAULT_MODELS.map((id) => ({ id, object: 'model' })) }),
        delayMs: 2_000,
      });
      const { id } = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
      credentials.push(id);
    }
    const version = await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: credentials[0] });
    await waitFor('checks in flight', () => secrets.some((s) => requestsWith(fake, s).length > 0), 20_000);

    const marks = [api, ...workers].map((p) => p.lines.length);
    expect(await pg.signal('SIGUSR2')).toMatchObject({ code: 0 });
    const stoppedAt = Date.now();

    const during = await api.gql('{ viewer { role } }', {}, admin);
    expect(during.status).toBe(503);
    expect(during.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5 });
    const pulled = await pull();
    expect(pulled.status).toBe(503);
    expect(pulled.headers.get('retry-after')).toBe('5');
    expect(pulled.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    // A minute down, asking now and then as a client would.
    while (Date.now() - stoppedAt < 60_000) {
      const r = await api.gql('{ viewer { role } }', {}, admin);
      expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }

    await startPg();
    const statuses = () => db.query('SELECT id, status FROM credentials WHERE id = ANY($1)', [credentials]) as Promise<{ status: string }[]>;
    await waitFor('every key to be checked', async () => (await statuses().catch(() => [])).every((r) => r.status === 'ACTIVE'), 90_000);
    await waitFor(
      'the reload of the attached version to be delivered',
      async () => capture.received.some((r) => JSON.parse(r.body).data.configVersion >= version),
      60_000,
    );
    const viewer = await api.gql('{ viewer { role } }', {}, admin);
    expect(viewer.data).toEqual({ viewer: { role: 'ADMIN' } });
    expect((await pull()).status).toBe(200);

    // No job failed for the outage, and nothing stored or printed names the database's address.
    const address = new RegExp(`\\b${port}\\b`);
    const config = loadConfig({ ...process.env, ...TEST_ENV, QUEUE_PREFIX: prefix, ...(redis ? { REDIS_URL: redis.url } : {}) });
    const backend = createQueueBackend({ ...config, databaseUrl: url });
    const queues = createQueues(backend);
    try {
      const jobs: Job[] = (await Promise.all(Object.values(queues).map((q) => q.getJobs()))).flat();
      const failed = jobs.filter((j) => j.failedReason);
      expect(failed.map((j) => `${j.name}: ${j.failedReason}`)).toEqual([]);
      expect(jobs.map((j) => JSON.stringify(j.stacktrace ?? [])).filter((s) => address.test(s))).toEqual([]);
    } finally {
      await closeQueues(queues);
      await backend.close();
    }
    const printed = [api, ...workers].flatMap((p, i) => p.lines.slice(marks[i]));
    expect(printed.filter((line) => address.test(line))).toEqual([]);
    // The workers said they held the jobs, rather than failing them.
    expect(workers.some((w) => w.lines.some((l) => l.includes('database unreachable: workers paused')))).toBe(true);
  }, 300_000);
});
