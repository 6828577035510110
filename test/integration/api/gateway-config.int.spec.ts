import { createCredential, createGateway, expectOk, tenantWithTokens } from '../../factories';
import { detachCredential, promoteRotation, revokeCredential, rotateCredential } from '../../factories/credentials';
import { forProvider, gatewayFeedSuite, SET_PROVIDER_MODE } from '../../helpers/gateway-feed';
import type { TestApp } from '../../helpers/test-app';

/*
 * The gateway credential feed, end to end: real API, real database. Worker outcomes (a key became
 * ACTIVE, a rotation promoted) are seeded in SQL, as the validate-credential processor would.
 * Which keys each credential mode serves: gateway-config-modes.int.spec.ts.
 */
const feed = gatewayFeedSuite();
const { newProvider, platformKey, activeKey, attach, setMode, pull } = feed;
let t: TestApp;
beforeAll(() => {
  t = feed.t;
});

describe('authentication', () => {
  it('rejects a missing, malformed, foreign or rotated-away key with 401 and never echoes it', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    for (const key of [null, 'garbage', admin, `kpg_${'A'.repeat(43)}`]) {
      const res = await pull(key);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
      if (key) expect(res.text).not.toContain(key);
    }
    expect((await pull(gw.gatewayKey)).status).toBe(200);
    const rotated = await expectOk<any>(
      t.gql(
        'mutation($input: RotateGatewayKeyInput!) { rotateGatewayKey(input: $input) { gatewayKey userErrors { code } } }',
        { input: { id: gw.gateway.id } },
        admin,
      ),
      'rotateGatewayKey',
    );
    expect((await pull(gw.gatewayKey)).status).toBe(401);
    expect((await pull(rotated.gatewayKey)).status).toBe(200);
  });
});

describe('USER_PROVIDED', () => {
  it('serves active attached keys in priority order, decrypted, and skips the unusable ones with a reason', async () => {
    const provider = await newProvider();
    await platformKey(provider.id);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const first = await activeKey(admin, tenant.id, provider.id);
    const second = await activeKey(admin, tenant.id, provider.id);
    const invalid = await activeKey(admin, tenant.id, provider.id);
    await t.app.db.query(`UPDATE credentials SET status = 'INVALID' WHERE id = $1`, [invalid.id]);
    const pending = await createCredential(t, admin, { tenantId: tenant.id, providerId: provider.id, secret: feed.remember() });
    await attach(admin, gw.gateway.id, second.id, 5);
    await attach(admin, gw.gateway.id, first.id, 1);
    await attach(admin, gw.gateway.id, invalid.id, 0);
    await attach(admin, gw.gateway.id, pending.id, 9);

    const res = await pull(gw.gatewayKey);
    expect(res.status).toBe(200);
    expect(res.cacheControl).toBe('no-store');
    expect(res.body).toMatchObject({ gatewayId: gw.gateway.id, configVersion: 5, generatedAt: expect.any(String) });
    const entry = forProvider(res.body, provider.id);
    expect(entry).toMatchObject({
      provider: { id: provider.id, slug: provider.slug, baseUrl: 'http://127.0.0.1:9', authScheme: 'BEARER' },
      mode: 'USER_PROVIDED',
      status: 'OK',
    });
    expect(entry.credentials).toEqual([
      {
        source: 'TENANT',
        credentialId: first.id,
        label: first.label,
        version: 1,
        state: 'ACTIVE',
        retireAfter: null,
        redactedKey: expect.stringMatching(/^sk-proj-…/),
        key: first.secret,
      },
      expect.objectContaining({ source: 'TENANT', credentialId: second.id, key: second.secret }),
    ]);
    expect(entry.skipped).toEqual([
      { source: 'TENANT', credentialId: invalid.id, label: invalid.label, reason: 'INVALID' },
      { source: 'TENANT', credentialId: pending.id, label: expect.any(String), reason: 'NOT_VALIDATED' },
    ]);
    expect(entry.message).toContain('(INVALID)');
  });

  it('serves a rotated key first and the previous one during its grace period only', async () => {
    const provider = await newProvider();
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const key = await activeKey(admin, tenant.id, provider.id);
    await attach(admin, gw.gateway.id, key.id);
    const before = await pull(gw.gatewayKey);
    const { secret: next } = await rotateCredential(t, admin, key.id, feed.remember());
    // Pending: the current version keeps serving alone.
    const pending = await pull(gw.gatewayKey, { 'if-none-match': before.etag! });
    expect(pending.status).toBe(304);
    // Promotion, as the worker does it, with a grace period for the old key.
    await promoteRotation(t, key.id, '1 hour');
    const rotated = await pull(gw.gatewayKey, { 'if-none-match': before.etag! });
    expect(rotated.status).toBe(200);
    expect(rotated.etag).not.toBe(before.etag);
    expect(forProvider(rotated.body, provider.id).credentials.map((c: any) => [c.version, c.state, c.key])).toEqual([
      [2, 'ACTIVE', next],
      [1, 'PREVIOUS', key.secret],
    ]);
    expect(forProvider(rotated.body, provider.id).credentials[1].retireAfter).toEqual(expect.any(String));
    await t.app.db.query(`UPDATE credential_versions SET retire_after = now() - interval '1 second' WHERE credential_id = $1 AND version = 1`, [
      key.id,
    ]);
    // A change made in SQL, not through the API: wait until the API heard its change notification
    // (the API's own mutations do this before answering), or the pull can race the invalidation.
    await t.app.services.invalidations.sync();
    const retired = await pull(gw.gatewayKey, { 'if-none-match': rotated.etag! });
    expect(retired.status).toBe(200);
    expect(forProvider(retired.body, provider.id).credentials.map((c: any) => c.key)).toEqual([next]);
  });

  it('says NO_USABLE_KEY when nothing attached is usable, and a revoked key disappears', async () => {
    const provider = await newProvider();
    await platformKey(provider.id);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const key = await activeKey(admin, tenant.id, provider.id);
    await attach(admin, gw.gateway.id, key.id);
    await expectOk(
      t.gql(SET_PROVIDER_MODE, { input: { gatewayId: gw.gateway.id, providerId: provider.id, credentialMode: 'USER_PROVIDED' } }, admin),
      'setGatewayProviderMode',
    );
    await revokeCredential(t, admin, key.id);
    const entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry).toMatchObject({ mode: 'USER_PROVIDED', modeSource: 'PROVIDER_OVERRIDE', status: 'NO_USABLE_KEY', credentials: [] });
    expect(entry.message).toMatch(/No usable key .*USER_PROVIDED.*Platform keys are not used/);
  });
});

describe('ETag and drift', () => {
  const DRIFT = `query($id: ID!) { gateway(id: $id) { configVersion pulledConfigVersion pulledAt drift { upToDate versionsBehind laggingSinceSeconds } } }`;
  const LAGGING = `query($tenantId: ID!, $lagging: Boolean) { gateways(tenantId: $tenantId, lagging: $lagging) { nodes { id } } }`;

  it('answers 304 while nothing changed and 200 with a new ETag after every kind of change', async () => {
    const provider = await newProvider();
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const key = await activeKey(admin, tenant.id, provider.id);
    const first = await pull(gw.gatewayKey);
    expect(first.etag).toMatch(/^"1-[A-Za-z0-9_-]{22}"$/);
    const same = await pull(gw.gatewayKey, { 'if-none-match': first.etag! });
    expect(same).toMatchObject({ status: 304, text: '', etag: first.etag, cacheControl: 'no-store' });
    expect((await pull(gw.gatewayKey, { 'if-none-match': '"1-other"' })).status).toBe(200);

    const changes: (() => Promise<unknown>)[] = [
      () => attach(admin, gw.gateway.id, key.id),
      () => setMode(admin, gw.gateway.id, 'HYBRID'),
      () => platformKey(provider.id),
      () => t.gql(SET_PROVIDER_MODE, { input: { gatewayId: gw.gateway.id, providerId: provider.id, credentialMode: 'USER_PROVIDED' } }, admin),
      () => detachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: key.id }),
    ];
    let etag = first.etag!;
    for (const change of changes) {
      await change();
      const res = await pull(gw.gatewayKey, { 'if-none-match': etag });
      expect(res.status).toBe(200);
      expect(res.etag).not.toBe(etag);
      etag = res.etag!;
      expect((await pull(gw.gatewayKey, { 'if-none-match': etag })).status).toBe(304);
    }
  });

  it('shows whether a gateway picked up the latest version, and how long it has lagged', async () => {
    const provider = await newProvider();
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const other = await createGateway(t, admin, tenant.id);
    let g = (await t.gql(DRIFT, { id: gw.gateway.id }, viewer)).data.gateway;
    expect(g).toMatchObject({ configVersion: 1, pulledConfigVersion: null, pulledAt: null, drift: { upToDate: false, versionsBehind: 1 } });

    await pull(gw.gatewayKey);
    g = (await t.gql(DRIFT, { id: gw.gateway.id }, viewer)).data.gateway;
    expect(g).toMatchObject({
      pulledConfigVersion: 1,
      pulledAt: expect.any(String),
      drift: { upToDate: true, versionsBehind: 0, laggingSinceSeconds: null },
    });
    const lagging = async (value: boolean) =>
      (await t.gql(LAGGING, { tenantId: tenant.id, lagging: value }, viewer)).data.gateways.nodes.map((n: any) => n.id);
    expect(await lagging(false)).toEqual([gw.gateway.id]);
    expect(await lagging(true)).toEqual([other.gateway.id]);

    await attach(admin, gw.gateway.id, (await activeKey(admin, tenant.id, provider.id)).id);
    g = (await t.gql(DRIFT, { id: gw.gateway.id }, viewer)).data.gateway;
    expect(g).toMatchObject({ configVersion: 2, pulledConfigVersion: 1, drift: { upToDate: false, versionsBehind: 1 } });
    expect(g.drift.laggingSinceSeconds).toBeGreaterThanOrEqual(0);
    expect((await lagging(true)).sort()).toEqual([gw.gateway.id, other.gateway.id].sort());

    // A 304 counts as picking the version up too.
    const before = await pull(gw.gatewayKey);
    await t.app.db.query('UPDATE gateways SET pulled_config_version = 1 WHERE id = $1', [gw.gateway.id]);
    // As on an API process that has not served this gateway yet (its ETag cache is cold).
    await t.app.db.query("SELECT pg_notify('keyplane_invalidate', $1)", [tenant.id]);
    await t.app.services.invalidations.sync();
    expect((await pull(gw.gatewayKey, { 'if-none-match': before.etag! })).status).toBe(304);
    g = (await t.gql(DRIFT, { id: gw.gateway.id }, viewer)).data.gateway;
    expect(g).toMatchObject({ pulledConfigVersion: 2, drift: { upToDate: true } });
  });
});

describe('tenancy', () => {
  it("never serves another tenant's credential, even when attached in SQL", async () => {
    const provider = await newProvider();
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    const gw = await createGateway(t, a.admin, a.tenant.id);
    const theirs = await activeKey(b.admin, b.tenant.id, provider.id);
    for (const owner of [a.tenant.id, b.tenant.id]) {
      await t.app.db.query(
        'INSERT INTO gateway_credentials (gateway_id, credential_id, tenant_id, provider_id, priority) VALUES ($1, $2, $3, $4, 0)',
        [gw.gateway.id, theirs.id, owner, provider.id],
      );
      const res = await pull(gw.gatewayKey);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(theirs.secret);
      expect(res.text).not.toContain(theirs.id);
      await t.app.db.query('DELETE FROM gateway_credentials WHERE gateway_id = $1', [gw.gateway.id]);
    }
  });

  it("another tenant's gateway answers setGatewayProviderMode exactly like a random id", async () => {
    const provider = await newProvider();
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    const theirs = await createGateway(t, b.admin, b.tenant.id);
    const codes = [];
    for (const gatewayId of [theirs.gateway.id, '00000000-0000-4000-8000-000000000000']) {
      const res = await t.gql(SET_PROVIDER_MODE, { input: { gatewayId, providerId: provider.id, credentialMode: 'BUNDLED' } }, a.admin);
      codes.push(res.data.setGatewayProviderMode.userErrors);
    }
    expect(codes[0]).toEqual([{ field: ['input', 'gatewayId'], code: 'NOT_FOUND' }]);
    expect(codes[1]).toEqual(codes[0]);
    expect(await t.app.db.query('SELECT 1 FROM gateway_provider_modes WHERE gateway_id = $1', [theirs.gateway.id])).toHaveLength(0);
    const mine = await createGateway(t, a.admin, a.tenant.id);
    const badProvider = await t.gql(
      SET_PROVIDER_MODE,
      { input: { gatewayId: mine.gateway.id, providerId: '00000000-0000-4000-8000-000000000000', credentialMode: 'BUNDLED' } },
      a.admin,
    );
    expect(badProvider.data.setGatewayProviderMode.userErrors).toEqual([{ field: ['input', 'providerId'], code: 'NOT_FOUND' }]);
  });
});

describe('leaks', () => {
  it('no tenant or platform key served here ever reaches logs, GraphQL responses or the database in clear', async () => {
    await feed.expectNoLeaks(10);
  });
});
