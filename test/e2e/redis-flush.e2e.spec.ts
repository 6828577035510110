import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createCredential, createGatewayWithWebhook, openaiKey, tenantWithTokens } from '../factories';
import { attachCredential } from '../factories/credentials';
import { DEFAULT_MODELS, startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { startWebhookSink, type WebhookSink } from '../fakes/webhook-sink';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { onPostgresQueues } from '../helpers/queue-backend';
import { schedulerSpecs } from '../../workers/schedulers';
import { asTestApp, fakeProviderVia, openDb, queuesOn, requestsWith, settleForeignOutbox, uniquePrefix, waitFor } from './e2e-support';

/*
 * Redis loses its data mid-load (FLUSHALL on a private Redis): the queue store is not the source
 * of truth, so the reconciler brings back from PostgreSQL what it held. The schedulers come back,
 * checks parked by a provider's Retry-After and a webhook put off by a receiver's Retry-After are
 * re-created and complete, today's rotation reminders are recorded; nothing with an outside effect
 * runs twice (provider requests and webhook deliveries are counted).
 */
// Redis-only: on the postgres queue backend the jobs live in PostgreSQL itself, with the data.
(onPostgresQueues ? describe.skip : describe)('Redis flushed mid-load', () => {
  let redis: PrivateRedis;
  let db: DataSource;
  let api: ApiProcess;
  let workers: KeyplaneProcess[];
  let fake: FakeProvider;
  let sink: WebhookSink;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    [redis, db, fake, sink] = await Promise.all([startPrivateRedis(), openDb(), startFakeProvider(), startWebhookSink()]);
    await settleForeignOutbox(db);
    const env = { QUEUE_BACKEND: 'redis', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, RECONCILE_INTERVAL_SECONDS: '5' };
    [api, ...workers] = await Promise.all([startApiProcess(env), startWorkerProcess(env, 'worker-1'), startWorkerProcess(env, 'worker-2')]);
  }, 60_000);

  afterAll(async () => {
    await killAllProcesses();
    await killAllPrivateRedis();
    await fake?.close();
    await sink?.close();
    await db?.destroy();
  });

  it('brings back schedulers, parked checks and deliveries from PostgreSQL, running nothing twice', async () => {
    const t = asTestApp(api);
    const providerId = await fakeProviderVia(api, fake);
    const { tenant, admin } = await tenantWithTokens(t);
    const models = { object: 'list', data: DEFAULT_MODELS.map((id) => ({ id, object: 'model' })) };
    // A serving key whose rotation reminder is due today, which the lost daily sweep would have recorded.
    const due = openaiKey();
    fake.allow(due);
    const dueId = (await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: due })).id;
    await waitFor(
      'the due key to serve',
      async () => (await db.query('SELECT status FROM credentials WHERE id = $1', [dueId]))[0].status === 'ACTIVE',
    );
    await db.query(`UPDATE credentials SET rotate_by = now() + interval '6 days' WHERE id = $1`, [dueId]);

    // In flight at the flush: the provider answers after 3 s.
    const slow = [openaiKey(), openaiKey()];
    // Parked at the flush: the provider said 429, Retry-After 60 s (a delayed job in Redis).
    const parked = [openaiKey(), openaiKey()];
    const ids = new Map<string, string>();
    for (const secret of [...slow, ...parked]) {
      fake.allow(secret);
      if (slow.includes(secret)) fake.script(secret, { ...fake.respond.json(200, models), delayMs: 3_000 });
      else fake.script(secret, fake.respond.rateLimited(60));
      ids.set(secret, (await createCredential(t, admin, { tenantId: tenant.id, providerId, secret })).id);
    }
    // A reload message the receiver put off (503, Retry-After 60 s): RETRYING, its job delayed in Redis.
    const path = '/flush-hook';
    sink.scriptFor(path, { status: 503, headers: { 'retry-after': '60' } });
    const gw = await createGatewayWithWebhook(t, admin, tenant.id, sink.url(path));
    await waitFor('the parked checks', () => parked.every((s) => requestsWith(fake, s).length === 1), 20_000);
    await waitFor('the slow checks to be in flight', () => slow.every((s) => requestsWith(fake, s).length === 1), 20_000);
    await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: ids.get(parked[0])! });
    await waitFor(
      'the reload delivery to be put off',
      async () => (await db.query(`SELECT status FROM webhook_deliveries WHERE target_id = $1`, [gw.gateway.id]))[0]?.status === 'RETRYING',
      20_000,
    );

    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();

    // Every scheduler the worker registers (workers/schedulers.ts), whichever modules added theirs.
    const EXPECTED = schedulerSpecs({ sweepCron: '0 3 * * *' })
      .map((s) => s.id)
      .sort();
    const q = queuesOn(redis.url, prefix);
    try {
      const schedulers = await waitFor(
        'the schedulers to come back',
        async () => {
          const found = await q.queues.maintenance.getJobSchedulers();
          return found.length === EXPECTED.length && found;
        },
        // The watch looks every 5 s; the reconciler then waits out in-flight calls (provider timeout + 2 s).
        60_000,
      );
      expect(schedulers.map((s) => s.key).sort()).toEqual(EXPECTED);
    } finally {
      await q.close();
    }
    const statuses = async () =>
      (await db.query('SELECT status FROM credentials WHERE id = ANY($1)', [[...ids.values()]])).map((r: { status: string }) => r.status);
    await waitFor('every key to be checked', async () => (await statuses()).every((s: string) => s === 'ACTIVE'), 60_000);
    const delivered = await waitFor(
      'the put-off reload to be delivered',
      async () => {
        const [row] = await db.query(`SELECT id, status FROM webhook_deliveries WHERE target_id = $1 ORDER BY created_at LIMIT 1`, [gw.gateway.id]);
        return row?.status === 'DELIVERED' && row;
      },
      60_000,
    );
    await waitFor(
      "today's rotation reminder",
      async () => (await db.query('SELECT 1 FROM rotation_reminders WHERE credential_id = $1', [dueId])).length === 1,
      30_000,
    );

    // Let another reconciler run or two pass: nothing more may happen.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    // The in-flight checks recorded their answer and were not sent again; each parked one went once more.
    for (const s of slow) expect(requestsWith(fake, s)).toHaveLength(1);
    for (const s of parked) expect(requestsWith(fake, s)).toHaveLength(2);
    // Per message: the put-off one twice (the 503, then its one delivery); any later one (the parked
    // key starting to serve reloads the gateway again) once.
    const perMessage = new Map<string, number>();
    for (const r of sink.to(path)) perMessage.set(String(r.headers['webhook-id']), (perMessage.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    const putOff = `msg_${delivered.id.replace(/-/g, '')}`;
    expect(perMessage.get(putOff)).toBe(2);
    for (const [id, n] of perMessage) if (id !== putOff) expect(n).toBe(1);
    expect(workers.some((w) => w.lines.some((l) => l.includes('reconciler re-created work')))).toBe(true);
  }, 180_000);
});
