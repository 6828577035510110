import { Client } from 'pg';
import { createCredential, createGateway, createToken, expectOk, providerId, tenantWithTokens } from '../../factories';
import { attachCredential, markActive, promoteRotation, rotateCredential } from '../../factories/credentials';
import { createProvider } from '../../factories/providers';
import { eventually } from '../../helpers/test-worker';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';
import { letTimePass } from '../../helpers/time';
import { contractFetch } from '../../helpers/contracts';

/*
 * The API keeps token lookups, gateway ETags and provider rows in memory and drops them on
 * PostgreSQL change notifications. These tests change the database from outside the app (another
 * connection, as another API process or psql would) and through the app, and check that nothing
 * stale is ever served: after a mutation at once, after an outside change as soon as it is heard,
 * and never while the listener is down.
 */
let t: TestApp;
let outside: Client;

beforeAll(async () => {
  t = await startTestApp();
  outside = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  await outside.connect();
});
afterAll(async () => {
  await outside.end();
  await t.close();
});
afterEach(() => jest.restoreAllMocks());

const VIEWER = '{ viewer { role } }';
const VIEWER_TENANT = '{ viewer { role tenant { id } } }';

async function pull(key: string, etag?: string) {
  const res = await contractFetch(`${t.url}/v1/gateway/config`, {
    headers: { authorization: `Bearer ${key}`, ...(etag ? { 'if-none-match': etag } : {}) },
  });
  const text = res.text;
  return { status: res.status, etag: res.headers.get('etag'), body: text ? JSON.parse(text) : null };
}

/** Changes rows without firing triggers: what a cache serving stale data would not notice. */
async function silently(sql: string, params: unknown[]): Promise<void> {
  await outside.query('BEGIN');
  await outside.query("SET LOCAL session_replication_role = 'replica'");
  await outside.query(sql, params);
  await outside.query('COMMIT');
}

/** Statements sent by any pg client from now on, except the off-path last_used_at touch. */
function countQueries() {
  const spy = jest.spyOn(Client.prototype, 'query');
  return {
    spy,
    get calls(): string[] {
      return spy.mock.calls
        .map(([q]) => (typeof q === 'string' ? q : String((q as { text?: string })?.text)))
        .filter((q) => !q.startsWith('UPDATE api_tokens SET last_used_at'));
    },
  };
}

describe('API tokens', () => {
  it('a known token is resolved from memory: no query', async () => {
    const { admin } = await tenantWithTokens(t);
    expect((await t.gql(VIEWER, {}, admin)).data.viewer.role).toBe('ADMIN');
    const queries = countQueries();
    for (let i = 0; i < 3; i++) expect((await t.gql(VIEWER, {}, admin)).data.viewer.role).toBe('ADMIN');
    expect(queries.calls).toEqual([]);
  });

  it('a token revoked through the API fails on the very next request', async () => {
    for (let i = 0; i < 5; i++) {
      const { tenant, admin, viewer, viewerTokenId } = await tenantWithTokens(t);
      expect((await t.gql(VIEWER_TENANT, {}, viewer)).data.viewer.tenant.id).toBe(tenant.id);
      await expectOk(
        t.gql(
          'mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { userErrors { code } } }',
          { input: { id: viewerTokenId } },
          admin,
        ),
        'revokeApiToken',
      );
      const after = await t.gql(VIEWER, {}, viewer);
      expect(after.status).toBe(401);
      expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('a mutation answers only after this process has heard its notifications; a query does not wait', async () => {
    // Notifications usually beat the HTTP answer anyway, so the test above passes even without
    // this wait; this checks the wait is there.
    const { tenant, admin } = await tenantWithTokens(t);
    const sync = jest.spyOn(t.app.services.invalidations, 'sync');
    await t.gql(VIEWER, {}, admin);
    expect(sync).not.toHaveBeenCalled();
    await createToken(t, tenant.id, 'VIEWER');
    expect(sync).toHaveBeenCalledTimes(1);
  });

  it('concurrent mutations share their waits: at most two round trips, each covering every earlier commit', async () => {
    const { tenant } = await tenantWithTokens(t);
    const queries = countQueries();
    // A change committed elsewhere, then 20 concurrent waits: it must have been heard by then.
    const tokens = await Promise.all(Array.from({ length: 20 }, () => createToken(t, tenant.id, 'VIEWER')));
    const heard: string[] = [];
    const stop = t.app.services.invalidations.onInvalidate((scope) => heard.push(scope));
    queries.spy.mockClear();
    await outside.query('UPDATE api_tokens SET revoked_at = now() WHERE id = ANY($1)', [tokens.map((x) => x.id)]);
    await Promise.all(Array.from({ length: 20 }, () => t.app.services.invalidations.sync()));
    stop();
    expect(heard).toContain(tenant.id);
    expect(queries.calls.filter((q) => q === 'SELECT 1').length).toBeLessThanOrEqual(2);
  });

  it('a token revoked by another process (another connection) stops working as soon as the change is heard', async () => {
    const { admin, adminTokenId } = await tenantWithTokens(t);
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(200);
    await outside.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [adminTokenId]);
    await t.app.services.invalidations.sync();
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(401);
  });

  it('the cache is really used (a change that sends no notification is not seen) and a notification drops it', async () => {
    const { admin, adminTokenId, tenant } = await tenantWithTokens(t);
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(200);
    await silently('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [adminTokenId]);
    // Only triggers (disabled here) say a row changed: this is the stale read they prevent.
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(200);
    await outside.query("SELECT pg_notify('keyplane_invalidate', $1)", [tenant.id]);
    await t.app.services.invalidations.sync();
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(401);
  });

  it("another tenant's change does not drop this tenant's entries", async () => {
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    await t.gql(VIEWER, {}, a.admin);
    await outside.query("UPDATE api_tokens SET role = 'VIEWER' WHERE id = $1", [b.adminTokenId]);
    await t.app.services.invalidations.sync();
    const queries = countQueries();
    expect((await t.gql(VIEWER, {}, a.admin)).status).toBe(200);
    expect(queries.calls).toEqual([]);
  });

  it('while the listener is down nothing is served from memory; it reconnects and caches again', async () => {
    const { admin, adminTokenId } = await tenantWithTokens(t);
    expect((await t.gql(VIEWER, {}, admin)).status).toBe(200);
    // This app's listener only (other suites' apps may share the database).
    const pid = (t.app.services.invalidations as unknown as { client: { processID: number } }).client.processID;
    expect((await outside.query('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok).toBe(true);
    await eventually(async () => !t.app.services.invalidations.listening, 5000);
    // A change nobody hears about: without a listener it must still be seen, from the database.
    await silently("UPDATE api_tokens SET role = 'VIEWER' WHERE id = $1", [adminTokenId]);
    expect((await t.gql(VIEWER, {}, admin)).data.viewer.role).toBe('VIEWER');
    await eventually(async () => t.app.services.invalidations.listening, 10_000);
    await t.gql(VIEWER, {}, admin);
    const queries = countQueries();
    expect((await t.gql(VIEWER, {}, admin)).data.viewer.role).toBe('VIEWER');
    expect(queries.calls).toEqual([]);
  });

  it('a lookup that races a change is not cached', async () => {
    const { admin, adminTokenId, tenant } = await tenantWithTokens(t);
    const auth = t.app.services.auth;
    // The notification arrives while the lookup is in flight (between its ticket and its store).
    const original = t.app.db.query.bind(t.app.db);
    jest.spyOn(t.app.db, 'query').mockImplementationOnce(async (sql: string, params?: any) => {
      const rows = await original(sql, params);
      await silently('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [adminTokenId]);
      await outside.query("SELECT pg_notify('keyplane_invalidate', $1)", [tenant.id]);
      await t.app.services.invalidations.sync();
      return rows;
    });
    await expect(auth.authenticate(`Bearer ${admin}`)).resolves.toMatchObject({ tenantId: tenant.id });
    // Had the in-flight result been kept, this would still pass from memory.
    await expect(auth.authenticate(`Bearer ${admin}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('gateway config ETags', () => {
  async function gatewayWithKey() {
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const openai = await providerId(t, 'openai');
    const c = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai });
    await markActive(t, c.id);
    await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: c.id });
    return { tenant, admin, gatewayId: gw.gateway.id, key: gw.gatewayKey, credentialId: c.id };
  }

  it('a matching poll is answered from memory; a change made elsewhere gives a 200 once heard', async () => {
    const gw = await gatewayWithKey();
    const first = await pull(gw.key);
    expect(first.status).toBe(200);
    const queries = countQueries();
    expect((await pull(gw.key, first.etag!)).status).toBe(304);
    expect(queries.calls).toEqual([]);
    queries.spy.mockRestore();

    await outside.query("UPDATE credentials SET label = 'renamed elsewhere' WHERE id = $1", [gw.credentialId]);
    await t.app.services.invalidations.sync();
    const changed = await pull(gw.key, first.etag!);
    expect(changed.status).toBe(200);
    expect(changed.etag).not.toBe(first.etag);
  });

  it('a rotated gateway key stops working on the next poll', async () => {
    const gw = await gatewayWithKey();
    const first = await pull(gw.key);
    expect((await pull(gw.key, first.etag!)).status).toBe(304);
    await expectOk(
      t.gql(
        'mutation($input: RotateGatewayKeyInput!) { rotateGatewayKey(input: $input) { gatewayKey userErrors { code } } }',
        { input: { id: gw.gatewayId } },
        gw.admin,
      ),
      'rotateGatewayKey',
    );
    expect((await pull(gw.key, first.etag!)).status).toBe(401);
  });

  it('a detached credential gives a new config on the next poll', async () => {
    const gw = await gatewayWithKey();
    const first = await pull(gw.key);
    expect((await pull(gw.key, first.etag!)).status).toBe(304);
    await expectOk(
      t.gql(
        'mutation($input: DetachCredentialInput!) { detachCredential(input: $input) { userErrors { code } } }',
        { input: { gatewayId: gw.gatewayId, credentialId: gw.credentialId } },
        gw.admin,
      ),
      'detachCredential',
    );
    expect((await pull(gw.key, first.etag!)).status).toBe(200);
  });

  it('a cached ETag ends with the grace period it serves, without any write', async () => {
    const gw = await gatewayWithKey();
    // Rotated: version 2 serves, version 1 stays served (PREVIOUS) until 1.5 s from now.
    await rotateCredential(t, gw.admin, gw.credentialId);
    await promoteRotation(t, gw.credentialId, '1500 milliseconds');
    await t.app.services.invalidations.sync();
    const during = await pull(gw.key);
    expect(during.status).toBe(200);
    // Every enabled provider is listed (explicit absence): the served one is the one with keys.
    const served = during.body.providers.filter((p: any) => p.credentials.length > 0);
    expect(served.map((p: any) => p.credentials.map((c: any) => c.state))).toEqual([['ACTIVE', 'PREVIOUS']]);
    expect((await pull(gw.key, during.etag!)).status).toBe(304);
    await letTimePass(1700); // the 1.5 s grace period runs out: the feature under test is time itself
    const after = await pull(gw.key, during.etag!);
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(during.etag);
  });
});

describe('provider catalog', () => {
  it('a provider disabled by a platform admin refuses new keys at once', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const slug = `cache-${Date.now()}`;
    const created = { provider: await createProvider(t, { slug, name: slug }) };
    await createCredential(t, admin, { tenantId: tenant.id, providerId: created.provider.id });
    await expectOk(
      t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', { input: { slug, enabled: false } }),
      'upsertProvider',
    );
    const refused = await t.gql(
      'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }',
      { input: { tenantId: tenant.id, providerId: created.provider.id, label: 'after disable', secret: 'sk-proj-' + 'a'.repeat(40) } },
      admin,
    );
    expect(refused.data.createCredential.userErrors).toEqual([{ code: 'PROVIDER_DISABLED' }]);
  });
});

describe('with CACHE_TTL_SECONDS=0', () => {
  let off: TestApp;
  beforeAll(async () => {
    off = await startTestApp({ CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => off.close());

  it('every request looks its token up', async () => {
    const { admin } = await tenantWithTokens(off);
    await off.gql(VIEWER, {}, admin);
    const queries = countQueries();
    await off.gql(VIEWER, {}, admin);
    expect(queries.calls).toEqual([expect.stringContaining('FROM api_tokens')]);
  });
});
