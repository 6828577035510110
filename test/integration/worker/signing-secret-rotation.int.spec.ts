import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { enqueueInTx } from '../../../src/modules/outbox/outbox.writer';
import { wipeExpiredRotationLeftovers } from '../../../src/modules/webhook/signing-secret.service';
import { createGatewayWithWebhook, expectOk, rotationDueBody, tenantWithTokens } from '../../factories';
import { attachCredential, detachCredential, validatedCredential } from '../../factories/credentials';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { fastRetries, startWebhookSink, type ReceivedWebhook, type WebhookSink } from '../../fakes/webhook-sink';
import { pullConfig } from '../../helpers/gateway-feed';
import { describeHits, dumpDatabase, dumpQueueStore, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * Signing-secret rotation with an overlap, and a grace period for a rotated gateway key (issue 15
 * item 5): during the overlap every delivery verifies (standardwebhooks) with the old secret and
 * with the new one, after it only with the new; the old gateway key pulls config during its grace
 * and gets 401 after; cross-tenant calls are NOT_FOUND like a random id; no secret leaks.
 */

let t: TestApp;
let fake: FakeProvider;
let sink: WebhookSink;
let w: TestWorkers;
let providerId: string;
/** Every secret a test saw, for the leak scan at the end. */
const secrets: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  sink = await startWebhookSink();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, { env: { WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '300' }, captureLogs: true });
  fastRetries(w, ['gateways', 'notifications']);
});

afterAll(async () => {
  await w.close();
  await sink.close();
  await fake.close();
  await t.close();
});

const ROTATE_GATEWAY_SECRET = `mutation($input: RotateGatewayWebhookSecretInput!) {
  rotateGatewayWebhookSecret(input: $input) { gateway { id } signingSecret previousSecretExpiresAt userErrors { field code } }
}`;
const ROTATE_TENANT_SECRET = `mutation($input: RotateTenantNotificationSecretInput!) {
  rotateTenantNotificationSecret(input: $input) { tenant { id } notificationSigningSecret previousSecretExpiresAt userErrors { field code } }
}`;
const ROTATE_KEY = `mutation($input: RotateGatewayKeyInput!) {
  rotateGatewayKey(input: $input) { gatewayKey previousKeyExpiresAt userErrors { field code } }
}`;

/** What a receiver using the standardwebhooks library accepts. */
function verifies(secret: string, req: ReceivedWebhook): boolean {
  try {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

async function delivered(path: string, count: number): Promise<ReceivedWebhook> {
  await eventually(async () => {
    await w.relay();
    return sink.to(path).length >= count;
  }, 10_000);
  return sink.to(path)[count - 1];
}

async function gatewaySetup() {
  const { tenant, admin } = await tenantWithTokens(t);
  const { id: credentialId } = await validatedCredential(t, w, fake, admin, { tenantId: tenant.id, providerId });
  const path = `/hook/${randomUUID()}`;
  const gw = await createGatewayWithWebhook(t, admin, tenant.id, sink.url(path));
  secrets.push(gw.signingSecret, gw.gatewayKey);
  return { tenantId: tenant.id, admin, credentialId, path, gatewayId: gw.gateway.id, signingSecret: gw.signingSecret, gatewayKey: gw.gatewayKey };
}

it('gateway webhook secret: during the overlap both secrets verify, after it only the new one; the sweep wipes the old one', async () => {
  const s = await gatewaySetup();
  const rotated = await expectOk<any>(
    t.gql(ROTATE_GATEWAY_SECRET, { input: { gatewayId: s.gatewayId, overlapHours: 2 } }, s.admin),
    'rotateGatewayWebhookSecret',
  );
  const fresh: string = rotated.signingSecret;
  secrets.push(fresh);
  expect(fresh).toMatch(/^whsec_/);
  expect(fresh).not.toBe(s.signingSecret);
  const ends = new Date(rotated.previousSecretExpiresAt).getTime();
  expect(Math.abs(ends - (Date.now() + 2 * 3600_000))).toBeLessThan(60_000);

  await attachCredential(t, s.admin, { gatewayId: s.gatewayId, credentialId: s.credentialId });
  const during = await delivered(s.path, 1);
  expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
  expect(verifies(s.signingSecret, during)).toBe(true);
  expect(verifies(fresh, during)).toBe(true);

  // The overlap ends (as if 2 hours passed): the old signature is no longer sent.
  await t.app.db.query(`UPDATE gateways SET previous_signing_expires_at = now() - interval '1 second' WHERE id = $1`, [s.gatewayId]);
  await detachCredential(t, s.admin, { gatewayId: s.gatewayId, credentialId: s.credentialId });
  const after = await delivered(s.path, 2);
  expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verifies(fresh, after)).toBe(true);
  expect(verifies(s.signingSecret, after)).toBe(false);

  // The sweep wipes the old sealed secret.
  expect((await wipeExpiredRotationLeftovers(t.app.db)).secrets).toBeGreaterThanOrEqual(1);
  const [row] = await t.app.db.query(
    `SELECT previous_signing_kek_version, previous_signing_wrapped_key, previous_signing_ciphertext, previous_signing_expires_at FROM gateways WHERE id = $1`,
    [s.gatewayId],
  );
  expect(row).toEqual({
    previous_signing_kek_version: null,
    previous_signing_wrapped_key: null,
    previous_signing_ciphertext: null,
    previous_signing_expires_at: null,
  });

  const [audit] = await t.app.db.query(`SELECT details FROM audit_events WHERE action = 'GATEWAY_WEBHOOK_SECRET_ROTATED' AND target_id = $1`, [
    s.gatewayId,
  ]);
  expect(audit.details).toEqual({ overlapHours: 2, previousSecretExpiresAt: expect.any(String) });
});

it('gateway webhook secret with overlapHours 0: the old secret stops at once', async () => {
  const s = await gatewaySetup();
  const rotated = await expectOk<any>(
    t.gql(ROTATE_GATEWAY_SECRET, { input: { gatewayId: s.gatewayId, overlapHours: 0 } }, s.admin),
    'rotateGatewayWebhookSecret',
  );
  secrets.push(rotated.signingSecret);
  expect(rotated.previousSecretExpiresAt).toBeNull();
  await attachCredential(t, s.admin, { gatewayId: s.gatewayId, credentialId: s.credentialId });
  const req = await delivered(s.path, 1);
  expect(verifies(rotated.signingSecret, req)).toBe(true);
  expect(verifies(s.signingSecret, req)).toBe(false);
  for (const overlapHours of [-1, 169]) {
    const bad = await t.gql(ROTATE_GATEWAY_SECRET, { input: { gatewayId: s.gatewayId, overlapHours } }, s.admin);
    expect(bad.data.rotateGatewayWebhookSecret.userErrors).toEqual([{ field: ['input', 'overlapHours'], code: 'OUT_OF_RANGE' }]);
  }
});

it('tenant notification secret: both verify during the overlap (default 24 h), only the new one after', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const path = `/notify/${randomUUID()}`;
  const first = await expectOk<any>(
    t.gql(
      'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { notificationSigningSecret userErrors { code } } }',
      { input: { id: tenant.id, notificationWebhookUrl: sink.url(path) } },
      admin,
    ),
    'updateTenant',
  );
  const old: string = first.notificationSigningSecret;
  const rotated = await expectOk<any>(t.gql(ROTATE_TENANT_SECRET, { input: { tenantId: tenant.id } }, admin), 'rotateTenantNotificationSecret');
  const fresh: string = rotated.notificationSigningSecret;
  secrets.push(old, fresh);
  expect(Math.abs(new Date(rotated.previousSecretExpiresAt).getTime() - (Date.now() + 24 * 3600_000))).toBeLessThan(60_000);

  const notify = async () => {
    const reminderId = randomUUID();
    const payload = rotationDueBody(tenant.id, reminderId);
    const [delivery] = await t.app.db.query(
      `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status)
       VALUES ($1, 'ROTATION_REMINDER', $2, $3, $4::jsonb, 'PENDING') RETURNING id`,
      [tenant.id, reminderId, `rotation-reminder:${reminderId}`, JSON.stringify(payload)],
    );
    await t.app.db.transaction((tx) => enqueueInTx(tx, 'deliver-webhook', { tenantId: tenant.id, deliveryId: delivery.id, replay: 0 }));
  };
  await notify();
  const during = await delivered(path, 1);
  expect(verifies(old, during)).toBe(true);
  expect(verifies(fresh, during)).toBe(true);

  await t.app.db.query(`UPDATE tenants SET previous_notification_expires_at = now() - interval '1 second' WHERE id = $1`, [tenant.id]);
  await notify();
  const after = await delivered(path, 2);
  expect(verifies(fresh, after)).toBe(true);
  expect(verifies(old, after)).toBe(false);
  const [audit] = await t.app.db.query(
    `SELECT actor_type, details FROM audit_events WHERE action = 'TENANT_NOTIFICATION_SECRET_ROTATED' AND tenant_id = $1`,
    [tenant.id],
  );
  expect(audit).toEqual({ actor_type: 'API_TOKEN', details: { overlapHours: 24, previousSecretExpiresAt: expect.any(String), firstSecret: false } });
});

it('rotateGatewayKey graceHours: the old key pulls during the grace and gets 401 after; grace 0 revokes at once', async () => {
  const s = await gatewaySetup();
  expect((await pullConfig(t.url, s.gatewayKey)).status).toBe(200);
  const rotated = await expectOk<any>(t.gql(ROTATE_KEY, { input: { id: s.gatewayId, graceHours: 1 } }, s.admin), 'rotateGatewayKey');
  const key2: string = rotated.gatewayKey;
  secrets.push(key2);
  expect(Math.abs(new Date(rotated.previousKeyExpiresAt).getTime() - (Date.now() + 3600_000))).toBeLessThan(60_000);
  const old = await pullConfig(t.url, s.gatewayKey);
  expect(old.status).toBe(200);
  expect(old.body.gatewayId).toBe(s.gatewayId);
  expect((await pullConfig(t.url, key2)).status).toBe(200);
  // Polling with the ETag (the in-memory path) works for the old key too.
  expect((await pullConfig(t.url, s.gatewayKey, { 'if-none-match': old.etag! })).status).toBe(304);

  // The grace ends (as if an hour passed): the old key is refused, from memory too.
  await t.app.db.query(`UPDATE gateways SET previous_key_expires_at = now() - interval '1 second' WHERE id = $1`, [s.gatewayId]);
  expect((await pullConfig(t.url, s.gatewayKey)).status).toBe(401);
  await eventually(async () => (await pullConfig(t.url, s.gatewayKey, { 'if-none-match': old.etag! })).status === 401);
  expect((await pullConfig(t.url, key2)).status).toBe(200);

  // Grace 0 (the default): the replaced key stops now.
  const again = await expectOk<any>(t.gql(ROTATE_KEY, { input: { id: s.gatewayId } }, s.admin), 'rotateGatewayKey');
  secrets.push(again.gatewayKey);
  expect(again.previousKeyExpiresAt).toBeNull();
  expect((await pullConfig(t.url, key2)).status).toBe(401);
  expect((await pullConfig(t.url, again.gatewayKey)).status).toBe(200);
  const audits = await t.app.db.query(
    `SELECT details FROM audit_events WHERE action = 'GATEWAY_KEY_ROTATED' AND target_id = $1 ORDER BY created_at`,
    [s.gatewayId],
  );
  expect(audits[0].details).toEqual(expect.objectContaining({ graceHours: 1, previousKeyExpiresAt: expect.any(String) }));
  expect(audits[1].details).not.toHaveProperty('graceHours');
});

it("another tenant's gateway or tenant is NOT_FOUND, indistinguishable from a random id, and nothing changes", async () => {
  const A = await tenantWithTokens(t);
  const B = await gatewaySetup();
  const [before] = await t.app.db.query('SELECT signing_ciphertext, key_hash FROM gateways WHERE id = $1', [B.gatewayId]);
  for (const [doc, name, input] of [
    [ROTATE_GATEWAY_SECRET, 'rotateGatewayWebhookSecret', (id: string) => ({ gatewayId: id })],
    [ROTATE_TENANT_SECRET, 'rotateTenantNotificationSecret', (id: string) => ({ tenantId: id })],
    [ROTATE_KEY, 'rotateGatewayKey', (id: string) => ({ id, graceHours: 5 })],
  ] as const) {
    const target = name === 'rotateTenantNotificationSecret' ? B.tenantId : B.gatewayId;
    const asB = await t.gql(doc, { input: input(target) }, A.admin);
    const asRandom = await t.gql(doc, { input: input(randomUUID()) }, A.admin);
    expect(asB.data[name].userErrors.map((e: { code: string }) => e.code)).toEqual(['NOT_FOUND']);
    expect(asB.raw).toBe(asRandom.raw);
  }
  expect(await t.app.db.query('SELECT signing_ciphertext, key_hash FROM gateways WHERE id = $1', [B.gatewayId])).toEqual([before]);
});

it('no signing secret or gateway key appears in audit rows, logs, other responses or the queue store', async () => {
  // Responses that hand a secret out once, by design, are the only ones allowed to hold one.
  const handedOut = /"(signingSecret|notificationSigningSecret|gatewayKey)":"/;
  const responses = t.responses.filter((r) => !handedOut.test(r)).map((text, i) => ({ where: `response ${i}`, text }));
  const logs = [...t.logs, ...w.logs].map((text, i) => ({ where: `log line ${i}`, text }));
  const audit = (await t.app.db.query('SELECT row_to_json(a)::text AS j FROM audit_events a')).map((r: { j: string }, i: number) => ({
    where: `audit row ${i}`,
    text: r.j,
  }));
  const database = await dumpDatabase(t.app.db, ['public']);
  const queue = await dumpQueueStore(w.prefix);
  expect(queue.length).toBeGreaterThan(0);
  const hits = scanTexts([...responses, ...logs, ...audit, ...database, ...queue], secrets);
  expect(describeHits(hits)).toBe('');
  expect(secrets.length).toBeGreaterThanOrEqual(8);
});
