import { randomBytes, randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { EventPublisher, LiveEvents } from '../../../src/events/types';
import { enqueueInTx } from '../../../src/modules/outbox/outbox.writer';
import { createGatewayWithWebhook, expectOk, rotationDueBody, tenantWithTokens } from '../../factories';
import { fastRetries, startWebhookSink, verifyStandardWebhook, type WebhookSink } from '../../fakes/webhook-sink';
import { describeHits, dumpQueueStore, scanTexts } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { drain, eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { letTimePass } from '../../helpers/time';

/*
 * Webhook receivers respected, end to end: real API, PostgreSQL, Redis, BullMQ workers and a real
 * HTTP receiver on loopback. WEBHOOK_DISABLE_AFTER_FAILURES is 2 and WEBHOOK_RETRY_AFTER_MAX_SECONDS
 * 2 here, so the tests stay short; retries otherwise wait 50 ms (fastRetries).
 */

let t: TestApp;
let sink: WebhookSink;
let w: TestWorkers;
const events: LiveEvents['WEBHOOK_ENDPOINT_DISABLED'][] = [];
const recorder: EventPublisher = {
  publish: async (name, payload) => {
    if (name === 'WEBHOOK_ENDPOINT_DISABLED') events.push(payload as LiveEvents['WEBHOOK_ENDPOINT_DISABLED']);
  },
};
/** Secrets created along the way, for the leak scan at the end. */
const secrets: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  sink = await startWebhookSink();
  w = await startTestWorkers(t, {
    events: recorder,
    env: { WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '300', WEBHOOK_DISABLE_AFTER_FAILURES: '2', WEBHOOK_RETRY_AFTER_MAX_SECONDS: '2' },
  });
  fastRetries(w, ['gateways', 'notifications']);
});

afterAll(async () => {
  await w.close();
  await sink.close();
  await t.close();
});

const GATEWAY = `query($id: ID!) { gateway(id: $id) { id configVersion webhookDisabledAt webhookDisabledReason webhookConsecutiveFailures } }`;
const TENANT = `query($id: ID!) { tenant(id: $id) { id notificationWebhookDisabledAt notificationWebhookDisabledReason notificationWebhookConsecutiveFailures } }`;
const ALERTS = `query($tenantId: ID!, $status: WebhookEndpointAlertStatus) { webhookEndpointAlerts(tenantId: $tenantId, status: $status) {
  nodes { id tenantId endpoint gatewayId reason status lastStatusCode message createdAt resolvedAt } } }`;
const ENABLE_GATEWAY = `mutation($input: EnableGatewayWebhookInput!) { enableGatewayWebhook(input: $input) {
  gateway { id configVersion webhookDisabledAt webhookDisabledReason webhookConsecutiveFailures } userErrors { code field message } } }`;
const ENABLE_TENANT = `mutation($input: EnableTenantNotificationsInput!) { enableTenantNotifications(input: $input) {
  tenant { id notificationWebhookDisabledAt notificationWebhookDisabledReason notificationWebhookConsecutiveFailures } userErrors { code field message } } }`;

interface Gw {
  tenantId: string;
  admin: string;
  viewer: string;
  gatewayId: string;
  path: string;
  signingSecret: string;
}

/** A tenant and a gateway whose webhook URL carries a token of its own (it must never be copied anywhere). */
async function setup(): Promise<Gw> {
  const { tenant, admin, viewer } = await tenantWithTokens(t);
  const path = `/hook/${randomUUID()}`;
  const urlToken = randomBytes(24).toString('hex');
  const gw = await createGatewayWithWebhook(t, admin, tenant.id, `${sink.url(path)}?token=${urlToken}`);
  secrets.push(admin, viewer, gw.signingSecret, gw.gatewayKey, urlToken);
  return { tenantId: tenant.id, admin, viewer, gatewayId: gw.gateway.id, path, signingSecret: gw.signingSecret };
}

const bundled = new Set<string>();
/** A config change (the gateway's credential mode flips): its version goes up and a reload is queued. */
async function bump(s: Gw): Promise<number> {
  const modeFlip = !bundled.delete(s.gatewayId);
  if (modeFlip) bundled.add(s.gatewayId);
  const res = await expectOk<{ gateway: { configVersion: number } }>(
    t.gql(
      'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { configVersion } userErrors { code } } }',
      { input: { id: s.gatewayId, credentialMode: modeFlip ? 'BUNDLED' : 'USER_PROVIDED' } },
      s.admin,
    ),
    'updateGateway',
  );
  await w.relay();
  return res.gateway.configVersion;
}

const deliveries = (gatewayId: string) =>
  t.app.db.query(`SELECT * FROM webhook_deliveries WHERE target_id = $1 ORDER BY created_at`, [gatewayId]) as Promise<any[]>;
const attempts = (deliveryId: string) =>
  t.app.db.query('SELECT attempt, status_code, error_class FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt', [deliveryId]);
/** Waits until the gateway has `count` deliveries, the newest settled in `status`; returns that one. */
const settledNth = (gatewayId: string, count: number, status: string) =>
  eventually(async () => {
    const rows = await deliveries(gatewayId);
    return rows.length === count && rows[count - 1].status === status && rows[count - 1];
  }, 10_000);
const gateway = async (s: Gw) => (await t.gql(GATEWAY, { id: s.gatewayId }, s.viewer)).data.gateway;
const auditOf = (action: string, targetId: string) =>
  t.app.db.query('SELECT actor_type, actor_id, details FROM audit_events WHERE action = $1 AND target_id = $2 ORDER BY created_at', [
    action,
    targetId,
  ]) as Promise<{ actor_type: string; actor_id: string | null; details: Record<string, unknown> }[]>;

describe('Retry-After', () => {
  it('503 with Retry-After (seconds): the next attempt is not sooner, and the try is counted once', async () => {
    const s = await setup();
    sink.scriptFor(s.path, { status: 503, headers: { 'retry-after': '1' } });
    await bump(s);
    const delivered = await settledNth(s.gatewayId, 1, 'DELIVERED');
    const [first, second] = sink.to(s.path);
    expect(second.at - first.at).toBeGreaterThanOrEqual(1000);
    expect(delivered).toMatchObject({ attempts: 2, last_status_code: 200 });
    expect(await attempts(delivered.id)).toMatchObject([
      { attempt: 1, status_code: 503, error_class: 'HTTP_5XX' },
      { attempt: 2, status_code: 200, error_class: null },
    ]);
    // BullMQ agrees: two tries started, one counted as made (the put-off one did not burn an extra try).
    const job = await eventually(async () => (await w.queues.gateways.getJobs(['completed'])).find((j: Job) => j.data.gatewayId === s.gatewayId));
    expect({ made: job.attemptsMade, started: job.attemptsStarted }).toEqual({ made: 1, started: 2 });
  });

  it('429 with Retry-After as an HTTP-date: the next attempt is not before that date', async () => {
    const s = await setup();
    // 1.5 to 2.5 s from now: 0.5 to 1.5 s after the first try (which waits out the 1 s coalesce
    // window), so within WEBHOOK_RETRY_AFTER_MAX_SECONDS (2) here and the date itself decides.
    const until = new Date(Math.floor((Date.now() + 2500) / 1000) * 1000);
    sink.scriptFor(s.path, { status: 429, headers: { 'retry-after': until.toUTCString() } });
    await bump(s);
    await settledNth(s.gatewayId, 1, 'DELIVERED');
    const [first, second] = sink.to(s.path);
    expect(first.at).toBeLessThan(until.getTime());
    expect(second.at).toBeGreaterThanOrEqual(until.getTime());
  });

  it('a Retry-After beyond WEBHOOK_RETRY_AFTER_MAX_SECONDS is bounded by it', async () => {
    const s = await setup();
    sink.scriptFor(s.path, { status: 503, headers: { 'retry-after': '3600' } });
    await bump(s);
    await settledNth(s.gatewayId, 1, 'DELIVERED');
    const [first, second] = sink.to(s.path);
    expect(second.at - first.at).toBeGreaterThanOrEqual(2000);
    expect(second.at - first.at).toBeLessThan(6000);
  });
});

describe('a gateway webhook', () => {
  it('410 disables it at once: visible, audited, alerted, announced; nothing is sent until an admin re-enables it, which sends the latest version once', async () => {
    const s = await setup();
    sink.scriptFor(s.path, { status: 410 });
    await bump(s);
    const dead = await settledNth(s.gatewayId, 1, 'DEAD');
    expect(dead).toMatchObject({ attempts: 1, last_status_code: 410 });
    expect(sink.to(s.path)).toHaveLength(1);

    const g = await gateway(s);
    expect(g).toMatchObject({ webhookDisabledReason: 'GONE', webhookConsecutiveFailures: 1 });
    expect(g.webhookDisabledAt).not.toBeNull();
    const disabledAudit = await auditOf('GATEWAY_WEBHOOK_DISABLED', s.gatewayId);
    expect(disabledAudit).toMatchObject([{ actor_type: 'SYSTEM', details: { reason: 'GONE', deliveryId: dead.id, statusCode: 410 } }]);
    const alerts = (await t.gql(ALERTS, { tenantId: s.tenantId, status: 'OPEN' }, s.viewer)).data.webhookEndpointAlerts.nodes;
    expect(alerts).toMatchObject([
      {
        tenantId: s.tenantId,
        endpoint: 'GATEWAY_WEBHOOK',
        gatewayId: s.gatewayId,
        reason: 'GONE',
        status: 'OPEN',
        lastStatusCode: 410,
        resolvedAt: null,
      },
    ]);
    expect(events).toContainEqual({ tenantId: s.tenantId, alertId: alerts[0].id });

    // Two more changes while disabled: no delivery, no request.
    await bump(s);
    await letTimePass(1200);
    const latest = await bump(s);
    await drain(w, { queues: ['gateways'] });
    expect(sink.to(s.path)).toHaveLength(1);
    expect(await deliveries(s.gatewayId)).toHaveLength(1);
    const skipped = (await w.queues.gateways.getJobs(['completed'])).filter((j: Job) => j.data.gatewayId === s.gatewayId);
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((j: Job) => (j.returnvalue as { skipped?: string }).skipped === 'DISABLED')).toBe(true);

    // A viewer may not re-enable; an admin may.
    const asViewer = await t.gql(ENABLE_GATEWAY, { input: { gatewayId: s.gatewayId } }, s.viewer);
    expect(asViewer.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const enabled = await t.gql(ENABLE_GATEWAY, { input: { gatewayId: s.gatewayId } }, s.admin);
    expect(enabled.data.enableGatewayWebhook).toEqual({
      gateway: { id: s.gatewayId, configVersion: latest, webhookDisabledAt: null, webhookDisabledReason: null, webhookConsecutiveFailures: 0 },
      userErrors: [],
    });
    await w.relay();
    await eventually(async () => sink.to(s.path).length === 2, 8000);
    await letTimePass(1500); // longer than the coalesce window: nothing else may follow
    const sent = sink.to(s.path);
    expect(sent).toHaveLength(2);
    expect(JSON.parse(sent[1].body)).toMatchObject({ configVersion: latest, reason: 'WEBHOOK_REENABLED', gatewayId: s.gatewayId });
    expect(verifyStandardWebhook(s.signingSecret, sent[1])).toBe(true);
    expect((await deliveries(s.gatewayId)).map((d) => d.status)).toEqual(['DEAD', 'DELIVERED']);
    expect((await t.gql(ALERTS, { tenantId: s.tenantId, status: null }, s.viewer)).data.webhookEndpointAlerts.nodes).toMatchObject([
      { id: alerts[0].id, status: 'RESOLVED', resolvedAt: expect.any(String) },
    ]);
    expect(await auditOf('GATEWAY_WEBHOOK_ENABLED', s.gatewayId)).toMatchObject([
      { actor_type: 'API_TOKEN', details: { previousReason: 'GONE', resentConfigVersion: latest } },
    ]);

    // Enabling an enabled webhook changes, sends and audits nothing.
    const again = await t.gql(ENABLE_GATEWAY, { input: { gatewayId: s.gatewayId } }, s.admin);
    expect(again.data.enableGatewayWebhook.userErrors).toEqual([]);
    expect(await w.relay()).toBe(0);
    expect(await auditOf('GATEWAY_WEBHOOK_ENABLED', s.gatewayId)).toHaveLength(1);
  });

  it('is disabled after WEBHOOK_DISABLE_AFTER_FAILURES (2) dead deliveries in a row; a delivered one resets the count', async () => {
    const s = await setup();
    const fail3 = () => sink.scriptFor(s.path, ...Array.from({ length: 3 }, () => ({ status: 500 })));
    fail3();
    await bump(s);
    await settledNth(s.gatewayId, 1, 'DEAD');
    expect(await gateway(s)).toMatchObject({ webhookDisabledAt: null, webhookConsecutiveFailures: 1 });

    await bump(s);
    await settledNth(s.gatewayId, 2, 'DELIVERED');
    expect(await gateway(s)).toMatchObject({ webhookDisabledAt: null, webhookConsecutiveFailures: 0 });

    fail3();
    await bump(s);
    await settledNth(s.gatewayId, 3, 'DEAD');
    expect(await gateway(s)).toMatchObject({ webhookDisabledAt: null, webhookConsecutiveFailures: 1 });
    fail3();
    await bump(s);
    await settledNth(s.gatewayId, 4, 'DEAD');
    expect(await gateway(s)).toMatchObject({ webhookDisabledReason: 'CONSECUTIVE_FAILURES', webhookConsecutiveFailures: 2 });
    expect(sink.to(s.path)).toHaveLength(3 + 1 + 3 + 3); // every try of every delivery, no more
    const alerts = (await t.gql(ALERTS, { tenantId: s.tenantId, status: 'OPEN' }, s.viewer)).data.webhookEndpointAlerts.nodes;
    expect(alerts).toMatchObject([{ endpoint: 'GATEWAY_WEBHOOK', reason: 'CONSECUTIVE_FAILURES', lastStatusCode: 500 }]);
    expect(await auditOf('GATEWAY_WEBHOOK_DISABLED', s.gatewayId)).toMatchObject([
      { actor_type: 'SYSTEM', details: { reason: 'CONSECUTIVE_FAILURES', consecutiveFailures: 2 } },
    ]);
  });
});

describe("a tenant's notification webhook", () => {
  it('410 disables it; later messages are HELD, not sent; re-enabling sends every one it missed, with its own webhook-id', async () => {
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    const path = `/notify/${randomUUID()}`;
    const updated = await expectOk<{ notificationSigningSecret: string }>(
      t.gql(
        'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { notificationSigningSecret userErrors { code } } }',
        { input: { id: tenant.id, notificationWebhookUrl: sink.url(path) } },
        admin,
      ),
      'updateTenant',
    );
    secrets.push(admin, viewer, updated.notificationSigningSecret);
    const reminder = async (): Promise<string> => {
      const reminderId = randomUUID();
      const payload = rotationDueBody(tenant.id, reminderId);
      const [row] = await t.app.db.query(
        `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status)
         VALUES ($1, 'ROTATION_REMINDER', $2, $3, $4::jsonb, 'PENDING') RETURNING id`,
        [tenant.id, reminderId, `rotation-reminder:${reminderId}`, JSON.stringify(payload)],
      );
      await t.app.db.transaction((tx) => enqueueInTx(tx, 'deliver-webhook', { tenantId: tenant.id, deliveryId: row.id, replay: 0 }));
      await w.relay();
      return row.id as string;
    };
    const statusOf = async (id: string) => (await t.app.db.query('SELECT status FROM webhook_deliveries WHERE id = $1', [id]))[0].status;

    sink.scriptFor(path, { status: 410 });
    const gone = await reminder();
    await eventually(async () => (await statusOf(gone)) === 'DEAD', 8000);
    const disabled = (await t.gql(TENANT, { id: tenant.id }, viewer)).data.tenant;
    expect(disabled).toMatchObject({ notificationWebhookDisabledReason: 'GONE', notificationWebhookConsecutiveFailures: 1 });
    expect(disabled.notificationWebhookDisabledAt).not.toBeNull();
    const alerts = (await t.gql(ALERTS, { tenantId: tenant.id, status: 'OPEN' }, viewer)).data.webhookEndpointAlerts.nodes;
    expect(alerts).toMatchObject([{ endpoint: 'TENANT_NOTIFICATIONS', gatewayId: null, reason: 'GONE', lastStatusCode: 410 }]);
    expect(events).toContainEqual({ tenantId: tenant.id, alertId: alerts[0].id });
    expect(await auditOf('TENANT_NOTIFICATIONS_DISABLED', tenant.id)).toMatchObject([{ actor_type: 'SYSTEM', details: { reason: 'GONE' } }]);

    const held = await reminder();
    await eventually(async () => (await statusOf(held)) === 'HELD', 8000);
    await drain(w, { queues: ['notifications'] });
    expect(sink.to(path)).toHaveLength(1);
    const listed = await t.gql(
      `query($id: ID!) { webhookDeliveries(tenantId: $id, status: HELD) { nodes { id attemptCount } } }`,
      { id: tenant.id },
      viewer,
    );
    expect(listed.data.webhookDeliveries.nodes).toEqual([{ id: held, attemptCount: 0 }]);

    const enabled = await t.gql(ENABLE_TENANT, { input: { tenantId: tenant.id } }, admin);
    expect(enabled.data.enableTenantNotifications).toEqual({
      tenant: {
        id: tenant.id,
        notificationWebhookDisabledAt: null,
        notificationWebhookDisabledReason: null,
        notificationWebhookConsecutiveFailures: 0,
      },
      userErrors: [],
    });
    await w.relay();
    await eventually(async () => (await statusOf(gone)) === 'DELIVERED' && (await statusOf(held)) === 'DELIVERED', 8000);
    const sent = sink.to(path);
    expect(sent).toHaveLength(3);
    const idOf = (d: string) => `msg_${d.replace(/-/g, '')}`;
    expect(sent.map((r) => r.headers['webhook-id']).sort()).toEqual([idOf(gone), idOf(gone), idOf(held)].sort());
    expect(sent.every((r) => verifyStandardWebhook(updated.notificationSigningSecret, r))).toBe(true);
    expect(await auditOf('TENANT_NOTIFICATIONS_ENABLED', tenant.id)).toMatchObject([{ actor_type: 'API_TOKEN', details: { resentDeliveries: 2 } }]);
    expect((await t.gql(ALERTS, { tenantId: tenant.id, status: 'OPEN' }, viewer)).data.webhookEndpointAlerts.nodes).toEqual([]);
  });
});

describe('another tenant', () => {
  /** Tenant A with its gateway webhook and notification webhook disabled (as the worker leaves them), and its alert. */
  async function disabledWorld() {
    const a = await setup();
    await t.app.db.query(`UPDATE gateways SET webhook_disabled_at = now(), webhook_disabled_reason = 'GONE' WHERE id = $1`, [a.gatewayId]);
    await t.app.db.query(
      `UPDATE tenants SET notification_webhook_disabled_at = now(), notification_webhook_disabled_reason = 'CONSECUTIVE_FAILURES' WHERE id = $1`,
      [a.tenantId],
    );
    await t.app.db.query(
      `INSERT INTO webhook_endpoint_alerts (tenant_id, endpoint, gateway_id, reason, status) VALUES ($1, 'GATEWAY_WEBHOOK', $2, 'GONE', 'OPEN')`,
      [a.tenantId, a.gatewayId],
    );
    return a;
  }
  const stateOf = async (a: Gw) => ({
    gateway: await t.app.db.query('SELECT webhook_disabled_at, webhook_disabled_reason FROM gateways WHERE id = $1', [a.gatewayId]),
    tenant: await t.app.db.query('SELECT notification_webhook_disabled_at FROM tenants WHERE id = $1', [a.tenantId]),
    alerts: await t.app.db.query('SELECT status FROM webhook_endpoint_alerts WHERE tenant_id = $1', [a.tenantId]),
    outbox: await t.app.db.query('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [a.tenantId]),
    audit: await t.app.db.query('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [a.tenantId]),
  });

  it("cannot re-enable A's endpoints: NOT_FOUND, byte-identical to a random id, and nothing is written", async () => {
    const a = await disabledWorld();
    const b = await tenantWithTokens(t);
    const before = await stateOf(a);
    const cases: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      ['enableGatewayWebhook', ENABLE_GATEWAY, { gatewayId: a.gatewayId }, { gatewayId: randomUUID() }],
      ['enableTenantNotifications', ENABLE_TENANT, { tenantId: a.tenantId }, { tenantId: randomUUID() }],
    ];
    for (const [name, doc, input, random] of cases) {
      const asB = await t.gql(doc, { input }, b.admin);
      const asRandom = await t.gql(doc, { input: random }, b.admin);
      expect(asB.data[name].userErrors.map((e: { code: string }) => e.code)).toEqual(['NOT_FOUND']);
      expect(asB.raw).toBe(asRandom.raw);
    }
    expect(await stateOf(a)).toEqual(before);
  });

  it("cannot read A's new fields (null) or alerts (NOT_FOUND), byte-identical to a random id", async () => {
    const a = await disabledWorld();
    const b = await tenantWithTokens(t);
    const cases: [string, Record<string, unknown>, Record<string, unknown>, string | null][] = [
      [GATEWAY, { id: a.gatewayId }, { id: randomUUID() }, null],
      [TENANT, { id: a.tenantId }, { id: randomUUID() }, null],
      [ALERTS, { tenantId: a.tenantId, status: null }, { tenantId: randomUUID(), status: null }, 'NOT_FOUND'],
    ];
    for (const [doc, vars, random, code] of cases) {
      const own = await t.gql(doc, vars, a.viewer);
      expect(own.errors).toBeUndefined();
      const asB = await t.gql(doc, vars, b.viewer);
      const asRandom = await t.gql(doc, random, b.viewer);
      if (code) expect(asB.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      else expect(asB).toMatchObject({ errors: undefined, data: { [Object.keys(own.data)[0]]: null } });
      expect(asB.raw).toBe(asRandom.raw);
    }
  });

  it("the platform admin may re-enable any tenant's endpoints", async () => {
    const a = await disabledWorld();
    const gw = await t.gql(ENABLE_GATEWAY, { input: { gatewayId: a.gatewayId } }, ADMIN_TOKEN);
    expect(gw.data.enableGatewayWebhook).toMatchObject({ gateway: { webhookDisabledAt: null }, userErrors: [] });
    const tn = await t.gql(ENABLE_TENANT, { input: { tenantId: a.tenantId } }, ADMIN_TOKEN);
    expect(tn.data.enableTenantNotifications).toMatchObject({ tenant: { notificationWebhookDisabledAt: null }, userErrors: [] });
    expect(await auditOf('GATEWAY_WEBHOOK_ENABLED', a.gatewayId)).toMatchObject([{ actor_type: 'PLATFORM_ADMIN' }]);
    await drain(w);
  });
});

it('no secret is written into alerts, the audit rows of these changes, webhook tables, live events or the queue store', async () => {
  expect(secrets.length).toBeGreaterThan(5);
  const rows = async (sql: string) =>
    ((await t.app.db.query(sql)) as { j: string }[]).map((r, i) => ({ where: `${sql.slice(0, 60)} row ${i}`, text: r.j }));
  const written = [
    ...(await rows('SELECT row_to_json(a)::text AS j FROM webhook_endpoint_alerts a')),
    ...(await rows(
      `SELECT row_to_json(a)::text AS j FROM audit_events a WHERE action IN
        ('GATEWAY_WEBHOOK_DISABLED', 'GATEWAY_WEBHOOK_ENABLED', 'TENANT_NOTIFICATIONS_DISABLED', 'TENANT_NOTIFICATIONS_ENABLED')`,
    )),
    ...(await rows('SELECT row_to_json(d)::text AS j FROM webhook_deliveries d')),
    ...(await rows('SELECT row_to_json(a)::text AS j FROM webhook_attempts a')),
    { where: 'live events', text: JSON.stringify(events) },
  ];
  expect(written.length).toBeGreaterThan(10);
  const inStore = await dumpQueueStore(w.prefix);
  expect(inStore.length).toBeGreaterThan(0);
  expect(describeHits(scanTexts([...written, ...inStore], secrets))).toBe('');
});
