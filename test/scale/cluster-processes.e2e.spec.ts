import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config';
import { createQueueBackend } from '../../src/queue/backend';
import { queueKeyPrefix } from '../../src/queue/key-layout';
import { closeQueues, createQueues } from '../../src/queue/queues';
import { schedulerSpecs } from '../../workers/schedulers';
import { createCredential, createGatewayWithWebhook, openaiKey, tenantWithTokens } from '../factories';
import { attachCredential } from '../factories/credentials';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { startWebhookSink, verifyStandardWebhook, type WebhookSink } from '../fakes/webhook-sink';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-redis-cluster';
import { TEST_DATABASE_URL, TEST_ENV, TEST_REDIS_CLUSTER } from '../helpers/test-env';
import { asTestApp, credentialRow, fakeProviderVia, openDb, requestsWith, settleForeignOutbox, uniquePrefix, waitFor } from '../e2e/e2e-support';

/*
 * Two API processes (each reaching the cluster through different seed nodes) and three worker
 * processes on a Redis Cluster of this suite's own (3 masters, 3 replicas), under load, while the
 * cluster fails over and a worker dies. After each round: one provider request per validation, one
 * signed webhook per announced config version, schedulers once, outbox drained, every job once.
 */
const describeCluster = TEST_REDIS_CLUSTER ? describe : describe.skip;

describeCluster('2 APIs and 3 workers on a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let db: DataSource;
  let fake: FakeProvider;
  let sink: WebhookSink;
  let apis: ApiProcess[] = [];
  let workers: KeyplaneProcess[] = [];
  let providerId: string;
  const prefix = uniquePrefix();
  // Short locks: a dead worker's job is taken over in seconds.
  const fast = { WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000', PROVIDER_TIMEOUT_MS: '30000' };
  const env = (ports: number[]) => ({ QUEUE_BACKEND: 'redis', REDIS_CLUSTER_NODES: cluster.seeds(ports), QUEUE_PREFIX: prefix, ...fast });

  beforeAll(async () => {
    [cluster, db, fake, sink] = await Promise.all([startPrivateRedisCluster(), openDb(), startFakeProvider(), startWebhookSink()]);
    await settleForeignOutbox(db);
    const p = cluster.ports;
    apis = await Promise.all([startApiProcess(env(p.slice(0, 3))), startApiProcess(env(p.slice(3)))]);
    workers = await Promise.all([0, 1, 2].map((i) => startWorkerProcess(env([p[i], p[i + 3]]), `worker-${i}`)));
    providerId = await fakeProviderVia(apis[0], fake);
  }, 120_000);

  afterAll(async () => {
    await killAllProcesses();
    await Promise.all([cluster?.stop(), fake?.close(), sink?.close(), db?.destroy()]);
  });

  interface Item {
    credentialId: string;
    secret: string;
    gatewayId: string;
    path: string;
    signingSecret: string;
  }

  /** `n` tenants, each with a gateway (webhook) and a key attached, through both APIs alternately. */
  async function load(n: number, tag: string): Promise<Item[]> {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = asTestApp(apis[i % 2]);
        const { tenant, admin } = await tenantWithTokens(t);
        const secret = openaiKey();
        fake.allow(secret);
        const path = `/${tag}-${i}`;
        const gw = await createGatewayWithWebhook(t, admin, tenant.id, sink.url(path));
        const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
        await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: credential.id });
        return { credentialId: credential.id, secret, gatewayId: gw.gateway.id, path, signingSecret: gw.signingSecret };
      }),
    );
  }

  async function expectInvariants(items: Item[], opts: { extraRequests?: Set<string>; replicationLoss?: boolean } = {}) {
    for (const item of items) {
      await waitFor(`credential ${item.credentialId} ACTIVE`, async () => (await credentialRow(db, item.credentialId)).status === 'ACTIVE', 60_000);
    }
    // Exactly one provider request per validation (a killed worker's hung request is the exception named).
    for (const item of items) {
      const requests = requestsWith(fake, item.secret).length;
      // A master SIGKILLed before its replica received a job's completion (Redis replicates
      // asynchronously): the replica still holds the job as not done and it runs again, once. Its
      // outcome is the same; only the provider sees a second check. README: Running at scale.
      if (opts.replicationLoss) expect([1, 2]).toContain(requests);
      else
        expect({ id: item.credentialId, requests }).toEqual({
          id: item.credentialId,
          requests: opts.extraRequests?.has(item.secret) ? 2 : 1,
        });
    }
    // Outbox drained.
    await waitFor('outbox drained', async () => (await db.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'))[0].n === 0, 60_000);
    // Every gateway hears its latest config version, each version once, each message signed.
    for (const item of items) {
      const [{ config_version: latest }] = await db.query('SELECT config_version FROM gateways WHERE id = $1', [item.gatewayId]);
      const received = await waitFor(
        `webhook for ${item.gatewayId} v${latest}`,
        () => {
          const got = sink.to(item.path);
          return got.some((r) => JSON.parse(r.body).configVersion === latest) && got;
        },
        60_000,
      );
      const versions = received.map((r) => JSON.parse(r.body).configVersion as number);
      const ids = received.map((r) => r.headers['webhook-id']);
      if (opts.replicationLoss) {
        // A delivery replayed after a lost completion carries its first webhook-id: the receiver drops it.
        expect(new Set(ids).size).toBe(new Set(versions).size);
      } else {
        expect(new Set(versions).size).toBe(versions.length);
        expect(new Set(ids).size).toBe(received.length);
      }
      for (const r of received) expect(verifyStandardWebhook(item.signingSecret, r)).toBe(true);
    }
    // Each validation job completed once, with one attempt.
    const config = loadConfig({ ...process.env, ...TEST_ENV, REDIS_CLUSTER_NODES: cluster.seeds(), QUEUE_PREFIX: prefix });
    const backend = createQueueBackend({ ...config, databaseUrl: TEST_DATABASE_URL });
    const queues = createQueues(backend, { view: true });
    try {
      for (const item of items) {
        const id = `validate-credential-${item.credentialId}-v1`;
        if (opts.replicationLoss) {
          // The promoted replica may hold the job as still active (its completion was not replicated):
          // its lock lapses, it is taken over and completes. Waited for, not assumed.
          await waitFor(`${id} completed`, async () => (await (await queues.credentials.getJob(id))?.getState()) === 'completed', 90_000);
          continue;
        }
        const job = await queues.credentials.getJob(id);
        expect(job && { state: await job.getState(), attempts: job.attemptsMade }).toEqual({ state: 'completed', attempts: 1 });
      }
      const schedulers = await queues.maintenance.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual(
        schedulerSpecs(config)
          .map((s) => s.id)
          .sort(),
      );
    } finally {
      await closeQueues(queues);
      await backend.close();
    }
  }

  it('steady state: every invariant holds', async () => {
    await expectInvariants(await load(12, 'steady'));
    for (const api of apis) expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('CLUSTER FAILOVER of a replica mid-load', async () => {
    const batch = load(16, 'failover');
    // The replica of the master serving the credentials queue: the queue changes hands mid-load.
    const master = await cluster.masterOf(`${queueKeyPrefix(prefix, 'credentials', true)}:credentials:wait`);
    const replica = (await cluster.topology()).find((n) => n.role === 'replica' && n.masterPort === master && !n.failed)!;
    await new Promise((r) => setTimeout(r, 300));
    await cluster.failover(replica.port);
    // The promoted node is master at once; the other nodes learn it by gossip, a moment later.
    const key = `${queueKeyPrefix(prefix, 'credentials', true)}:credentials:wait`;
    await waitFor('the cluster to show the promoted master', async () => (await cluster.masterOf(key)) === replica.port, 15_000);
    const items = await batch;
    await cluster.waitOk();
    await expectInvariants(items);
  }, 120_000);

  it('SIGKILL of a worker mid-job: the job is taken over once and logged with its queue and id', async () => {
    const t = asTestApp(apis[1]);
    const { tenant, admin } = await tenantWithTokens(t);
    // Only worker-0 runs while the hung job is picked up, so it is the one that holds it.
    await Promise.all(workers.slice(1).map((w) => w.stop()));
    const hung = openaiKey();
    fake.script(hung, fake.respond.hang());
    fake.allow(hung);
    const path = '/killed-worker';
    const gw = await createGatewayWithWebhook(t, admin, tenant.id, sink.url(path));
    const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: hung });
    await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: credential.id });
    await waitFor('worker-0 to call the provider', () => requestsWith(fake, hung).length === 1);
    // Two fresh workers join, then the one holding the job dies without a word.
    const fresh = await Promise.all([1, 2].map((i) => startWorkerProcess(env([cluster.ports[i], cluster.ports[i + 3]]), `worker-${i}b`)));
    await workers[0].kill();
    workers = fresh;
    const others = await load(6, 'worker-kill');
    const item: Item = { credentialId: credential.id, secret: hung, gatewayId: gw.gateway.id, path, signingSecret: gw.signingSecret };
    await expectInvariants([...others, item], { extraRequests: new Set([hung]) });
    const stalled = fresh.flatMap((w) => w.lines).filter((l) => /stalled job taken over/.test(l));
    expect(stalled.some((l) => l.includes(`validate-credential-${credential.id}-v1`) && l.includes('"queue":"credentials"'))).toBe(true);
  }, 180_000);

  it('SIGKILL of a master mid-load: its replica takes over', async () => {
    const batch = load(16, 'master-kill');
    const key = `${queueKeyPrefix(prefix, 'credentials', true)}:credentials:wait`;
    const master = await cluster.masterOf(key);
    await new Promise((r) => setTimeout(r, 300));
    cluster.kill(master);
    const items = await batch;
    await cluster.waitOk(60_000);
    await waitFor('a replica to serve the credentials queue', async () => (await cluster.masterOf(key)) !== master, 30_000);
    await expectInvariants(items, { replicationLoss: true });
    for (const api of apis) await waitFor('readyz 200 after failover', async () => (await fetch(`${api.url}/readyz`)).status === 200, 30_000);
  }, 180_000);
});
