import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { loadConfig } from '../../src/config';
import { createLiveEvents } from '../../src/events';
import { createKeyCheckRedis } from '../../src/modules/key-check/key-check-redis';
import { redisKeyCheckStore } from '../../src/modules/key-check/key-check-store';
import { KeyCheckLimiter } from '../../src/modules/key-check/key-check-limiter';
import { redisTargetOf } from '../../src/queue/connection';
import { queueKeyPrefix } from '../../src/queue/key-layout';
import { closeQueues, createQueues } from '../../src/queue/queues';
import { QUEUES } from '../../src/queue/registry';
import { schedulerSpecs, upsertSchedulers } from '../../workers/schedulers';
import type { PrivateRedisCluster } from '../helpers/private-redis-cluster';
import { testQueueBackend } from '../helpers/queue-backend';
import { TEST_ENV, TEST_REDIS_CLUSTER } from '../helpers/test-env';
import { eventually } from '../helpers/test-worker';

/**
 * Queues, workers, schedulers, live events and key-check limits on the `scale` project's private
 * Redis Cluster (3 masters, 3 replicas; test/helpers/scale-setup.ts).
 */
const cluster = () => (globalThis as { keyplaneTestCluster?: PrivateRedisCluster }).keyplaneTestCluster!;
const describeCluster = TEST_REDIS_CLUSTER ? describe : describe.skip;

describeCluster('on a Redis Cluster', () => {
  const prefix = `kp-cl-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ ...process.env, ...TEST_ENV, QUEUE_PREFIX: prefix });

  it('spreads the queues over the masters, each queue in one slot', async () => {
    // The default prefix: slots are a fixed function of the key, and `redis-cli --cluster create`
    // gives 3 masters fixed slot ranges, so this is deterministic (a random prefix would put all 4
    // queues on one master about once in 27 runs).
    const masters = new Set(await Promise.all(QUEUES.map((q) => cluster().masterOf(`${queueKeyPrefix('keyplane', q, true)}:${q}:wait`))));
    expect(masters.size).toBeGreaterThan(1);
  });

  it('runs jobs through workers on every queue and registers schedulers once from many processes', async () => {
    const backends = [testQueueBackend(prefix), testQueueBackend(prefix)];
    const queues = backends.map((b) => createQueues(b));
    const seen: string[] = [];
    const workers: Worker[] = backends.flatMap((b) =>
      QUEUES.map((q) =>
        b.worker(
          q,
          async (job: Job) => {
            seen.push(`${q}/${job.id}`);
          },
          { concurrency: 4 },
        ),
      ),
    );
    try {
      for (const q of QUEUES) for (let i = 0; i < 10; i++) await queues[i % 2][q].add('probe', {}, { jobId: `${q}-${i}` });
      await eventually(async () => seen.length === QUEUES.length * 10, 15_000);
      expect(new Set(seen).size).toBe(QUEUES.length * 10);
      // Two "processes" start at once, then one restarts: the schedulers exist once each.
      await Promise.all(queues.map((qs) => upsertSchedulers(qs, config)));
      await upsertSchedulers(queues[0], config);
      const schedulers = await queues[1].maintenance.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual(
        schedulerSpecs(config)
          .map((s) => s.id)
          .sort(),
      );
      for (const b of backends) await expect(b.ping()).resolves.toBeUndefined();
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(Object.values(queues[0]).map((q) => q.obliterate({ force: true })));
      for (const qs of queues) await closeQueues(qs);
      for (const b of backends) await b.close();
    }
  });

  it('delivers live events to API processes connected through different nodes (sharded pub/sub)', async () => {
    const ports = cluster().ports;
    const busOf = (seeds: number[]) =>
      createLiveEvents({ ...config, redisCluster: { ...config.redisCluster!, nodes: seeds.map((port) => ({ host: '127.0.0.1', port })) } });
    const [apiA, apiB, worker] = [busOf([ports[0]]), busOf([ports[4], ports[5]]), busOf([ports[2]])];
    try {
      const a = apiA.subscribe('CREDENTIAL_CHANGED', 'tenant-1')[Symbol.asyncIterator]();
      const b = apiB.subscribe('CREDENTIAL_CHANGED', 'tenant-1')[Symbol.asyncIterator]();
      const other = apiB.subscribe('CREDENTIAL_CHANGED', 'tenant-2')[Symbol.asyncIterator]();
      const gotA = a.next();
      const gotB = b.next();
      let otherGot = false;
      void other.next().then(() => (otherGot = true));
      // Subscriptions are asynchronous: publish until both have heard one.
      const event = { tenantId: 'tenant-1', credentialId: 'cred-1' };
      const timer = setInterval(() => void worker.publish('CREDENTIAL_CHANGED', event), 100);
      try {
        expect((await gotA).value).toEqual(event);
        expect((await gotB).value).toEqual(event);
      } finally {
        clearInterval(timer);
      }
      expect(otherGot).toBe(false);
    } finally {
      await Promise.all([apiA.close(), apiB.close(), worker.close()]);
    }
  });

  it('shares key-check limits between API processes, per tenant, on the cluster (one slot per step)', async () => {
    const limits = { ...config.keyChecks, tenantLimit: 3, tokenLimit: 100, periodMs: 60_000 };
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, m?: string) => warnings.push(String(m)), info: () => undefined };
    const stores = [0, 1].map(() => redisKeyCheckStore(createKeyCheckRedis(redisTargetOf(config))));
    await Promise.all(stores.map((s) => s.ready(5_000)));
    const limiters = stores.map((store) => new KeyCheckLimiter({ store, prefix, limits, log, onRepeatedLimit: () => undefined }));
    try {
      for (const tenant of ['t-a', 't-b', 't-c', 't-d', 't-e']) {
        const results: boolean[] = [];
        for (let i = 0; i < 5; i++) {
          results.push(
            await limiters[i % 2].take({ tenantId: `${prefix}-${tenant}`, tokenId: 'tok', kind: 'TEST_PROVIDER_KEY' }).then(
              () => true,
              () => false,
            ),
          );
        }
        expect(results).toEqual([true, true, true, false, false]);
      }
      // Answered by the cluster every time: no fallback to per-process memory (a CROSSSLOT would).
      expect(warnings).toEqual([]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
