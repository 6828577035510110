import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/db/data-source';
import { createCredential, expectOk, openaiKey, tenantWithTokens } from '../factories';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { startPrivatePgPair, type PrivatePgPair } from '../helpers/private-pg-replica';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { TEST_QUEUE_BACKEND, TEST_REDIS_CLUSTER, TEST_REDIS_URL } from '../helpers/test-env';
import { asTestApp, credentialRow, fakeProviderVia, requestsWith, uniquePrefix, waitFor } from '../e2e/e2e-support';

/*
 * Two API processes reading from a PostgreSQL streaming replica (a private primary and a
 * `pg_basebackup -R` replica of this suite's own) and two worker processes on the primary, with the
 * queues on the scale project's Redis Cluster. Validations run once each and their outcomes reach
 * both APIs' replica reads; with replay paused, a client's own writes and revocations hold on both
 * processes at once.
 */
const describeRedis = TEST_QUEUE_BACKEND === 'redis' ? describe : describe.skip;
const MAX_LAG_MS = 1500;

describeRedis('2 APIs reading from a PostgreSQL replica, 2 workers', () => {
  let pair: PrivatePgPair;
  let db: DataSource;
  let fake: FakeProvider;
  let apis: ApiProcess[] = [];
  let workers: KeyplaneProcess[] = [];
  let providerId: string;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    [pair, fake] = await Promise.all([startPrivatePgPair(), startFakeProvider()]);
    const admin = new Client({ connectionString: pair.primaryUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE keyplane');
    await admin.end();
    db = createDataSource(pair.primaryUrlFor('keyplane'), 2);
    await db.initialize();
    await db.runMigrations({ transaction: 'each' });
    const queue: Record<string, string> = TEST_REDIS_CLUSTER ? { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER } : { REDIS_URL: TEST_REDIS_URL };
    const base = { DATABASE_URL: pair.primaryUrlFor('keyplane'), QUEUE_BACKEND: 'redis', QUEUE_PREFIX: prefix, ...queue };
    const apiEnv = {
      ...base,
      DATABASE_REPLICA_URLS: pair.replicaUrlFor('keyplane'),
      DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
      DATABASE_REPLICA_PROBE_MS: '50',
    };
    apis = await Promise.all([startApiProcess(apiEnv), startApiProcess(apiEnv)]);
    workers = await Promise.all([0, 1].map((i) => startWorkerProcess(base, `worker-${i}`)));
    providerId = await fakeProviderVia(apis[0], fake);
  }, 120_000);

  afterAll(async () => {
    await killAllProcesses();
    await db?.destroy();
    await fake?.close();
    await pair?.close();
  }, 60_000);

  afterEach(async () => {
    await pair.resumeReplay().catch(() => undefined);
  });

  const LIST = 'query($t: ID!) { credentials(tenantId: $t, first: 50) { edges { node { id status } } } }';
  const list = async (api: ApiProcess, token: string, tenantId: string): Promise<Record<string, string>> => {
    const res = await api.gql(LIST, { t: tenantId }, token);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return Object.fromEntries(res.data.credentials.edges.map((e: { node: { id: string; status: string } }) => [e.node.id, e.node.status]));
  };
  const replicaReads = async (api: ApiProcess): Promise<number> => {
    const text = await (await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${process.env.KEYPLANE_ADMIN_TOKEN}` } })).text();
    return Number(/keyplane_db_read_route_total\{target="replica"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('validations run once each and both APIs read their outcomes from the replica', async () => {
    const items = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const t = asTestApp(apis[i % 2]);
        const world = await tenantWithTokens(t);
        const secret = openaiKey();
        fake.allow(secret);
        const credential = await createCredential(t, world.admin, { tenantId: world.tenant.id, providerId, secret });
        return { ...world, credential, secret };
      }),
    );
    for (const item of items) {
      await waitFor(`${item.credential.id} ACTIVE`, async () => (await credentialRow(db, item.credential.id)).status === 'ACTIVE', 60_000);
      expect(requestsWith(fake, item.secret)).toHaveLength(1);
    }
    await pair.caughtUp();
    const before = await Promise.all(apis.map(replicaReads));
    // The workers' writes are nobody's announced write: replica reads show them once replayed.
    for (const item of items) {
      for (const api of apis) {
        await waitFor(
          `${item.credential.id} ACTIVE through the API`,
          async () => (await list(api, item.viewer, item.tenant.id))[item.credential.id] === 'ACTIVE',
        );
      }
    }
    const after = await Promise.all(apis.map(replicaReads));
    for (const [i, n] of after.entries()) expect(n).toBeGreaterThan(before[i]);
  }, 120_000);

  it('with replay paused: a client reads its own write on the other process, and a revoked token fails on both', async () => {
    const t0 = asTestApp(apis[0]);
    const world = await tenantWithTokens(t0);
    await pair.caughtUp();
    await new Promise((r) => setTimeout(r, MAX_LAG_MS));
    expect((await apis[1].gql('{ viewer { role } }', {}, world.viewer)).status).toBe(200);
    await pair.pauseReplay();
    const secret = openaiKey();
    fake.allow(secret);
    const credential = await createCredential(t0, world.admin, { tenantId: world.tenant.id, providerId, secret });
    await expectOk(
      apis[0].gql(
        'mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { userErrors { code } } }',
        { input: { id: world.viewerTokenId } },
        world.admin,
      ),
      'revokeApiToken',
    );
    // The very next requests, on the other process.
    expect(Object.keys(await list(apis[1], world.admin, world.tenant.id))).toContain(credential.id);
    for (const api of apis) expect((await api.gql('{ viewer { role } }', {}, world.viewer)).status).toBe(401);
    // The worker's outcome lands on the primary while the replica stays behind; after replay resumes
    // both APIs show the state the last event implies.
    await waitFor('validated on the primary', async () => (await credentialRow(db, credential.id)).status === 'ACTIVE', 60_000);
    await pair.resumeReplay();
    await pair.caughtUp();
    for (const api of apis)
      await waitFor('ACTIVE on both APIs', async () => (await list(api, world.admin, world.tenant.id))[credential.id] === 'ACTIVE');
    expect(requestsWith(fake, secret)).toHaveLength(1);
    expect(workers.every((w) => !w.exited)).toBe(true);
  }, 120_000);
});
