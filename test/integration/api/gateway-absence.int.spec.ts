import { createGateway, createTenant, createToken, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { activeCredential, attachCredential, revokeCredential } from '../../factories/credentials';
import { createProvider, disableProviders } from '../../factories/providers';
import { contractFetch } from '../../helpers/contracts';

/*
 * Explicit absence: the gateway config lists every provider a gateway could use, and one with no
 * usable key says NO_USABLE_KEY with a reason, in every mode. Real API, real config route.
 */
let t: TestApp;
const slugs: string[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await disableProviders(t, slugs);
  await t.close();
});

async function newProvider(): Promise<{ id: string; slug: string }> {
  const slug = uniqueSlug('absent');
  slugs.push(slug);
  return createProvider(t, { slug, name: slug });
}

async function activeKey(token: string, tenantId: string, providerId: string) {
  const secret = openaiKey();
  secrets.push(secret);
  return (await activeCredential(t, token, { tenantId, providerId, secret })).id;
}

const gql = (doc: string, input: Record<string, unknown>, token?: string) => t.gql(doc, { input }, token);
const MODE = 'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }';
const OVERRIDE = 'mutation($input: SetGatewayProviderModeInput!) { setGatewayProviderMode(input: $input) { userErrors { code } } }';
const PLATFORM_KEY = 'mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { code } } }';
const REVOKE_PLATFORM = 'mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }';

async function pull(gatewayKey: string, etag?: string) {
  const res = await contractFetch(`${t.url}/v1/gateway/config`, {
    headers: { authorization: `Bearer ${gatewayKey}`, ...(etag ? { 'if-none-match': etag } : {}) },
  });
  const text = res.text;
  return { status: res.status, etag: res.headers.get('etag'), text, body: text ? JSON.parse(text) : null };
}
const of = (body: any, id: string) => body.providers.find((p: any) => p.provider.id === id);
const shape = (e: any) => e && { mode: e.mode, status: e.status, reason: e.reason, served: e.credentials.length };

it('USER_PROVIDED: every enabled provider is listed; none attached, revoked, invalid each say so', async () => {
  const p = await newProvider();
  const { tenant, admin } = await tenantWithTokens(t);
  const gw = await createGateway(t, admin, tenant.id);
  const first = await pull(gw.gatewayKey);
  // Nothing attached at all: the built-in catalog and this provider are listed, none of them usable.
  expect(shape(of(first.body, p.id))).toEqual({ mode: 'USER_PROVIDED', status: 'NO_USABLE_KEY', reason: 'NO_KEY', served: 0 });
  expect(first.body.providers.map((e: any) => e.provider.slug)).toEqual(expect.arrayContaining(['anthropic', 'openai']));
  expect(first.body.providers.every((e: any) => e.status === 'NO_USABLE_KEY' && e.reason === 'NO_KEY')).toBe(true);

  const key = await activeKey(admin, tenant.id, p.id);
  await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: key });
  const ok = await pull(gw.gatewayKey, first.etag!);
  expect(ok.status).toBe(200);
  expect(shape(of(ok.body, p.id))).toEqual({ mode: 'USER_PROVIDED', status: 'OK', reason: null, served: 1 });

  await t.app.db.query(`UPDATE credentials SET status = 'INVALID' WHERE id = $1`, [key]);
  await t.app.services.invalidations.sync(); // a change from another connection is heard within the notification latency
  const invalid = await pull(gw.gatewayKey, ok.etag!);
  expect(invalid.status).toBe(200);
  expect(shape(of(invalid.body, p.id))).toMatchObject({ status: 'NO_USABLE_KEY', reason: 'INVALID' });

  await revokeCredential(t, admin, key);
  const revoked = await pull(gw.gatewayKey, invalid.etag!);
  expect(revoked.status).toBe(200);
  expect(revoked.etag).not.toBe(invalid.etag);
  expect(shape(of(revoked.body, p.id))).toEqual({ mode: 'USER_PROVIDED', status: 'NO_USABLE_KEY', reason: 'ALL_REVOKED', served: 0 });
  expect(of(revoked.body, p.id).message).toContain('revoked');
  expect((await pull(gw.gatewayKey, revoked.etag!)).status).toBe(304);
});

it('BUNDLED and HYBRID: no platform key is NO_KEY, revoked platform keys are PLATFORM_KEYS_REVOKED; never a silent fallback', async () => {
  const p = await newProvider();
  const { tenant, admin } = await tenantWithTokens(t);
  const bundled = await createGateway(t, admin, tenant.id);
  const hybrid = await createGateway(t, admin, tenant.id);
  await expectOk(gql(MODE, { id: bundled.gateway.id, credentialMode: 'BUNDLED' }, admin), 'updateGateway');
  await expectOk(gql(MODE, { id: hybrid.gateway.id, credentialMode: 'HYBRID' }, admin), 'updateGateway');
  const mine = await activeKey(admin, tenant.id, p.id);
  await attachCredential(t, admin, { gatewayId: bundled.gateway.id, credentialId: mine });
  expect(shape(of((await pull(bundled.gatewayKey)).body, p.id))).toEqual({ mode: 'BUNDLED', status: 'NO_USABLE_KEY', reason: 'NO_KEY', served: 0 });
  expect(shape(of((await pull(hybrid.gatewayKey)).body, p.id))).toEqual({ mode: 'HYBRID', status: 'NO_USABLE_KEY', reason: 'NO_KEY', served: 0 });

  const secret = openaiKey();
  secrets.push(secret);
  const pk = (await expectOk<any>(gql(PLATFORM_KEY, { providerId: p.id, label: 'pk', secret }), 'createPlatformKey')).platformKey.id;
  expect(shape(of((await pull(bundled.gatewayKey)).body, p.id))).toEqual({ mode: 'BUNDLED', status: 'OK', reason: null, served: 1 });
  await expectOk(gql(REVOKE_PLATFORM, { id: pk }), 'revokePlatformKey');
  const after = await pull(bundled.gatewayKey);
  expect(shape(of(after.body, p.id))).toEqual({ mode: 'BUNDLED', status: 'NO_USABLE_KEY', reason: 'PLATFORM_KEYS_REVOKED', served: 0 });
  // The attached tenant key is not served in BUNDLED mode, revoked platform keys or not.
  expect(after.text).not.toContain(secrets.at(-2)!);
  expect(shape(of((await pull(hybrid.gatewayKey)).body, p.id))).toEqual({
    mode: 'HYBRID',
    status: 'NO_USABLE_KEY',
    reason: 'PLATFORM_KEYS_REVOKED',
    served: 0,
  });
});

it('per-provider override and tenant PLATFORM mode: the reason follows the effective mode', async () => {
  const p = await newProvider();
  const { tenant, admin } = await tenantWithTokens(t);
  const gw = await createGateway(t, admin, tenant.id);
  await expectOk(gql(OVERRIDE, { gatewayId: gw.gateway.id, providerId: p.id, credentialMode: 'BUNDLED' }, admin), 'setGatewayProviderMode');
  expect(of((await pull(gw.gatewayKey)).body, p.id)).toMatchObject({
    mode: 'BUNDLED',
    modeSource: 'PROVIDER_OVERRIDE',
    status: 'NO_USABLE_KEY',
    reason: 'NO_KEY',
  });

  const platformTenant = await createTenant(t, { byokMode: 'PLATFORM' });
  const ptAdmin = (await createToken(t, platformTenant.id, 'ADMIN')).token;
  const pgw = await createGateway(t, ptAdmin, platformTenant.id);
  const secret = openaiKey();
  secrets.push(secret);
  const pk = (await expectOk<any>(gql(PLATFORM_KEY, { providerId: p.id, label: 'pk', secret }), 'createPlatformKey')).platformKey.id;
  const served = await pull(pgw.gatewayKey);
  expect(of(served.body, p.id)).toMatchObject({ mode: 'BUNDLED', modeSource: 'TENANT_PLATFORM', status: 'OK', reason: null });
  await expectOk(gql(REVOKE_PLATFORM, { id: pk }), 'revokePlatformKey');
  // The last platform key is gone: the provider stays listed, explicitly unusable (not `providers: []`).
  const gone = await pull(pgw.gatewayKey, served.etag!);
  expect(gone.status).toBe(200);
  expect(of(gone.body, p.id)).toMatchObject({
    mode: 'BUNDLED',
    modeSource: 'TENANT_PLATFORM',
    status: 'NO_USABLE_KEY',
    reason: 'PLATFORM_KEYS_REVOKED',
    credentials: [],
  });
  expect(of(gone.body, p.id).message).toMatch(/revoked.*never replaced silently/);
});

it('a disabled provider still attached is PROVIDER_DISABLED; a disabled one nobody uses is not listed', async () => {
  const [used, unused] = [await newProvider(), await newProvider()];
  const { tenant, admin } = await tenantWithTokens(t);
  const gw = await createGateway(t, admin, tenant.id);
  const key = await activeKey(admin, tenant.id, used.id);
  await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: key });
  await t.app.db.query(`UPDATE credentials SET status = 'INVALID' WHERE id = $1`, [key]);
  await t.app.services.invalidations.sync(); // a change from another connection is heard within the notification latency
  for (const slug of [used.slug, unused.slug])
    await t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
      input: { slug, enabled: false },
    });
  const body = (await pull(gw.gatewayKey)).body;
  expect(of(body, used.id)).toMatchObject({ status: 'NO_USABLE_KEY', reason: 'PROVIDER_DISABLED' });
  expect(of(body, unused.id)).toBeUndefined();
});

it('no key of this suite reaches responses, logs or the database in clear', async () => {
  const hits = scanTexts(
    [
      ...t.logs.map((text, i) => ({ where: `log ${i}`, text })),
      ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
      ...(await dumpDatabase(t.app.db)),
    ],
    secrets,
  );
  expect(describeHits(hits)).toBe('');
});
