import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { LiveEventBus } from '../../../src/events';
import { createCredential, createToken, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { rawLivePublish, testLiveEvents } from '../../helpers/queue-backend';
import { createFakeOpenAIProvider } from '../../factories/providers';

/*
 * A real graphql-ws client against the API, and real workers publishing on the queue backend's
 * engine under a prefix of this run, as in production: worker -> Redis pub/sub (or PostgreSQL
 * NOTIFY) -> API -> WebSocket.
 */
const prefix = `kp-live-${randomUUID().slice(0, 8)}`;
let t: TestApp;
let fake: FakeProvider;
let events: LiveEventBus;
let w: TestWorkers;
let providerId: string;
let a: Awaited<ReturnType<typeof tenantWithTokens>>;
let b: Awaited<ReturnType<typeof tenantWithTokens>>;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp({ QUEUE_PREFIX: prefix });
  fake = await startFakeProvider();
  events = testLiveEvents(prefix);
  w = await startTestWorkers(t, { events });
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  a = await tenantWithTokens(t);
  b = await tenantWithTokens(t);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await w?.close();
  await events?.close();
  await fake?.close();
  await t?.close();
});

function client(token: string | null): Client {
  const c = createClient({
    url: t.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: true,
    retryAttempts: 0,
  });
  clients.push(c);
  return c;
}

interface Sub {
  results: any[];
  error: unknown;
  done: boolean;
}

function subscribe(c: Client, query: string, variables: Record<string, unknown>): Sub {
  const sub: Sub = { results: [], error: undefined, done: false };
  c.subscribe(
    { query, variables },
    { next: (r) => void sub.results.push(r), error: (e) => void (sub.error = e), complete: () => void (sub.done = true) },
  );
  return sub;
}

const CREDENTIAL_CHANGED = `subscription($tenantId: ID!) {
  credentialChanged(tenantId: $tenantId) { tenantId credentialId credential { id tenantId status redactedKey provider { id } } }
}`;
const ALERT_RAISED = `subscription($tenantId: ID!) { keyReuseAlertRaised(tenantId: $tenantId) { tenantId alertId credentialId } }`;

/** Redis SUBSCRIBE is asynchronous: publish a probe until the subscriber sees one, then start clean. */
async function ready(sub: Sub, tenantId: string, credentialId: string): Promise<void> {
  await eventually(async () => {
    await events.publish('CREDENTIAL_CHANGED', { tenantId, credentialId });
    await new Promise((r) => setTimeout(r, 30));
    return sub.results.length > 0;
  });
  await new Promise((r) => setTimeout(r, 100));
  sub.results.length = 0;
}

const idsOf = (sub: Sub) => sub.results.map((r) => r.data?.credentialChanged?.credentialId);

it("delivers a tenant's credential changes from the workers, and only that tenant's", async () => {
  const probeA = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId });
  const probeB = await createCredential(t, b.admin, { tenantId: b.tenant.id, providerId });
  // Tenant A watches with a VIEWER token: live updates are reads.
  const subA = subscribe(client(a.viewer), CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
  const subB = subscribe(client(b.admin), CREDENTIAL_CHANGED, { tenantId: b.tenant.id });
  await ready(subA, a.tenant.id, probeA.id);
  await ready(subB, b.tenant.id, probeB.id);

  const keyA = openaiKey();
  const keyB = openaiKey();
  fake.allow(keyA);
  fake.allow(keyB);
  const credA = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId, secret: keyA });
  const credB = await createCredential(t, b.admin, { tenantId: b.tenant.id, providerId, secret: keyB });
  await w.relay();

  await eventually(async () => idsOf(subA).includes(credA.id) && idsOf(subB).includes(credB.id), 10_000);
  const event = subA.results.find((r) => r.data.credentialChanged.credentialId === credA.id);
  expect(event.errors).toBeUndefined();
  expect(event.data.credentialChanged).toMatchObject({
    tenantId: a.tenant.id,
    credential: { id: credA.id, tenantId: a.tenant.id, status: 'ACTIVE', provider: { id: providerId } },
  });
  // B's change reached B's subscriber, never A's (and the reverse).
  expect(idsOf(subA)).not.toContain(credB.id);
  expect(idsOf(subB)).not.toContain(credA.id);
  expect(JSON.stringify(subA.results)).not.toContain(b.tenant.id);
  // The key never travels: only the redacted hint.
  expect(JSON.stringify(subA.results)).not.toContain(keyA.slice(-12));
});

it("a forged event naming another tenant's credential is re-read in the subscriber's tenant: NOT_FOUND, no data", async () => {
  const probe = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId });
  const other = await createCredential(t, b.admin, { tenantId: b.tenant.id, providerId });
  const sub = subscribe(client(a.admin), CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
  await ready(sub, a.tenant.id, probe.id);
  await events.publish('CREDENTIAL_CHANGED', { tenantId: a.tenant.id, credentialId: other.id });
  await eventually(async () => sub.results.length > 0);
  expect(sub.results[0].data).toBeNull();
  expect(sub.results[0].errors[0].extensions.code).toBe('NOT_FOUND');
  expect(JSON.stringify(sub.results)).not.toContain(b.tenant.id);
});

it('subscribing to another tenant is NOT_FOUND, worded like a random tenant id', async () => {
  const other = subscribe(client(a.admin), CREDENTIAL_CHANGED, { tenantId: b.tenant.id });
  const random = subscribe(client(a.admin), CREDENTIAL_CHANGED, { tenantId: randomUUID() });
  const alerts = subscribe(client(a.viewer), ALERT_RAISED, { tenantId: b.tenant.id });
  await eventually(async () => other.done && random.done && alerts.done);
  for (const sub of [other, random, alerts]) {
    expect(sub.results).toHaveLength(1);
    expect(sub.results[0].errors[0].extensions.code).toBe('NOT_FOUND');
  }
  expect(other.results[0].errors[0].message).toBe(random.results[0].errors[0].message);
  // The platform admin may watch any existing tenant, but a random id is NOT_FOUND for it too.
  const admin = subscribe(client(ADMIN_TOKEN), CREDENTIAL_CHANGED, { tenantId: randomUUID() });
  await eventually(async () => admin.done);
  expect(admin.results[0].errors[0].extensions.code).toBe('NOT_FOUND');
});

it('refuses connections without a valid token (4403), and queries over WebSocket', async () => {
  for (const token of [null, 'kp_' + 'x'.repeat(43), 'not-a-token']) {
    const sub = subscribe(client(token), CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
    await eventually(async () => sub.error !== undefined);
    expect((sub.error as { code?: number }).code).toBe(4403);
    expect(sub.results).toHaveLength(0);
  }
  const query = subscribe(client(a.admin), '{ viewer { __typename } }', {});
  await eventually(async () => query.error !== undefined || query.done);
  expect((query.error as any[])[0].extensions.code).toBe('BAD_REQUEST');
});

it('reports bad subscriptions with the same codes as HTTP, never echoing a variable', async () => {
  const c = client(a.admin);
  const parse = subscribe(c, 'subscription {', {});
  const invalid = subscribe(c, 'subscription { noSuchField }', {});
  const variable = subscribe(c, CREDENTIAL_CHANGED, { tenantId: { secret: 'sk-proj-echo-canary-0123456789' } });
  await eventually(async () => parse.error !== undefined && invalid.error !== undefined && variable.done);
  expect((parse.error as any[])[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  expect((invalid.error as any[])[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(variable.results[0].errors[0].extensions.code).toBe('BAD_USER_INPUT');
  expect(JSON.stringify(variable.results)).not.toContain('echo-canary');
});

it('a token revoked after connecting loses its socket (4401) and cannot start another subscription', async () => {
  const { token, id } = await createToken(t, a.tenant.id, 'VIEWER');
  const c = client(token);
  const first = subscribe(c, CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
  const probe = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId });
  await ready(first, a.tenant.id, probe.id);
  await expectOk(
    t.gql('mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { userErrors { code } } }', { input: { id } }, a.admin),
    'revokeApiToken',
  );
  await eventually(async () => first.error !== undefined);
  expect((first.error as { code?: number }).code).toBe(4401);
  // The client connects again for a new subscription: the revoked token is refused at the door.
  const second = subscribe(c, ALERT_RAISED, { tenantId: a.tenant.id });
  await eventually(async () => second.error !== undefined);
  expect((second.error as { code?: number }).code).toBe(4403);
  expect(second.results).toHaveLength(0);
});

it("delivers key reuse alerts as ids, for the tenant's own alerts only", async () => {
  const credA = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId });
  const credB = await createCredential(t, b.admin, { tenantId: b.tenant.id, providerId });
  const insertAlert = async (tenantId: string, credentialId: string): Promise<string> => {
    const [row] = await t.app.db.query(
      `INSERT INTO key_reuse_alerts (tenant_id, credential_id, fingerprint, severity, scope, status, last_seen_at)
       VALUES ($1, $2, $3, 'HIGH', 'OTHER_TENANT', 'OPEN', now()) RETURNING id`,
      [tenantId, credentialId, Buffer.alloc(32, 1)],
    );
    return row.id;
  };
  const alertA = await insertAlert(a.tenant.id, credA.id);
  const alertB = await insertAlert(b.tenant.id, credB.id);
  const sub = subscribe(client(a.viewer), ALERT_RAISED, { tenantId: a.tenant.id });
  await eventually(async () => {
    await events.publish('KEY_REUSE_ALERT', { tenantId: b.tenant.id, alertId: alertB });
    await events.publish('KEY_REUSE_ALERT', { tenantId: a.tenant.id, alertId: alertA });
    await new Promise((r) => setTimeout(r, 30));
    return sub.results.length > 0;
  });
  expect(sub.results[0]).toEqual({ data: { keyReuseAlertRaised: { tenantId: a.tenant.id, alertId: alertA, credentialId: credA.id } } });
  expect(JSON.stringify(sub.results)).not.toContain(alertB);
  expect(JSON.stringify(sub.results)).not.toContain(b.tenant.id);
});

it('drops malformed or oversized messages on the channel instead of delivering them', async () => {
  const probe = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId });
  const sub = subscribe(client(a.admin), CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
  await ready(sub, a.tenant.id, probe.id);
  {
    for (const message of [
      'not json',
      '{}',
      JSON.stringify({ tenantId: a.tenant.id }),
      JSON.stringify({ tenantId: a.tenant.id, credentialId: 'x'.repeat(65) }),
      JSON.stringify({ tenantId: [a.tenant.id], credentialId: probe.id }),
    ]) {
      await rawLivePublish(prefix, 'CREDENTIAL_CHANGED', message);
    }
    await rawLivePublish(
      prefix,
      'CREDENTIAL_CHANGED',
      JSON.stringify({ tenantId: a.tenant.id, credentialId: probe.id, secret: 'sk-proj-should-never-travel' }),
    );
  }
  await eventually(async () => sub.results.length > 0);
  await new Promise((r) => setTimeout(r, 100));
  expect(sub.results).toHaveLength(1);
  expect(sub.results[0].data.credentialChanged.credentialId).toBe(probe.id);
  expect(JSON.stringify(sub.results)).not.toContain('should-never-travel');
});

it('closes open subscriptions when the API shuts down (1001, clients reconnect elsewhere)', async () => {
  const other = await startTestApp({ QUEUE_PREFIX: prefix });
  const c = createClient({
    url: other.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${a.admin}` },
    retryAttempts: 0,
  });
  clients.push(c);
  const closed: number[] = [];
  c.on('closed', (e) => void closed.push((e as { code: number }).code));
  const sub = subscribe(c, CREDENTIAL_CHANGED, { tenantId: a.tenant.id });
  await eventually(async () => {
    await events.publish('CREDENTIAL_CHANGED', { tenantId: a.tenant.id, credentialId: randomUUID() });
    return sub.results.length > 0;
  });
  const started = Date.now();
  await other.close();
  expect(Date.now() - started).toBeLessThan(3000);
  await eventually(async () => closed.length > 0);
  expect(closed[0]).toBe(1001);
});
