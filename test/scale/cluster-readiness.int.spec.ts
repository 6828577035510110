import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { DataSource } from 'typeorm';
import { createQueueBackend, QueueStoreError } from '../../src/queue/backend';
import { registerHealthRoutes } from '../../src/http/health';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-redis-cluster';
import { freePort } from '../helpers/private-redis';
import { TEST_DATABASE_URL, TEST_REDIS_CLUSTER, TEST_REDIS_URL } from '../helpers/test-env';
import { openDb, waitFor } from '../e2e/e2e-support';

/**
 * Start-up messages on a wrong node list or a cluster that cannot serve, and /readyz that fails
 * when the queues' slots cannot be written, on a cluster of this suite's own (it breaks it).
 */
const describeCluster = TEST_REDIS_CLUSTER ? describe : describe.skip;
const node = (port: number, host = '127.0.0.1') => ({ host, port });
const settings = (nodes: { host: string; port: number }[]) => ({ nodes, username: null, password: null, tls: false });
const backendOn = (nodes: { host: string; port: number }[], log?: { warn: (m: string) => void }) =>
  createQueueBackend(
    {
      queue: { backend: 'redis', prefix: `kp-ready-${randomUUID().slice(0, 6)}` },
      redisUrl: null,
      redisCluster: settings(nodes),
      databaseUrl: TEST_DATABASE_URL,
    },
    log && { warn: (...args: unknown[]) => log.warn(String(args[args.length - 1])) },
  );

describeCluster('Redis Cluster start-up and readiness', () => {
  let cluster: PrivateRedisCluster;
  let db: DataSource;
  beforeAll(async () => {
    [cluster, db] = await Promise.all([startPrivateRedisCluster(), openDb()]);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await db?.destroy();
  });

  it('refuses to start on a node list that names a server without cluster mode', async () => {
    const single = new URL(TEST_REDIS_URL);
    const backend = backendOn([node(Number(single.port), single.hostname)]);
    await expect(backend.assertUsable()).rejects.toThrow(QueueStoreError);
    await expect(backend.assertUsable()).rejects.toThrow(/runs without cluster mode \(cluster_enabled:0\).*set REDIS_URL/);
    await backend.close();
  });

  it('says clearly when no seed node answers, and waits', async () => {
    const warnings: string[] = [];
    const dead = [await freePort(), await freePort()];
    const backend = backendOn(
      dead.map((p) => node(p)),
      { warn: (m) => warnings.push(m) },
    );
    await backend.assertUsable();
    expect(warnings.join('\n')).toMatch(new RegExp(`none of the REDIS_CLUSTER_NODES answers \\(127\\.0\\.0\\.1:${dead[0]}: ECONNREFUSED`));
    await backend.close();
  });

  it('/readyz: 200 while every queue slot can be written; 503 when a shard has no master; /healthz stays 200', async () => {
    const backend = backendOn([node(cluster.ports[0])]);
    await backend.assertUsable();
    const app = Fastify();
    registerHealthRoutes(app, db, backend);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const get = async (path: string) => {
      const r = await fetch(`${url}${path}`);
      return { statusCode: r.status, body: await r.json() };
    };
    try {
      await waitFor('ready', async () => (await get('/readyz')).statusCode === 200, 10_000);
      // A master and its replica gone: their slots have no owner, the cluster state is fail.
      const topology = await cluster.topology();
      const master = topology.find((n) => n.role === 'master' && n.port !== cluster.ports[0])!;
      const replica = topology.find((n) => n.masterPort === master.port)!;
      cluster.kill(replica.port);
      cluster.kill(master.port);
      const res = await waitFor(
        'readyz 503',
        async () => {
          const r = await get('/readyz');
          return r.statusCode === 503 && r;
        },
        20_000,
      );
      expect(res.body).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'failed' } });
      expect((await get('/healthz')).statusCode).toBe(200);
      // The start-up check now names the failed state.
      const warnings: string[] = [];
      const late = backendOn([node(cluster.ports[0])], { warn: (m) => warnings.push(m) });
      await waitFor(
        'cluster_state:fail on the survivors',
        async () => {
          warnings.length = 0;
          await late.assertUsable();
          return warnings.some((w) => /Redis Cluster state is "fail"/.test(w));
        },
        20_000,
      );
      await late.close();
    } finally {
      await app.close();
      await backend.close();
    }
  }, 60_000);
});
