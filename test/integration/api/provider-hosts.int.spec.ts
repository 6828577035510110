import { createLogger } from '../../../src/logger';
import { pinBuiltInHosts } from '../../../src/modules/provider/provider-hosts';
import {
  createCredential,
  createGateway,
  createTenant,
  createToken,
  expectOk,
  openaiKey,
  providerId,
  tenantWithTokens,
  uniqueSlug,
} from '../../factories';
import { attachCredential } from '../../factories/credentials';
import { createPlatformKey, createProvider, revokePlatformKey } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { pullConfig } from '../../helpers/gateway-feed';
import { describeHits, dumpDatabase, dumpQueueStore, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { drain as drainQueues, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/*
 * Keys go only where their tenant sent them: real API, real workers and real fake providers that
 * count requests. A host change holds every stored key until its own tenant confirms the new host.
 */
let t: TestApp;
let w: TestWorkers;
let oldHost: FakeProvider;
let newHost: FakeProvider;
const secrets: string[] = [];
const logs: string[][] = [];

beforeAll(async () => {
  t = await startTestApp();
  logs.push(t.logs);
  [oldHost, newHost] = [await startFakeProvider(), await startFakeProvider()];
  w = await startTestWorkers(t);
});
afterAll(async () => {
  await w.close();
  await Promise.all([oldHost.close(), newHost.close()]);
  await t.close();
});

const UPSERT = 'mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id baseUrl } userErrors { field code } } }';
const CONFIRM = `mutation($input: ConfirmProviderHostInput!) {
  confirmProviderHost(input: $input) { hostStatus { providerId baseUrl confirmedBaseUrl awaitingConfirmation liveKeys } userErrors { field code } } }`;
const AUDIT =
  'query($id: ID!, $action: String) { auditEvents(tenantId: $id, action: $action, first: 50) { nodes { action actorType targetId details } } }';
const REVALIDATE = 'mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { userErrors { code } } }';
const TEST_KEY = 'mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome } userErrors { field code } } }';

/** Relays the outbox and waits until no validation job is left to run. */
const drain = () => drainQueues(w, { queues: ['credentials'] });

const sentKeys = (fake: FakeProvider) => fake.requests.map((r) => String(r.headers.authorization ?? '').replace(/^Bearer /, ''));

async function key(token: string, tenantId: string, provider: string, secret = openaiKey()) {
  secrets.push(secret);
  return { id: (await createCredential(t, token, { tenantId, providerId: provider, secret })).id, secret };
}

const pull = (gatewayKey: string, etag?: string) => pullConfig(t.url, gatewayKey, etag ? { 'if-none-match': etag } : {});

const entry = (body: any, id: string) => body.providers.find((p: any) => p.provider.id === id);

it('a built-in provider cannot be repointed through the API: typed userError, nothing changes', async () => {
  const before = await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'");
  const audits = (await t.app.db.query('SELECT count(*)::int AS n FROM audit_events'))[0].n;
  const res = await t.gql(UPSERT, { input: { slug: 'openai', baseUrl: newHost.baseUrl, keyPattern: '^sk-changed' } });
  expect(res.data.upsertProvider).toEqual({ provider: null, userErrors: [{ field: ['input', 'baseUrl'], code: 'BUILT_IN_PROVIDER_PINNED' }] });
  expect(await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'")).toEqual(before);
  expect((await t.app.db.query('SELECT count(*)::int AS n FROM audit_events'))[0].n).toBe(audits);
});

describe('a custom provider moves to another host', () => {
  let provider: { id: string; slug: string };
  let a: Awaited<ReturnType<typeof tenantWithTokens>>;
  let b: Awaited<ReturnType<typeof tenantWithTokens>>;
  let bystander: Awaited<ReturnType<typeof tenantWithTokens>>;
  let keyA: { id: string; secret: string };
  let keyB: { id: string; secret: string };
  let gw: { gatewayKey: string };
  let etagBefore: string;

  beforeAll(async () => {
    const slug = uniqueSlug('moving');
    const res = await expectOk<any>(
      t.gql(UPSERT, {
        input: {
          slug,
          name: 'Moving',
          baseUrl: oldHost.baseUrl,
          authScheme: 'BEARER',
          apiShape: 'OPENAI',
          keyPrefixes: ['sk-proj-'],
          keyPattern: '^sk-',
        },
      }),
      'upsertProvider',
    );
    provider = { id: res.provider.id, slug };
    [a, b, bystander] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
    keyA = await key(a.admin, a.tenant.id, provider.id);
    keyB = await key(b.admin, b.tenant.id, provider.id);
    for (const fake of [oldHost, newHost]) for (const k of [keyA, keyB]) fake.allow(k.secret);
    await drain();
    expect(sentKeys(oldHost).sort()).toEqual([keyA.secret, keyB.secret].sort());
    gw = await createGateway(t, a.admin, a.tenant.id);
    await attachCredential(t, a.admin, { gatewayId: (gw as any).gateway.id, credentialId: keyA.id });
    const served = await pull(gw.gatewayKey);
    expect(entry(served.body, provider.id)).toMatchObject({ status: 'OK', reason: null });
    etagBefore = served.etag!;
    oldHost.requests.length = 0;
    await expectOk(t.gql(UPSERT, { input: { slug, baseUrl: newHost.baseUrl } }), 'upsertProvider');
  });

  it('no stored key reaches the new host: re-checks and key tests hold back', async () => {
    for (const [token, k] of [
      [a.admin, keyA],
      [b.admin, keyB],
    ] as const) {
      await expectOk(t.gql(REVALIDATE, { input: { id: k.id } }, token), 'revalidateCredential');
    }
    await drain();
    const probe = openaiKey();
    secrets.push(probe);
    newHost.allow(probe);
    const tested = await t.gql(TEST_KEY, { input: { providerId: provider.id, secret: probe } }, a.admin);
    expect(tested.data.testProviderKey).toEqual({ result: null, userErrors: [{ field: ['input', 'providerId'], code: 'HOST_NOT_CONFIRMED' }] });
    expect(newHost.requests).toHaveLength(0);
    expect(oldHost.requests).toHaveLength(0);
    const rows = await t.app.db.query('SELECT status FROM credentials WHERE id = ANY($1)', [[keyA.id, keyB.id]]);
    expect(rows.map((r: any) => r.status)).toEqual(['ACTIVE', 'ACTIVE']);
  });

  it('the gateway config stops serving the key and says why; the ETag changes', async () => {
    const res = await pull(gw.gatewayKey, etagBefore);
    expect(res.status).toBe(200);
    expect(res.etag).not.toBe(etagBefore);
    expect(entry(res.body, provider.id)).toMatchObject({
      provider: { baseUrl: newHost.baseUrl },
      status: 'NO_USABLE_KEY',
      reason: 'AWAITING_HOST_CONFIRMATION',
      credentials: [],
      skipped: [{ source: 'TENANT', credentialId: keyA.id, label: expect.any(String), reason: 'AWAITING_HOST_CONFIRMATION' }],
    });
    expect(res.text).not.toContain(keyA.secret);
    expect((await pull(gw.gatewayKey, res.etag!)).status).toBe(304);
  });

  it('refuses a viewer, the platform admin, a stale host and another tenant; none of them releases anything', async () => {
    const input = { tenantId: a.tenant.id, providerId: provider.id, baseUrl: newHost.baseUrl };
    expect((await t.gql(CONFIRM, { input }, a.viewer)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(CONFIRM, { input })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const stale = await t.gql(CONFIRM, { input: { ...input, baseUrl: oldHost.baseUrl } }, a.admin);
    expect(stale.data.confirmProviderHost.userErrors).toEqual([{ field: ['input', 'baseUrl'], code: 'HOST_CHANGED' }]);
    const foreign = await t.gql(CONFIRM, { input }, b.admin);
    expect(foreign.data.confirmProviderHost.userErrors).toEqual([{ field: ['input', 'tenantId'], code: 'NOT_FOUND' }]);
    // B confirms for itself: only B's key goes to the new host.
    const own = await expectOk<any>(t.gql(CONFIRM, { input: { ...input, tenantId: b.tenant.id } }, b.admin), 'confirmProviderHost');
    expect(own.hostStatus).toMatchObject({ confirmedBaseUrl: newHost.baseUrl, awaitingConfirmation: false, liveKeys: 1 });
    await drain();
    expect(sentKeys(newHost)).toEqual([keyB.secret]);
    expect(entry((await pull(gw.gatewayKey)).body, provider.id).reason).toBe('AWAITING_HOST_CONFIRMATION');
    const hosts = (
      await t.gql(
        'query($id: ID!) { providerHosts(tenantId: $id) { providerId confirmedBaseUrl awaitingConfirmation } }',
        { id: a.tenant.id },
        a.viewer,
      )
    ).data.providerHosts;
    expect(hosts).toEqual([{ providerId: provider.id, confirmedBaseUrl: oldHost.baseUrl, awaitingConfirmation: true }]);
  });

  it("the tenant's own confirmation of the current host releases its key, to that host only", async () => {
    newHost.requests.length = 0;
    const before = await pull(gw.gatewayKey);
    const done = await expectOk<any>(
      t.gql(CONFIRM, { input: { tenantId: a.tenant.id, providerId: provider.id, baseUrl: `${newHost.baseUrl}/` } }, a.admin),
      'confirmProviderHost',
    );
    expect(done.hostStatus).toMatchObject({ baseUrl: newHost.baseUrl, awaitingConfirmation: false });
    await drain();
    expect(sentKeys(newHost)).toEqual([keyA.secret]);
    expect(oldHost.requests).toHaveLength(0);
    const after = await pull(gw.gatewayKey, before.etag!);
    expect(after.status).toBe(200);
    expect(entry(after.body, provider.id)).toMatchObject({
      status: 'OK',
      reason: null,
      credentials: [expect.objectContaining({ credentialId: keyA.id, key: keyA.secret })],
    });
  });

  it('each affected tenant sees the host change and its confirmation in its own trail; a bystander sees nothing', async () => {
    const trail = (await t.gql(AUDIT, { id: a.tenant.id }, a.viewer)).data.auditEvents.nodes.filter((n: any) => n.targetId === provider.id);
    expect(trail.map((n: any) => n.action)).toEqual(['PROVIDER_HOST_CONFIRMED', 'PROVIDER_HOST_CHANGED']);
    expect(trail[1]).toMatchObject({
      actorType: 'PLATFORM_ADMIN',
      details: {
        provider: provider.slug,
        previousBaseUrl: oldHost.baseUrl,
        baseUrl: newHost.baseUrl,
        source: 'UPSERT_PROVIDER',
        awaitingConfirmation: true,
      },
    });
    expect(trail[0]).toMatchObject({
      actorType: 'API_TOKEN',
      details: { baseUrl: newHost.baseUrl, previousBaseUrl: oldHost.baseUrl, recheckedVersions: 1 },
    });
    const theirs = (await t.gql(AUDIT, { id: bystander.tenant.id, action: 'PROVIDER_HOST_CHANGED' }, bystander.viewer)).data.auditEvents.nodes;
    expect(theirs).toEqual([]);
  });
});

it('an operator host for a built-in, applied at start, holds keys until confirmed', async () => {
  const e = await tenantWithTokens(t);
  const xai = await providerId(t, 'xai');
  const secret = `xai-${openaiKey()
    .slice(8, 40)
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
  const k = await key(e.admin, e.tenant.id, xai, secret);
  newHost.reset();
  newHost.allow(secret);
  const t2 = await startTestApp({ PROVIDER_BASE_URL_XAI: `${newHost.baseUrl}/` });
  logs.push(t2.logs);
  try {
    expect((await t.app.db.query("SELECT base_url FROM providers WHERE slug = 'xai'"))[0].base_url).toBe(newHost.baseUrl);
    expect(t2.logs.join('')).toContain(`"baseUrl":"${newHost.baseUrl}"`);
    const [row] = (await t.gql(AUDIT, { id: e.tenant.id, action: 'PROVIDER_HOST_CHANGED' }, e.viewer)).data.auditEvents.nodes;
    expect(row).toMatchObject({
      actorType: 'SYSTEM',
      details: { source: 'OPERATOR_CONFIG', previousBaseUrl: 'https://api.x.ai', baseUrl: newHost.baseUrl, awaitingConfirmation: true },
    });
    await drain(); // the create-time check: held, never sent anywhere
    expect(newHost.requests).toHaveLength(0);
    await expectOk(t.gql(CONFIRM, { input: { tenantId: e.tenant.id, providerId: xai, baseUrl: newHost.baseUrl } }, e.admin), 'confirmProviderHost');
    await drain();
    expect(sentKeys(newHost)).toEqual([secret]);
    expect((await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [k.id]))[0].status).toBe('ACTIVE');
  } finally {
    await t2.close();
    // Back to the real host, as the next start without the variable would do.
    await pinBuiltInHosts(t.app.db, {}, createLogger('silent'));
  }
  expect((await t.app.db.query("SELECT base_url FROM providers WHERE slug = 'xai'"))[0].base_url).toBe('https://api.x.ai');
});

it('a platform key change reaches the trail of tenants served platform keys, and no other', async () => {
  const slug = uniqueSlug('pkhost');
  const q = (await createProvider(t, { slug, name: slug })).id;
  const platformTenant = await createTenant(t, { byokMode: 'PLATFORM' });
  const viewer = (await createToken(t, platformTenant.id, 'VIEWER')).token;
  const admin = (await createToken(t, platformTenant.id, 'ADMIN')).token;
  const gw = await createGateway(t, admin, platformTenant.id);
  const byok = await tenantWithTokens(t);
  await createGateway(t, byok.admin, byok.tenant.id);
  const { id: pk, secret } = await createPlatformKey(t, q, { label: 'pk' });
  secrets.push(secret);
  expect(entry((await pull(gw.gatewayKey)).body, q)).toMatchObject({ status: 'OK', credentials: [expect.objectContaining({ platformKeyId: pk })] });
  await revokePlatformKey(t, pk);
  const after = await pull(gw.gatewayKey);
  expect(entry(after.body, q)).toMatchObject({
    mode: 'BUNDLED',
    modeSource: 'TENANT_PLATFORM',
    status: 'NO_USABLE_KEY',
    reason: 'PLATFORM_KEYS_REVOKED',
    credentials: [],
  });
  const mine = (await t.gql(AUDIT, { id: platformTenant.id, action: 'PLATFORM_KEYS_CHANGED' }, viewer)).data.auditEvents.nodes;
  expect(mine.map((n: any) => [n.targetId, n.details.change])).toEqual([
    [pk, 'REVOKED'],
    [pk, 'CREATED'],
  ]);
  expect(mine[0].details).toEqual({ change: 'REVOKED', providerId: q, platformKeyId: pk, provider: slug });
  expect((await t.gql(AUDIT, { id: byok.tenant.id, action: 'PLATFORM_KEYS_CHANGED' }, byok.viewer)).data.auditEvents.nodes).toEqual([]);
  await t.gql(UPSERT, { input: { slug, enabled: false } });
});

it('no key of this suite reaches responses, logs, tables or the queue store in clear', async () => {
  expect(secrets.length).toBeGreaterThan(4);
  {
    const hits = scanTexts(
      [
        ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
        ...logs.flatMap((lines, n) => lines.map((text, i) => ({ where: `app ${n} log line ${i}`, text }))),
        ...(await dumpDatabase(t.app.db)),
        ...(await dumpQueueStore(w.prefix)),
      ],
      secrets,
    );
    expect(describeHits(hits)).toBe('');
  }
});
