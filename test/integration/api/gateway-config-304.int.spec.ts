import { Client } from 'pg';
import { createCredential, createGateway, expectOk, tenantWithTokens, uniqueSlug } from '../../factories';
import { attachCredential, markActive } from '../../factories/credentials';
import { createPlatformKey, createProvider, disableProviders, revokePlatformKeys } from '../../factories/providers';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { contractFetch } from '../../helpers/contracts';

/*
 * The cost of a gateway poll whose ETag still matches: the common case, every few seconds per
 * gateway. It must authenticate and decide in one query and decrypt nothing.
 */
let t: TestApp;
let providerSlug: string;
let platformKeyId: string;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  // Platform keys and providers are global: leave nothing that could reach other suites' gateways.
  if (platformKeyId) await revokePlatformKeys(t, [platformKeyId]);
  if (providerSlug) await disableProviders(t, [providerSlug]);
  await t.close();
});
afterEach(() => jest.restoreAllMocks());

async function pull(key: string, etag?: string) {
  const res = await contractFetch(`${t.url}/v1/gateway/config`, {
    headers: { authorization: `Bearer ${key}`, ...(etag ? { 'if-none-match': etag } : {}) },
  });
  const text = res.text;
  return { status: res.status, etag: res.headers.get('etag')!, body: text ? JSON.parse(text) : null };
}

/** A HYBRID gateway served one tenant key and one platform key, so a 200 decrypts both kinds. */
async function hybridGateway() {
  providerSlug = uniqueSlug('gw304');
  const provider = { provider: await createProvider(t, { slug: providerSlug, name: providerSlug }) };
  platformKeyId = (await createPlatformKey(t, provider.provider.id)).id;
  const { tenant, admin } = await tenantWithTokens(t);
  const gw = await createGateway(t, admin, tenant.id);
  const c = await createCredential(t, admin, { tenantId: tenant.id, providerId: provider.provider.id });
  await markActive(t, c.id);
  await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: c.id });
  await expectOk(
    t.gql(
      'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }',
      { input: { id: gw.gateway.id, credentialMode: 'HYBRID' } },
      admin,
    ),
    'updateGateway',
  );
  return { key: gw.gatewayKey, credentialId: c.id, providerId: provider.provider.id as string, tenantId: tenant.id as string };
}

it('a 304 runs no query once the tag is known, one when it is not, and decrypts nothing; a 200 decrypts', async () => {
  const gw = await hybridGateway();
  const first = await pull(gw.key);
  expect(first.status).toBe(200);
  expect(first.body.providers.find((p: any) => p.provider.id === gw.providerId).credentials).toHaveLength(2);

  const open = jest.spyOn(t.app.services.box, 'open');
  // Every statement of every pool client (TypeORM's and the prepared ones alike) goes through here.
  const query = jest.spyOn(Client.prototype, 'query');
  for (let i = 0; i < 3; i++) expect((await pull(gw.key, first.etag)).status).toBe(304);
  expect(open).not.toHaveBeenCalled();
  expect(query).not.toHaveBeenCalled();

  // The tenant's cache entries dropped (as after any change): one query decides, then memory again.
  await t.app.db.query("SELECT pg_notify('keyplane_invalidate', $1)", [gw.tenantId]);
  await t.app.services.invalidations.sync();
  query.mockClear();
  for (let i = 0; i < 3; i++) expect((await pull(gw.key, first.etag)).status).toBe(304);
  expect(query).toHaveBeenCalledTimes(1);
  expect(open).not.toHaveBeenCalled();

  query.mockClear();
  const changed = await pull(gw.key, '"1-stale"');
  expect(changed).toMatchObject({ status: 200, etag: first.etag });
  expect(open).toHaveBeenCalledTimes(2);
  // Metadata, then the material; the platform keys served are audited (no pull write: recorded < 10 s ago).
  expect(query.mock.calls.filter(([q]) => !/^(START TRANSACTION|COMMIT|INSERT INTO "?audit_events)/i.test(textOf(q)))).toHaveLength(2);
});

it('a config served without a key that would not decrypt is not cached under the full config tag', async () => {
  const gw = await hybridGateway();
  const full = await pull(gw.key);
  const [saved] = await t.app.db.query('SELECT ciphertext FROM credential_versions WHERE credential_id = $1', [gw.credentialId]);
  const broken = Buffer.from(saved.ciphertext);
  broken[broken.length - 1] ^= 1;
  await t.app.db.query('UPDATE credential_versions SET ciphertext = $2 WHERE credential_id = $1', [gw.credentialId, broken]);
  // Nothing served changed as far as the gateway can tell: it keeps the copy it has.
  expect((await pull(gw.key, full.etag)).status).toBe(304);
  const degraded = await pull(gw.key);
  expect(degraded.status).toBe(200);
  expect(degraded.etag).not.toBe(full.etag);
  expect(degraded.body.providers.find((p: any) => p.provider.id === gw.providerId).skipped).toEqual([
    expect.objectContaining({ reason: 'UNREADABLE' }),
  ]);
  // The degraded copy never earns a 304, so the gateway picks the key up as soon as it reads again.
  expect((await pull(gw.key, degraded.etag)).status).toBe(200);
  await t.app.db.query('UPDATE credential_versions SET ciphertext = $2 WHERE credential_id = $1', [gw.credentialId, saved.ciphertext]);
  const healed = await pull(gw.key, degraded.etag);
  expect(healed).toMatchObject({ status: 200, etag: full.etag });
  expect((await pull(gw.key, healed.etag)).status).toBe(304);
});

function textOf(q: unknown): string {
  return typeof q === 'string' ? q.trim() : String((q as { text?: string })?.text ?? '').trim();
}

it('a known poll is answered before fastify routes it, with the same 304, headers and metric', async () => {
  const gw = await hybridGateway();
  const first = await pull(gw.key);
  const raw = (etag: string) => fetch(`${t.url}/v1/gateway/config`, { headers: { authorization: `Bearer ${gw.key}`, 'if-none-match': etag } });
  const pullSpy = jest.spyOn(t.app.services.gatewayConfig, 'pull');
  const metric = async () => {
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('keyplane_http_request_duration_seconds_count{') &&
          l.includes('route="/v1/gateway/config"') &&
          l.includes('status_code="304"'),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const before = await metric();
  const fast = await raw(first.etag);
  expect(fast.status).toBe(304);
  expect(await fast.text()).toBe('');
  expect(pullSpy).not.toHaveBeenCalled();
  expect(await metric()).toBe(before + 1);

  // The same answer the route gives when it has to decide (here: a cold cache).
  await t.app.db.query("SELECT pg_notify('keyplane_invalidate', $1)", [gw.tenantId]);
  await t.app.services.invalidations.sync();
  const routed = await raw(first.etag);
  expect(pullSpy).toHaveBeenCalledTimes(1);
  for (const name of ['cache-control', 'etag']) expect(fast.headers.get(name)).toBe(routed.headers.get(name));
  expect(routed.status).toBe(304);

  // Anything else goes to the route: a changed config, a bad key, a HEAD.
  pullSpy.mockClear();
  expect((await raw('"1-stale"')).status).toBe(200);
  expect((await fetch(`${t.url}/v1/gateway/config`, { headers: { authorization: 'Bearer kpg_nope', 'if-none-match': first.etag } })).status).toBe(
    401,
  );
  expect(
    (await fetch(`${t.url}/v1/gateway/config`, { method: 'HEAD', headers: { authorization: `Bearer ${gw.key}`, 'if-none-match': first.etag } }))
      .status,
  ).toBe(304);
  expect(pullSpy).toHaveBeenCalledTimes(3);
});
