import { createGateway, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
let providerId: string;
let providerSlug: string;
const secrets: string[] = [];
const created: string[] = [];

const CREATE = `mutation($input: CreatePlatformKeyInput!) {
  createPlatformKey(input: $input) { platformKey { id label priority redactedKey createdAt revokedAt provider { id } } userErrors { field code message } }
}`;
const REVOKE = `mutation($input: RevokePlatformKeyInput!) {
  revokePlatformKey(input: $input) { platformKey { id revokedAt } userErrors { field code message } }
}`;
const LIST = `query($providerId: ID) { platformKeys(providerId: $providerId) { id label priority redactedKey revokedAt provider { slug } } }`;

beforeAll(async () => {
  t = await startTestApp();
  // Platform keys are global: a provider of our own keeps them away from other suites' gateways.
  providerSlug = uniqueSlug('pkprov');
  const res = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: {
        slug: providerSlug,
        name: 'Platform test',
        baseUrl: 'http://127.0.0.1:9',
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPrefixes: ['sk-proj-'],
        keyPattern: '^sk-',
      },
    }),
    'upsertProvider',
  );
  providerId = res.provider.id;
});
afterAll(async () => {
  for (const id of created) await t.gql(REVOKE, { input: { id } });
  await t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
    input: { slug: providerSlug, enabled: false },
  });
  await t.close();
});

async function create(input: Record<string, unknown> = {}) {
  const secret = openaiKey();
  secrets.push(secret);
  const payload = await expectOk<any>(t.gql(CREATE, { input: { providerId, label: uniqueSlug('pk'), secret, ...input } }), 'createPlatformKey');
  created.push(payload.platformKey.id);
  return { ...payload.platformKey, secret };
}

it('a platform admin adds a key: sealed at rest, shown redacted, listed by provider', async () => {
  const key = await create({ priority: 3 });
  expect(key).toMatchObject({ priority: 3, revokedAt: null, provider: { id: providerId } });
  expect(key.redactedKey).toBe(`sk-proj-…${key.secret.slice(-4)}`);
  const [row] = await t.app.db.query('SELECT kek_version, wrapped_key, ciphertext FROM platform_keys WHERE id = $1', [key.id]);
  expect(row.kek_version).toBe(1);
  expect(row.ciphertext.toString('latin1')).not.toContain(key.secret.slice(10, 22));
  const next = await create();
  expect(next.priority).toBe(4);
  const listed = (await t.gql(LIST, { providerId })).data.platformKeys;
  expect(listed.map((k: any) => k.id)).toEqual([key.id, next.id]);
  expect(listed[0].provider.slug).toBe(providerSlug);
  expect((await t.gql(LIST, { providerId: 'not-a-uuid' })).data.platformKeys).toEqual([]);
  const [audit] = await t.app.db.query(
    `SELECT tenant_id, actor_type, details FROM audit_events WHERE action = 'PLATFORM_KEY_CREATED' AND target_id = $1`,
    [key.id],
  );
  expect(audit).toMatchObject({ tenant_id: null, actor_type: 'PLATFORM_ADMIN', details: { provider: providerSlug, redactedKey: key.redactedKey } });
});

it('checks the secret, label, priority and provider like credentials do, all at once, without echoing the key', async () => {
  const bad = 'not-a-provider-key-CANARYvalue';
  const res = await t.gql(CREATE, { input: { providerId, label: ' ', secret: bad, priority: 5000 } });
  const errors = res.data.createPlatformKey.userErrors;
  expect(errors.map((e: any) => e.code).sort()).toEqual(['KEY_FORMAT_MISMATCH', 'LABEL_INVALID', 'OUT_OF_RANGE']);
  expect(res.raw).not.toContain(bad);
  const shape = await t.gql(CREATE, { input: { providerId: '00000000-0000-4000-8000-000000000000', label: 'x', secret: 'sk-two\nlines' } });
  expect(shape.data.createPlatformKey.userErrors.map((e: any) => e.code).sort()).toEqual(['SECRET_MULTILINE', 'UNKNOWN_PROVIDER']);
  expect(await t.app.db.query('SELECT 1 FROM platform_keys WHERE label = $1', [' '])).toHaveLength(0);
});

it('only the platform admin may see or change platform keys', async () => {
  const { admin, viewer } = await tenantWithTokens(t);
  const key = await create();
  for (const token of [admin, viewer]) {
    expect((await t.gql(LIST, {}, token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const add = await t.gql(CREATE, { input: { providerId, label: 'nope', secret: openaiKey() } }, token);
    expect(add.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(REVOKE, { input: { id: key.id } }, token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }
  expect(await t.app.db.query(`SELECT 1 FROM platform_keys WHERE label = 'nope'`)).toHaveLength(0);
  const [row] = await t.app.db.query('SELECT revoked_at FROM platform_keys WHERE id = $1', [key.id]);
  expect(row.revoked_at).toBeNull();
});

it('adding or revoking a key reloads exactly the gateways that may be served it', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const gw = async (mode: string | null, override?: string) => {
    const g = await createGateway(t, admin, tenant.id);
    if (mode)
      await t.gql(
        'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }',
        { input: { id: g.gateway.id, credentialMode: mode } },
        admin,
      );
    if (override) {
      await t.gql(
        'mutation($input: SetGatewayProviderModeInput!) { setGatewayProviderMode(input: $input) { userErrors { code } } }',
        {
          input: { gatewayId: g.gateway.id, providerId, credentialMode: override },
        },
        admin,
      );
    }
    return g.gateway.id as string;
  };
  const hybrid = await gw('HYBRID');
  const bundled = await gw('BUNDLED');
  const overridden = await gw(null, 'HYBRID');
  const userProvided = await gw(null);
  const optedOut = await gw('BUNDLED', 'USER_PROVIDED');
  const versions = async () =>
    Object.fromEntries(
      (await t.app.db.query('SELECT id, config_version FROM gateways WHERE tenant_id = $1', [tenant.id])).map((r: any) => [r.id, r.config_version]),
    );
  const before = await versions();
  const key = await create();
  const after = await versions();
  for (const id of [hybrid, bundled, overridden]) expect(after[id]).toBe(before[id] + 1);
  for (const id of [userProvided, optedOut]) expect(after[id]).toBe(before[id]);
  const reloads = await t.app.db.query(
    `SELECT payload->>'gatewayId' AS id FROM outbox WHERE job_name = 'gateway-reload' AND payload->>'reason' = 'PLATFORM_KEYS_CHANGED' AND tenant_id = $1`,
    [tenant.id],
  );
  expect(reloads.map((r: any) => r.id).sort()).toEqual([hybrid, bundled, overridden].sort());

  const revoked = await expectOk<any>(t.gql(REVOKE, { input: { id: key.id } }), 'revokePlatformKey');
  expect(revoked.platformKey.revokedAt).toEqual(expect.any(String));
  expect((await versions())[hybrid]).toBe(after[hybrid] + 1);
  const [row] = await t.app.db.query('SELECT kek_version, wrapped_key, ciphertext, redacted_key FROM platform_keys WHERE id = $1', [key.id]);
  expect(row).toEqual({ kek_version: null, wrapped_key: null, ciphertext: null, redacted_key: key.redactedKey });
  const [audit] = await t.app.db.query(`SELECT tenant_id, details FROM audit_events WHERE action = 'PLATFORM_KEY_REVOKED' AND target_id = $1`, [
    key.id,
  ]);
  expect(audit).toMatchObject({ tenant_id: null, details: { reloadedGateways: expect.any(Number) } });
});

it('revoking twice, or an unknown id, is a userError', async () => {
  const key = await create();
  await expectOk(t.gql(REVOKE, { input: { id: key.id } }), 'revokePlatformKey');
  const again = await t.gql(REVOKE, { input: { id: key.id } });
  expect(again.data.revokePlatformKey.userErrors).toEqual([{ field: ['input', 'id'], code: 'ALREADY_REVOKED', message: expect.any(String) }]);
  for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
    const res = await t.gql(REVOKE, { input: { id } });
    expect(res.data.revokePlatformKey.userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND', message: 'Platform key not found.' }]);
  }
});

it('platform keys never reach logs, responses or the database in clear', async () => {
  expect(secrets.length).toBeGreaterThan(3);
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
