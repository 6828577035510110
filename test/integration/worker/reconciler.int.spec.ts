import { randomUUID } from 'node:crypto';
import { createLogger } from '../../../src/logger';
import { closeQueues, createQueues, enqueue, type Queues } from '../../../src/queue/queues';
import type { QueueBackend } from '../../../src/queue/backend';
import { reconcile, type ReconcileDeps } from '../../../workers/reconciler';
import { schedulerSpecs, upsertSchedulers } from '../../../workers/schedulers';
import { createCredential, createGatewayWithWebhook, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { dropQueueNamespace, prepareQueueNamespace, testQueueBackend, testQueueConfig } from '../../helpers/queue-backend';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/**
 * The reconciler re-creates from PostgreSQL what the queue store should hold but does not, on the
 * test queue backend (either one). Its queues have no worker, so what it re-creates stays there
 * to be looked at.
 */
let t: TestApp;
let providerId: string;
const spare: { queues: Queues; backend: QueueBackend; prefix: string }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  providerId = await createFakeOpenAIProvider(t, 'http://127.0.0.1:9');
});

afterAll(async () => {
  for (const { queues, backend, prefix } of spare) {
    await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true })));
    await closeQueues(queues);
    await backend.close();
    await dropQueueNamespace(prefix);
  }
  await t?.close();
});

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);

async function emptyStore(): Promise<ReconcileDeps> {
  const prefix = `kp-rec-${randomUUID().slice(0, 8)}`;
  await prepareQueueNamespace(prefix);
  const backend = testQueueBackend(prefix);
  const queues = createQueues(backend);
  spare.push({ queues, backend, prefix });
  const config = { ...testQueueConfig(prefix), reconcileIntervalMs: 120_000 };
  return { db: t.app.db, queues, log: createLogger('silent'), config };
}

/** Everything this suite's earlier tests left open is settled, so each test sees only its own rows. */
async function settleOthers(): Promise<void> {
  await q(`UPDATE webhook_deliveries SET status = 'DEAD', dead_at = now() WHERE status IN ('PENDING', 'RETRYING')`);
  await q(`UPDATE credential_versions SET last_validated_at = now() WHERE state = 'PENDING' AND last_validated_at IS NULL`);
  await q('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
}

async function pendingCredential(tenantId: string, admin: string): Promise<string> {
  const { id } = await createCredential(t, admin, { tenantId, providerId, secret: openaiKey() });
  return id;
}

async function delivery(tenantId: string, kind: 'GATEWAY_RELOAD' | 'ROTATION_REMINDER', targetId: string, status: string): Promise<string> {
  const [row] = await q(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status, attempts)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, CASE WHEN $6 = 'PENDING' THEN 0 ELSE 1 END) RETURNING id`,
    [tenantId, kind, targetId, `test:${randomUUID()}`, JSON.stringify({ type: 'test', tenantId }), status],
  );
  return row.id as string;
}

const jobIds = async (deps: ReconcileDeps, queue: keyof Queues) =>
  (await deps.queues[queue].getJobs(['waiting', 'delayed', 'prioritized', 'active'], 0, -1)).map((j) => j.id).sort();

describe('reconciler', () => {
  it('upserts lost schedulers and runs one rotation sweep for the reminders their loss may have skipped', async () => {
    await settleOthers();
    const deps = await emptyStore();
    const report = await reconcile(deps, { settleMs: 10 });
    // Every scheduler the worker runs (workers/schedulers.ts), whichever modules added theirs.
    expect(report.schedulers.sort()).toEqual(
      schedulerSpecs(deps.config)
        .map((s) => s.id)
        .sort(),
    );
    expect(report.schedulers).toEqual(
      expect.arrayContaining(['daily-revalidation', 'daily-rotation-reminders', 'hourly-retire-previous', 'reconcile-queues']),
    );
    expect(report.catchUp).toEqual(['rotation-sweep']);
    expect((await deps.queues.maintenance.getJobSchedulers()).map((s) => s.key).sort()).toEqual(report.schedulers.sort());
    expect(await deps.queues.maintenance.getJob('rotation-sweep')).toBeTruthy();
    // All there now: the next run upserts nothing and sweeps nothing again.
    expect(await reconcile(deps, { settleMs: 10 })).toMatchObject({ schedulers: [], catchUp: [] });
  });

  it('re-creates the first check of a pending key version that has no job, and nothing else', async () => {
    await settleOthers();
    const deps = await emptyStore();
    await upsertSchedulers(deps.queues, deps.config);
    const { tenant, admin } = await tenantWithTokens(t);
    const lost = await pendingCredential(tenant.id, admin);
    const queued = await pendingCredential(tenant.id, admin);
    const checked = await pendingCredential(tenant.id, admin);
    const revoked = await pendingCredential(tenant.id, admin);
    await enqueue(deps.queues, 'validate-credential', { tenantId: tenant.id, credentialId: queued, version: 1 });
    await q('UPDATE credential_versions SET last_validated_at = now() WHERE credential_id = $1', [checked]);
    await q(`UPDATE credentials SET revoked_at = now(), status = 'REVOKED' WHERE id = $1`, [revoked]);
    await q('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');

    const report = await reconcile(deps, { settleMs: 10 });
    expect(report).toMatchObject({ validations: 1, deliveries: 0 });
    expect(await jobIds(deps, 'credentials')).toEqual([`validate-credential-${lost}-v1`, `validate-credential-${queued}-v1`].sort());
    const job = await deps.queues.credentials.getJob(`validate-credential-${lost}-v1`);
    expect(job?.data).toEqual({ tenantId: tenant.id, credentialId: lost, version: 1 });
    // Idempotent: the same id again adds nothing.
    expect(await reconcile(deps, { settleMs: 10 })).toMatchObject({ validations: 0 });
    expect(await jobIds(deps, 'credentials')).toHaveLength(2);
  });

  it('re-creates the job of a delivery neither settled nor held, never of a delivered, dead or held one', async () => {
    await settleOthers();
    const deps = await emptyStore();
    await upsertSchedulers(deps.queues, deps.config);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGatewayWithWebhook(t, admin, tenant.id, 'http://127.0.0.1:9/hook');
    const busy = await createGatewayWithWebhook(t, admin, tenant.id, 'http://127.0.0.1:9/busy');
    const outboxed = await createGatewayWithWebhook(t, admin, tenant.id, 'http://127.0.0.1:9/outboxed');
    await q('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
    const reminder = await delivery(tenant.id, 'ROTATION_REMINDER', randomUUID(), 'PENDING');
    const retrying = await delivery(tenant.id, 'GATEWAY_RELOAD', gw.gateway.id, 'RETRYING');
    const driven = await delivery(tenant.id, 'GATEWAY_RELOAD', busy.gateway.id, 'RETRYING');
    const waiting = await delivery(tenant.id, 'GATEWAY_RELOAD', outboxed.gateway.id, 'PENDING');
    for (const status of ['DELIVERED', 'DEAD', 'HELD']) await delivery(tenant.id, 'ROTATION_REMINDER', randomUUID(), status);
    // A reload of `busy` still on its way drives its delivery; `outboxed` has one committed, not relayed.
    await enqueue(deps.queues, 'gateway-reload', { tenantId: tenant.id, gatewayId: busy.gateway.id, configVersion: 1, reason: 'MODE_CHANGED' });
    await q(`INSERT INTO outbox (queue, job_name, job_id, payload) VALUES ('gateways', 'gateway-reload', $1, $2::jsonb)`, [
      `gateway-reload-${outboxed.gateway.id}-c9`,
      JSON.stringify({ tenantId: tenant.id, gatewayId: outboxed.gateway.id, configVersion: 9, reason: 'MODE_CHANGED' }),
    ]);

    const report = await reconcile(deps, { settleMs: 10 });
    expect(report).toMatchObject({ deliveries: 2 });
    expect(await jobIds(deps, 'notifications')).toEqual([`deliver-webhook-${reminder}-r0`, `deliver-webhook-${retrying}-r0`].sort());
    expect([driven, waiting].every((id) => id)).toBe(true);
    expect(await reconcile(deps, { settleMs: 10 })).toMatchObject({ deliveries: 0 });
    await q('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  });

  it('leaves a delivery alone when a try in flight records an attempt during the settle wait', async () => {
    await settleOthers();
    const deps = await emptyStore();
    await upsertSchedulers(deps.queues, deps.config);
    const { tenant } = await tenantWithTokens(t);
    const inFlight = await delivery(tenant.id, 'ROTATION_REMINDER', randomUUID(), 'RETRYING');
    const run = reconcile(deps, { settleMs: 1_000 });
    await new Promise((r) => setTimeout(r, 300));
    await q(`UPDATE webhook_deliveries SET attempts = attempts + 1, updated_at = now() WHERE id = $1`, [inFlight]);
    expect(await run).toMatchObject({ deliveries: 0 });
    expect(await jobIds(deps, 'notifications')).toEqual([]);
  });

  it('runs one at a time across workers (an advisory lock)', async () => {
    await settleOthers();
    const deps = await emptyStore();
    const { tenant } = await tenantWithTokens(t);
    await delivery(tenant.id, 'ROTATION_REMINDER', randomUUID(), 'PENDING');
    const [a, b] = await Promise.all([reconcile(deps, { settleMs: 500 }), reconcile(deps, { settleMs: 500 })]);
    expect([a.skipped, b.skipped].filter(Boolean)).toEqual(['RUNNING']);
    expect(await jobIds(deps, 'notifications')).toHaveLength(1);
    await settleOthers();
  });
});

describe('replayWebhookDelivery of a delivery whose job was lost', () => {
  const REPLAY = `mutation($input: ReplayWebhookDeliveryInput!) {
    replayWebhookDelivery(input: $input) { delivery { id status replayCount } userErrors { code } }
  }`;

  it('replays a RETRYING delivery no job will send, and refuses one whose job is still queued', async () => {
    await settleOthers();
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGatewayWithWebhook(t, admin, tenant.id, 'http://127.0.0.1:9/hook');
    await q('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
    const lost = await delivery(tenant.id, 'GATEWAY_RELOAD', gw.gateway.id, 'RETRYING');
    const queued = await delivery(tenant.id, 'ROTATION_REMINDER', randomUUID(), 'RETRYING');
    // The API's own queue store (its prefix): a job for `queued`, far in the future, that no worker takes.
    const notifications = t.app.services.webhookQueues.get().notifications;
    await notifications.add(
      'deliver-webhook',
      { tenantId: tenant.id, deliveryId: queued, replay: 0 },
      { jobId: `deliver-webhook-${queued}-r0`, delay: 3_600_000 },
    );
    try {
      const replayed = await t.gql(REPLAY, { input: { id: lost } }, admin);
      expect(replayed.data.replayWebhookDelivery).toEqual({ delivery: { id: lost, status: 'PENDING', replayCount: 1 }, userErrors: [] });
      const refused = await t.gql(REPLAY, { input: { id: queued } }, admin);
      expect(refused.data.replayWebhookDelivery).toEqual({ delivery: null, userErrors: [{ code: 'DELIVERY_NOT_DEAD' }] });
      // The replay is an outbox job now: replaying again is refused until it is lost or dies again.
      const again = await t.gql(REPLAY, { input: { id: lost } }, admin);
      expect(again.data.replayWebhookDelivery.userErrors).toEqual([{ code: 'DELIVERY_NOT_DEAD' }]);
    } finally {
      await (await notifications.getJob(`deliver-webhook-${queued}-r0`))?.remove();
      await settleOthers();
    }
  });
});
