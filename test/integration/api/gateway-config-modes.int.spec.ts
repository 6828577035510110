import { createGateway, expectOk, tenantWithTokens } from '../../factories';
import { forProvider, gatewayFeedSuite, SET_PROVIDER_MODE } from '../../helpers/gateway-feed';
import type { TestApp } from '../../helpers/test-app';

/*
 * Which keys the gateway credential feed serves in each credential mode (BUNDLED, HYBRID, a
 * per-provider override, a tenant on platform keys). Tenant keys are made ACTIVE in SQL, as the
 * validate-credential processor would. The feed itself: gateway-config.int.spec.ts.
 */
const feed = gatewayFeedSuite();
const { newProvider, platformKey, activeKey, attach, setMode, pull } = feed;
let t: TestApp;
beforeAll(() => {
  t = feed.t;
});

describe('BUNDLED and HYBRID', () => {
  it('BUNDLED serves only platform keys, and the response is audited without the keys', async () => {
    const provider = await newProvider();
    const pk2 = await platformKey(provider.id, 2);
    const pk1 = await platformKey(provider.id, 1);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const mine = await activeKey(admin, tenant.id, provider.id);
    await attach(admin, gw.gateway.id, mine.id);
    await setMode(admin, gw.gateway.id, 'BUNDLED');
    const res = await pull(gw.gatewayKey);
    const entry = forProvider(res.body, provider.id);
    expect(entry).toMatchObject({ mode: 'BUNDLED', status: 'OK' });
    expect(entry.credentials).toEqual([
      expect.objectContaining({ source: 'PLATFORM', platformKeyId: pk1.id, key: pk1.secret, version: 1 }),
      expect.objectContaining({ source: 'PLATFORM', platformKeyId: pk2.id, key: pk2.secret }),
    ]);
    expect(res.text).not.toContain(mine.secret);
    const audit = await t.app.db.query(
      `SELECT actor_type, actor_id, details FROM audit_events WHERE tenant_id = $1 AND action = 'GATEWAY_PLATFORM_KEYS_SERVED'`,
      [tenant.id],
    );
    expect(audit).toHaveLength(1);
    // Earlier tests' platform keys (other providers) are served too: BUNDLED covers every provider.
    expect(audit[0]).toMatchObject({
      actor_type: 'SYSTEM',
      actor_id: gw.gateway.id,
      details: { providers: expect.arrayContaining([provider.slug]), platformKeyIds: expect.arrayContaining([pk1.id, pk2.id]) },
    });
    const served = res.body.providers.flatMap((p: any) => p.credentials.map((c: any) => c.platformKeyId));
    expect(audit[0].details.platformKeyIds).toEqual(served);
    // A 304 serves nothing, so it is not audited again.
    expect((await pull(gw.gatewayKey, { 'if-none-match': res.etag! })).status).toBe(304);
    expect(
      await t.app.db.query(`SELECT 1 FROM audit_events WHERE tenant_id = $1 AND action = 'GATEWAY_PLATFORM_KEYS_SERVED'`, [tenant.id]),
    ).toHaveLength(1);
  });

  it('HYBRID serves tenant keys first, then platform keys, each marked with its source', async () => {
    const provider = await newProvider();
    const pk = await platformKey(provider.id);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const mine = await activeKey(admin, tenant.id, provider.id);
    await attach(admin, gw.gateway.id, mine.id);
    await setMode(admin, gw.gateway.id, 'HYBRID');
    const entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry.credentials.map((c: any) => [c.source, c.credentialId ?? c.platformKeyId, c.key])).toEqual([
      ['TENANT', mine.id, mine.secret],
      ['PLATFORM', pk.id, pk.secret],
    ]);
    expect(
      await t.app.db.query(`SELECT 1 FROM audit_events WHERE tenant_id = $1 AND action = 'GATEWAY_PLATFORM_KEYS_SERVED'`, [tenant.id]),
    ).toHaveLength(1);
  });

  it('a per-provider override wins over the gateway mode, and clearing it restores the gateway mode', async () => {
    const provider = await newProvider();
    const pk = await platformKey(provider.id);
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const mine = await activeKey(admin, tenant.id, provider.id);
    await attach(admin, gw.gateway.id, mine.id);
    const input = { gatewayId: gw.gateway.id, providerId: provider.id, credentialMode: 'BUNDLED' };
    const denied = await t.gql(SET_PROVIDER_MODE, { input }, viewer);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const set = await expectOk<any>(t.gql(SET_PROVIDER_MODE, { input }, admin), 'setGatewayProviderMode');
    expect(set.gateway.providerModes).toEqual([{ provider: { id: provider.id }, credentialMode: 'BUNDLED' }]);
    let entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry).toMatchObject({ mode: 'BUNDLED', modeSource: 'PROVIDER_OVERRIDE' });
    expect(entry.credentials.map((c: any) => c.key)).toEqual([pk.secret]);
    const cleared = await expectOk<any>(t.gql(SET_PROVIDER_MODE, { input: { ...input, credentialMode: null } }, admin), 'setGatewayProviderMode');
    expect(cleared.gateway.providerModes).toEqual([]);
    expect(cleared.gateway.configVersion).toBe(set.gateway.configVersion + 1);
    entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry).toMatchObject({ mode: 'USER_PROVIDED', modeSource: 'GATEWAY' });
    expect(entry.credentials.map((c: any) => c.key)).toEqual([mine.secret]);
    const audit = await t.app.db.query(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'GATEWAY_PROVIDER_MODE_CHANGED' ORDER BY created_at`,
      [tenant.id],
    );
    expect(audit.map((a: any) => a.details.credentialMode)).toEqual(['BUNDLED', null]);
    const outbox = await t.app.db.query(
      `SELECT payload FROM outbox WHERE job_name = 'gateway-reload' AND payload->>'gatewayId' = $1 AND payload->>'reason' = 'MODE_CHANGED'`,
      [gw.gateway.id],
    );
    expect(outbox).toHaveLength(2);
  });

  it('a tenant that reverted to platform keys is served platform keys on every gateway', async () => {
    const provider = await newProvider();
    const pk = await platformKey(provider.id);
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const [{ slug }] = await t.app.db.query('SELECT slug FROM tenants WHERE id = $1', [tenant.id]);
    await expectOk(
      t.gql(
        'mutation($input: RevertToPlatformKeysInput!) { revertToPlatformKeys(input: $input) { userErrors { code } } }',
        { input: { tenantId: tenant.id, confirm: slug } },
        admin,
      ),
      'revertToPlatformKeys',
    );
    const entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry).toMatchObject({ mode: 'BUNDLED', modeSource: 'TENANT_PLATFORM', status: 'OK' });
    expect(entry.credentials.map((c: any) => c.platformKeyId)).toEqual([pk.id]);
  });
});

describe('leaks', () => {
  it('no tenant or platform key served here ever reaches logs, GraphQL responses or the database in clear', async () => {
    // This suite creates 8 keys (the feed suite 12): the floor only proves the scan is not vacuous.
    await feed.expectNoLeaks(7);
  });
});
