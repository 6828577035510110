import { randomBytes, randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { SEALS } from '../../../src/crypto';
import { enqueueInTx } from '../../../src/modules/outbox/outbox.writer';
import type { JobPayloads } from '../../../src/queue/registry';
import { gatewayReload } from '../../../workers/processors/gateway-reload.processor';
import { createGatewayWithWebhook, rotationDueBody, tenantWithTokens } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { fastRetries, startWebhookSink, verifyStandardWebhook, type ReceivedWebhook, type WebhookSink } from '../../fakes/webhook-sink';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { RELOAD_COALESCE_MS } from '../../../src/queue/registry';
import { letTimePass } from '../../helpers/time';
import { attachCredential, detachCredential, validatedCredential } from '../../factories/credentials';

let t: TestApp;
let fake: FakeProvider;
let sink: WebhookSink;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  sink = await startWebhookSink();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, { env: { WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '300' } });
  fastRetries(w, ['gateways', 'notifications']);
});

// Every body the receiver got conforms to its published schema (the sink validates each one).
afterEach(() => expect(sink.contractViolations()).toEqual([]));

afterAll(async () => {
  await w.close();
  await sink.close();
  await fake.close();
  await t.close();
});

/** A tenant with a validated key (validation settles first, so it cannot bump the gateway later). */
async function setup(webhook = true) {
  const { tenant, admin, viewer } = await tenantWithTokens(t);
  const { id: credentialId, secret } = await validatedCredential(t, w, fake, admin, { tenantId: tenant.id, providerId });
  const path = `/hook/${randomUUID()}`;
  const gw = await createGatewayWithWebhook(t, admin, tenant.id, webhook ? sink.url(path) : null);
  return { tenantId: tenant.id, admin, viewer, secret, credentialId, path, gatewayId: gw.gateway.id, signingSecret: gw.signingSecret };
}

async function attach(s: { admin: string; gatewayId: string; credentialId: string }, on = true): Promise<number> {
  return (on ? attachCredential : detachCredential)(t, s.admin, { gatewayId: s.gatewayId, credentialId: s.credentialId });
}

const deliveries = (gatewayId: string) => t.app.db.query(`SELECT * FROM webhook_deliveries WHERE target_id = $1 ORDER BY created_at`, [gatewayId]);
const attempts = (deliveryId: string) =>
  t.app.db.query('SELECT attempt, status_code, error_class, latency_ms FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt', [deliveryId]);
const settled = (gatewayId: string, status: string) =>
  eventually(async () => {
    const rows = await deliveries(gatewayId);
    return rows.length > 0 && rows.every((r: { status: string }) => r.status === status) && rows;
  }, 8000);

function sinkTexts(requests: ReceivedWebhook[]) {
  return requests.map((r, i) => ({ where: `webhook request ${i}`, text: JSON.stringify(r.headers) + '\n' + r.body }));
}

it('a config change sends one signed notification carrying gateway id, version and reason, never a key', async () => {
  const s = await setup();
  const version = await attach(s);
  await w.relay();
  const [delivery] = await settled(s.gatewayId, 'DELIVERED');
  const received = sink.to(s.path);
  expect(received).toHaveLength(1);
  const [req] = received;
  expect(req.method).toBe('POST');
  expect(req.headers['content-type']).toBe('application/json');
  expect(req.headers['webhook-id']).toBe(`msg_${delivery.id.replace(/-/g, '')}`);
  // Standard Webhooks structure, as docs/webhooks/gateway.config_changed.schema.json publishes it;
  // the top-level copies of data's fields are deprecated (receivers written before it read them).
  const data = { tenantId: s.tenantId, gatewayId: s.gatewayId, configVersion: version, reason: 'CREDENTIAL_ATTACHED' };
  const body = JSON.parse(req.body);
  expect(body).toEqual({ type: 'gateway.config_changed', timestamp: expect.any(String), data, ...data });
  expect(req.contractErrors).toEqual([]);
  // The event time is when the version came about (the gateway's config_changed_at), not the send time.
  const [gw] = await t.app.db.query('SELECT config_changed_at FROM gateways WHERE id = $1', [s.gatewayId]);
  expect(body.timestamp).toBe(gw.config_changed_at.toISOString());
  // Verified from the spec alone, and by the reference library.
  expect(verifyStandardWebhook(s.signingSecret, req)).toBe(true);
  expect(new Webhook(s.signingSecret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ configVersion: version });
  expect(verifyStandardWebhook(`whsec_${randomBytes(32).toString('base64')}`, req)).toBe(false);

  expect(delivery).toMatchObject({ kind: 'GATEWAY_RELOAD', status: 'DELIVERED', attempts: 1, last_status_code: 200, last_error_class: null });
  expect(await attempts(delivery.id)).toMatchObject([{ attempt: 1, status_code: 200, error_class: null }]);
  // Neither the tenant's key nor the signing secret travels or lands in the webhook tables.
  const tables = (await dumpDatabase(t.app.db)).filter((s) => /table webhook_/.test(s.where));
  expect(describeHits(scanTexts([...sinkTexts(received), ...tables], [s.secret, s.signingSecret]))).toBe('');
});

it('a burst of 5 attach/detach changes within the coalesce window yields ONE delivery of the newest version', async () => {
  const s = await setup();
  let version = 0;
  for (let i = 0; i < 5; i++) {
    version = await attach(s, i % 2 === 0);
    await w.relay();
  }
  expect(version).toBe(6);
  const rows = await settled(s.gatewayId, 'DELIVERED');
  await letTimePass(RELOAD_COALESCE_MS + 500); // longer than the coalesce window: nothing else may follow
  expect(await deliveries(s.gatewayId)).toHaveLength(1);
  expect(rows[0].payload).toMatchObject({ configVersion: 6, reason: 'CREDENTIAL_ATTACHED' });
  expect(sink.to(s.path)).toHaveLength(1);
  expect(JSON.parse(sink.to(s.path)[0].body).data.configVersion).toBe(6);
});

it('a first try announces the current version and pins it in the job; a retry keeps its own delivery', async () => {
  const s = await setup();
  await attach(s); // v2
  await attach(s, false); // v3
  // These two jobs are played by hand below, so the relay must not also send them.
  await t.app.db.query("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND payload->>'gatewayId' = $1", [s.gatewayId]);
  const pinned: unknown[] = [];
  const job = (configVersion: number, attemptsMade: number) =>
    ({
      data: { tenantId: s.tenantId, gatewayId: s.gatewayId, configVersion, reason: 'CREDENTIAL_ATTACHED' },
      attemptsMade,
      attemptsStarted: attemptsMade + 1,
      opts: { attempts: 3 },
      updateData: async (data: unknown) => void pinned.push(data),
    }) as unknown as Job<JobPayloads['gateway-reload']>;
  // A retry of the v2 job (its first try failed) finishes v2, although v3 exists by now.
  expect(await gatewayReload(w.deps, job(2, 1))).toMatchObject({ status: 'DELIVERED' });
  expect(pinned).toEqual([]);
  // A first try of an older job jumps to v3 and pins it, so its own retries stay on v3.
  expect(await gatewayReload(w.deps, job(2, 0))).toMatchObject({ status: 'DELIVERED' });
  expect(pinned).toEqual([expect.objectContaining({ configVersion: 3 })]);
  expect(sink.to(s.path).map((r) => JSON.parse(r.body).data.configVersion)).toEqual([2, 3]);
  expect((await deliveries(s.gatewayId)).map((d: { status: string }) => d.status)).toEqual(['DELIVERED', 'DELIVERED']);
});

it('500, 500, then 200: DELIVERED on the third attempt, with every attempt recorded', async () => {
  const s = await setup();
  sink.scriptFor(s.path, { status: 500, body: 'boom' }, { status: 500, body: 'boom' });
  await attach(s);
  await w.relay();
  const [delivery] = await settled(s.gatewayId, 'DELIVERED');
  expect(delivery).toMatchObject({ attempts: 3, last_status_code: 200, last_error_class: null, dead_at: null });
  expect(await attempts(delivery.id)).toMatchObject([
    { attempt: 1, status_code: 500, error_class: 'HTTP_5XX' },
    { attempt: 2, status_code: 500, error_class: 'HTTP_5XX' },
    { attempt: 3, status_code: 200, error_class: null },
  ]);
  const received = sink.to(s.path);
  expect(received).toHaveLength(3);
  // One message: the same webhook-id on every attempt, each freshly signed.
  expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
  expect(received.every((r) => verifyStandardWebhook(s.signingSecret, r))).toBe(true);
});

it('always 500: DEAD after WEBHOOK_MAX_ATTEMPTS (3), shown as a dead letter; the receiver body never surfaces; replay delivers it', async () => {
  const s = await setup();
  const marker = `RECEIVER-BODY-${randomUUID()}`;
  sink.scriptFor(s.path, ...Array.from({ length: 3 }, () => ({ status: 500, body: marker })));
  await attach(s);
  await w.relay();
  const [dead] = await settled(s.gatewayId, 'DEAD');
  expect(dead).toMatchObject({ attempts: 3, last_status_code: 500, last_error_class: 'HTTP_5XX', replay_count: 0 });
  expect(dead.dead_at).not.toBeNull();

  const LIST = `query($tenantId: ID!, $status: WebhookDeliveryStatus) { webhookDeliveries(tenantId: $tenantId, status: $status) {
    nodes { id status attemptCount lastErrorClass lastStatusCode replayCount deadAt configVersion reason gatewayId
            attempts { attempt statusCode errorClass latencyMs } } } }`;
  const letters = await t.gql(LIST, { tenantId: s.tenantId, status: 'DEAD' }, s.viewer);
  expect(letters.data.webhookDeliveries.nodes).toMatchObject([
    {
      id: dead.id,
      status: 'DEAD',
      attemptCount: 3,
      lastErrorClass: 'HTTP_5XX',
      gatewayId: s.gatewayId,
      attempts: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3 }],
    },
  ]);

  const REPLAY =
    'mutation($input: ReplayWebhookDeliveryInput!) { replayWebhookDelivery(input: $input) { delivery { id status replayCount } userErrors { code } } }';
  const replayed = await t.gql(REPLAY, { input: { id: dead.id } }, s.admin);
  expect(replayed.data.replayWebhookDelivery).toEqual({ delivery: { id: dead.id, status: 'PENDING', replayCount: 1 }, userErrors: [] });
  await w.relay();
  const [delivered] = await settled(s.gatewayId, 'DELIVERED');
  expect(delivered).toMatchObject({ attempts: 4, replay_count: 1, last_status_code: 200, dead_at: null });
  expect(sink.to(s.path)).toHaveLength(4);
  expect(new Set(sink.to(s.path).map((r) => r.headers['webhook-id'])).size).toBe(1);
  const audit = await t.app.db.query("SELECT details FROM audit_events WHERE action = 'WEBHOOK_DELIVERY_REPLAYED' AND target_id = $1", [dead.id]);
  expect(audit).toHaveLength(1);

  await t.gql(LIST, { tenantId: s.tenantId, status: null }, s.admin);
  const everywhere = [...t.responses.map((text, i) => ({ where: `response ${i}`, text })), ...(await dumpDatabase(t.app.db))];
  expect(everywhere.filter((x) => x.text.includes(marker)).map((x) => x.where)).toEqual([]);
});

it('a receiver that hangs is UNREACHABLE; a 302 is a REDIRECT and is not followed', async () => {
  const s = await setup();
  sink.scriptFor(s.path, { hang: true }, { status: 302, headers: { location: sink.url(`${s.path}/moved`) } });
  await attach(s);
  await w.relay();
  const [delivery] = await settled(s.gatewayId, 'DELIVERED');
  const rows = await attempts(delivery.id);
  expect(rows).toMatchObject([
    { attempt: 1, status_code: null, error_class: 'UNREACHABLE' },
    { attempt: 2, status_code: 302, error_class: 'REDIRECT' },
    { attempt: 3, status_code: 200, error_class: null },
  ]);
  expect(rows[0].latency_ms).toBeGreaterThanOrEqual(250);
  expect(sink.to(`${s.path}/moved`)).toHaveLength(0);
});

it('a gateway without a webhook URL gets no delivery (it learns by pulling its config)', async () => {
  const s = await setup(false);
  await attach(s);
  await w.relay();
  const job = await eventually(async () => {
    const jobs = await w.queues.gateways.getJobs(['completed']);
    return jobs.find((j: Job) => j.data.gatewayId === s.gatewayId);
  }, 8000);
  expect(job.returnvalue).toEqual({ skipped: 'NO_URL' });
  expect(await deliveries(s.gatewayId)).toHaveLength(0);
});

it('a forged job naming another tenant fails without side effects', async () => {
  const s = await setup();
  const other = await tenantWithTokens(t);
  const job = await w.queues.gateways.add(
    'gateway-reload',
    { tenantId: other.tenant.id, gatewayId: s.gatewayId, configVersion: 9, reason: 'MODE_CHANGED' },
    { jobId: `forged-${randomUUID()}` },
  );
  await eventually(async () => (await job.getState()) === 'failed');
  const failed = await w.queues.gateways.getJob(job.id!);
  expect(failed?.failedReason).toMatch(/stale or foreign job/);
  expect(failed?.attemptsMade).toBe(1);
  expect(await deliveries(s.gatewayId)).toHaveLength(0);
  expect(sink.to(s.path)).toHaveLength(0);
});

it('a rotation reminder is sent to the tenant notification URL, signed with the tenant notification secret', async () => {
  const { tenant } = await tenantWithTokens(t);
  const path = `/notify/${randomUUID()}`;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const sealed = await t.app.services.box.seal(secret, SEALS.tenantNotification.context({ tenantId: tenant.id, objectId: tenant.id }));
  await t.app.db.query(
    `UPDATE tenants SET notification_webhook_url = $2, notification_kek_version = $3, notification_wrapped_key = $4, notification_ciphertext = $5 WHERE id = $1`,
    [tenant.id, sink.url(path), sealed.kekVersion, sealed.wrappedKey, sealed.ciphertext],
  );
  const reminderId = randomUUID();
  const payload = rotationDueBody(tenant.id, reminderId);
  const [delivery] = await t.app.db.query(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status)
     VALUES ($1, 'ROTATION_REMINDER', $2, $3, $4::jsonb, 'PENDING') RETURNING id`,
    [tenant.id, reminderId, `rotation-reminder:${reminderId}`, JSON.stringify(payload)],
  );
  await t.app.db.transaction((tx) => enqueueInTx(tx, 'deliver-webhook', { tenantId: tenant.id, deliveryId: delivery.id, replay: 0 }));
  await w.relay();
  await eventually(
    async () => (await t.app.db.query('SELECT status FROM webhook_deliveries WHERE id = $1', [delivery.id]))[0].status === 'DELIVERED',
    8000,
  );
  const [req] = sink.to(path);
  expect(JSON.parse(req.body)).toEqual(payload);
  expect(req.contractErrors).toEqual([]);
  expect(verifyStandardWebhook(secret, req)).toBe(true);
  expect(describeHits(scanTexts(sinkTexts([req]), [secret]))).toBe('');
});

it('a delivery stored before the Standard Webhooks structure (a flat body) is sent in it, timed by when it was stored', async () => {
  const s = await setup();
  const flat = { type: 'gateway.config_changed', gatewayId: s.gatewayId, tenantId: s.tenantId, configVersion: 1, reason: 'MODE_CHANGED' };
  const [delivery] = await t.app.db.query(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status, created_at)
     VALUES ($1, 'GATEWAY_RELOAD', $2, $3, $4::jsonb, 'PENDING', now() - interval '1 hour') RETURNING id, created_at`,
    [s.tenantId, s.gatewayId, `gateway-reload:${s.gatewayId}:legacy:${randomUUID()}`, JSON.stringify(flat)],
  );
  await t.app.db.transaction((tx) => enqueueInTx(tx, 'deliver-webhook', { tenantId: s.tenantId, deliveryId: delivery.id, replay: 0 }));
  await w.relay();
  await eventually(
    async () => (await t.app.db.query('SELECT status FROM webhook_deliveries WHERE id = $1', [delivery.id]))[0].status === 'DELIVERED',
    8000,
  );
  const [req] = sink.to(s.path);
  const { type, ...data } = flat;
  expect(JSON.parse(req.body)).toEqual({ type, timestamp: delivery.created_at.toISOString(), data, ...data });
  expect(req.contractErrors).toEqual([]);
  expect(new Webhook(s.signingSecret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ data });
});
