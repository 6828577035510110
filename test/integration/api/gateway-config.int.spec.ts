import { createCredential, createGateway, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * The gateway credential feed, end to end: real API, real database. Worker outcomes (a key became
 * ACTIVE, a rotation promoted) are seeded in SQL, as the validate-credential processor would.
 */
let t: TestApp;
const platformKeyIds: string[] = [];
const providerSlugs: string[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  // Platform keys and providers are global: leave nothing that could change other suites' gateways.
  for (const id of platformKeyIds)
    await t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', { input: { id } });
  for (const slug of providerSlugs)
    await t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
      input: { slug, enabled: false },
    });
  await t.close();
});

/** A fresh OpenAI-shaped provider per test, so platform keys of one test never reach another. */
async function newProvider(): Promise<{ id: string; slug: string }> {
  const slug = uniqueSlug('gwcfg');
  providerSlugs.push(slug);
  const res = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id slug } userErrors { code } } }', {
      input: {
        slug,
        name: `Provider ${slug}`,
        baseUrl: 'http://127.0.0.1:9',
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPrefixes: ['sk-proj-'],
        keyPattern: '^sk-',
      },
    }),
    'upsertProvider',
  );
  return res.provider;
}

async function platformKey(providerId: string, priority?: number): Promise<{ id: string; secret: string }> {
  const secret = openaiKey();
  secrets.push(secret);
  const res = await expectOk<any>(
    t.gql('mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { code message } } }', {
      input: { providerId, label: uniqueSlug('pk'), secret, priority },
    }),
    'createPlatformKey',
  );
  platformKeyIds.push(res.platformKey.id);
  return { id: res.platformKey.id, secret };
}

/** A tenant key, made ACTIVE the way the worker would after a successful check. */
async function activeKey(token: string, tenantId: string, providerId: string, label = uniqueSlug('key')) {
  const secret = openaiKey();
  secrets.push(secret);
  const c = await createCredential(t, token, { tenantId, providerId, secret, label });
  await t.app.db.query(`UPDATE credentials SET status = 'ACTIVE', current_version = 1 WHERE id = $1`, [c.id]);
  await t.app.db.query(`UPDATE credential_versions SET state = 'ACTIVE', activated_at = now() WHERE credential_id = $1`, [c.id]);
  return { id: c.id, secret, label };
}

async function attach(token: string, gatewayId: string, credentialId: string, priority?: number) {
  await expectOk(
    t.gql(
      'mutation($input: AttachCredentialInput!) { attachCredential(input: $input) { userErrors { code } } }',
      { input: { gatewayId, credentialId, priority } },
      token,
    ),
    'attachCredential',
  );
}

async function setMode(token: string, gatewayId: string, credentialMode: string) {
  await expectOk(
    t.gql(
      'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }',
      { input: { id: gatewayId, credentialMode } },
      token,
    ),
    'updateGateway',
  );
}

const SET_PROVIDER_MODE = `mutation($input: SetGatewayProviderModeInput!) {
  setGatewayProviderMode(input: $input) { gateway { configVersion providerModes { provider { id } credentialMode } } userErrors { field code } }
}`;

async function pull(key: string | null, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/v1/gateway/config`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });
  const text = await res.text();
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    cacheControl: res.headers.get('cache-control'),
    text,
    body: text ? JSON.parse(text) : null,
  };
}

const forProvider = (body: any, providerId: string) => body.providers.find((p: any) => p.provider.id === providerId);

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
    const pending = await createCredential(t, admin, { tenantId: tenant.id, providerId: provider.id });
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
    const next = openaiKey();
    secrets.push(next);
    await expectOk(
      t.gql(
        'mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { userErrors { code } } }',
        { input: { id: key.id, secret: next } },
        admin,
      ),
      'rotateCredential',
    );
    // Pending: the current version keeps serving alone.
    const pending = await pull(gw.gatewayKey, { 'if-none-match': before.etag! });
    expect(pending.status).toBe(304);
    // Promotion, as the worker does it, with a grace period for the old key.
    await t.app.db.query(
      `UPDATE credential_versions SET state = 'PREVIOUS', retire_after = now() + interval '1 hour' WHERE credential_id = $1 AND version = 1`,
      [key.id],
    );
    await t.app.db.query(`UPDATE credential_versions SET state = 'ACTIVE', activated_at = now() WHERE credential_id = $1 AND version = 2`, [key.id]);
    await t.app.db.query(`UPDATE credentials SET current_version = 2, status = 'ACTIVE' WHERE id = $1`, [key.id]);
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
    await expectOk(
      t.gql('mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { userErrors { code } } }', { input: { id: key.id } }, admin),
      'revokeCredential',
    );
    const entry = forProvider((await pull(gw.gatewayKey)).body, provider.id);
    expect(entry).toMatchObject({ mode: 'USER_PROVIDED', modeSource: 'PROVIDER_OVERRIDE', status: 'NO_USABLE_KEY', credentials: [] });
    expect(entry.message).toMatch(/No usable key .*USER_PROVIDED.*Platform keys are not used/);
  });
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
      () =>
        t.gql(
          'mutation($input: DetachCredentialInput!) { detachCredential(input: $input) { userErrors { code } } }',
          { input: { gatewayId: gw.gateway.id, credentialId: key.id } },
          admin,
        ),
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
    expect(secrets.length).toBeGreaterThan(10);
    const hits = scanTexts(
      [
        ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
        ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
        ...(await dumpDatabase(t.app.db)),
      ],
      secrets,
    );
    expect(describeHits(hits)).toBe('');
  });
});
