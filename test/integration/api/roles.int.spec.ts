import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import {
  createCredential,
  createGateway,
  createToken,
  expectOk,
  insertDeadDelivery,
  insertKeyReuseAlert,
  insertRotationReminder,
  openaiKey,
  providerId,
  tenantWithTokens,
  uniqueSlug,
} from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { ADMIN_TOKEN, startTestApp, type GqlResult, type TestApp } from '../../helpers/test-app';

/** Roles: VIEWER reads only, tenant ADMIN stays out of platform operations, bad tokens get 401. */

let t: TestApp;
let fake: FakeProvider;
let openai: string;
let W: {
  tenantId: string;
  slug: string;
  admin: string;
  adminTokenId: string;
  viewer: string;
  viewerTokenId: string;
  spareTokenId: string;
  credId: string;
  cred2Id: string;
  gwId: string;
  customProviderId: string;
  alertId: string;
  deliveryId: string;
  reminderId: string;
  platformKeyId: string;
};
const NEW_TENANT_SLUG = uniqueSlug('roles');
const NEW_PROVIDER_SLUG = uniqueSlug('prov');
const FORBIDDEN = { message: 'Your token does not allow this operation.', extensions: { code: 'FORBIDDEN' } };
const UNAUTHENTICATED = { message: 'Authentication is required.', extensions: { code: 'UNAUTHENTICATED' } };

const SCHEMA = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
/** The input type as the schema declares it (e.g. KeyReuseAlertInput! for acknowledgeKeyReuseAlert). */
const inputTypeOf = (name: string) =>
  SCHEMA.getMutationType()!
    .getFields()
    [name].args.find((a) => a.name === 'input')!
    .type.toString();
const mutationDoc = (name: string) => `mutation($input: ${inputTypeOf(name)}) { ${name}(input: $input) { userErrors { code message field } } }`;
const providerInput = (slug: string) => ({
  slug,
  name: `Custom ${slug}`,
  baseUrl: fake.baseUrl,
  authScheme: 'BEARER',
  apiShape: 'OPENAI',
  keyPattern: '^sk-proj-[A-Za-z0-9]{20,}$',
  keyPrefixes: ['sk-proj-'],
});

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  openai = await providerId(t, 'openai');
  const { tenant, admin, adminTokenId, viewer, viewerTokenId } = await tenantWithTokens(t);
  const cred = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai });
  const cred2Secret = openaiKey();
  const cred2 = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret: cred2Secret });
  const { gateway } = await createGateway(t, admin, tenant.id);
  await expectOk(t.gql(mutationDoc('attachCredential'), { input: { gatewayId: gateway.id, credentialId: cred.id } }, admin), 'attachCredential');
  const spare = await createToken(t, tenant.id, 'VIEWER');
  const custom = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: providerInput(uniqueSlug('fake')),
    }),
    'upsertProvider',
  );
  // What the workers would have left, and a platform key on our own provider (away from other suites' gateways).
  const alertId = await insertKeyReuseAlert(t, { tenantId: tenant.id, credentialId: cred2.id, secret: cred2Secret });
  const deliveryId = await insertDeadDelivery(t, tenant.id, gateway.id);
  const reminderId = await insertRotationReminder(t, { tenantId: tenant.id, credentialId: cred.id });
  const platformKey = await expectOk<any>(
    t.gql('mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { code } } }', {
      input: { providerId: custom.provider.id, label: uniqueSlug('pk'), secret: openaiKey() },
    }),
    'createPlatformKey',
  );
  W = {
    tenantId: tenant.id,
    slug: tenant.slug,
    admin,
    adminTokenId,
    viewer,
    viewerTokenId,
    spareTokenId: spare.id,
    credId: cred.id,
    cred2Id: cred2.id,
    gwId: gateway.id,
    customProviderId: custom.provider.id,
    alertId,
    deliveryId,
    reminderId,
    platformKeyId: platformKey.platformKey.id,
  };
});
afterAll(async () => {
  // Platform keys are global: leave none of ours serving.
  const open = W ? await t.app.db.query('SELECT id FROM platform_keys WHERE provider_id = $1 AND revoked_at IS NULL', [W.customProviderId]) : [];
  for (const { id } of open) await t.gql(mutationDoc('revokePlatformKey'), { input: { id } });
  await t.close();
  await fake.close();
});

/** Everything a write by the caller could touch (last_used_at excluded: authentication updates it). */
const STATE_SQL: Record<string, string> = {
  tenant: 'SELECT * FROM tenants WHERE id = $1',
  credentials: 'SELECT * FROM credentials WHERE tenant_id = $1 ORDER BY id',
  versions: 'SELECT * FROM credential_versions WHERE tenant_id = $1 ORDER BY id',
  gateways: 'SELECT * FROM gateways WHERE tenant_id = $1 ORDER BY id',
  attachments: 'SELECT * FROM gateway_credentials WHERE tenant_id = $1 ORDER BY gateway_id, credential_id',
  tokens: 'SELECT id, name, role, token_hash, revoked_at FROM api_tokens WHERE tenant_id = $1 ORDER BY id',
  audit: 'SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1',
  outbox: 'SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1',
  providerModes: 'SELECT * FROM gateway_provider_modes WHERE tenant_id = $1 ORDER BY gateway_id, provider_id',
  alerts: 'SELECT * FROM key_reuse_alerts WHERE tenant_id = $1 ORDER BY id',
  deliveries: 'SELECT * FROM webhook_deliveries WHERE tenant_id = $1 ORDER BY id',
  attempts: 'SELECT * FROM webhook_attempts WHERE tenant_id = $1 ORDER BY id',
  reminders: 'SELECT * FROM rotation_reminders WHERE tenant_id = $1 ORDER BY id',
};
async function state(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(STATE_SQL)) out[name] = await t.app.db.query(sql, [W.tenantId]);
  out.newTenant = await t.app.db.query('SELECT id FROM tenants WHERE slug = $1', [NEW_TENANT_SLUG]);
  out.newProvider = await t.app.db.query('SELECT id FROM providers WHERE slug = $1', [NEW_PROVIDER_SLUG]);
  out.customProvider = await t.app.db.query('SELECT * FROM providers WHERE id = $1', [W.customProviderId]);
  out.platformKeys = await t.app.db.query('SELECT * FROM platform_keys WHERE provider_id = $1 ORDER BY id', [W.customProviderId]);
  out.rescans = await t.app.db.query("SELECT count(*)::int AS n FROM outbox WHERE job_name = 'fingerprint-rescan'");
  out.auditByTenantTokens = await t.app.db.query(
    "SELECT count(*)::int AS n FROM audit_events WHERE actor_type = 'API_TOKEN' AND actor_id = ANY($1)",
    [[W.viewerTokenId, W.adminTokenId]],
  );
  out.providerCalls = fake.requests.length;
  return out;
}

function expectRejected(res: GqlResult, error: object) {
  expect(res.data ?? null).toBeNull();
  expect(res.errors).toEqual([expect.objectContaining(error)]);
}

/** Every mutation with valid input, in an order in which all of them succeed for the platform admin. */
const MUTATIONS: [string, () => Record<string, unknown>][] = [
  ['updateTenant', () => ({ id: W.tenantId, name: 'Renamed', rotationPolicyDays: 30 })],
  // Before revertToPlatformKeys: a revoked credential's alert is RESOLVED and can no longer be decided.
  ['acknowledgeKeyReuseAlert', () => ({ id: W.alertId })],
  ['dismissKeyReuseAlert', () => ({ id: W.alertId })],
  ['replayWebhookDelivery', () => ({ id: W.deliveryId })],
  ['setGatewayProviderMode', () => ({ gatewayId: W.gwId, providerId: W.customProviderId, credentialMode: 'HYBRID' })],
  ['createApiToken', () => ({ tenantId: W.tenantId, name: 'ci', role: 'VIEWER' })],
  ['revokeApiToken', () => ({ id: W.spareTokenId })],
  ['createCredential', () => ({ tenantId: W.tenantId, providerId: openai, label: uniqueSlug('key'), secret: openaiKey() })],
  ['updateCredential', () => ({ id: W.credId, label: uniqueSlug('renamed'), rotationPeriodDays: 30 })],
  ['rotateCredential', () => ({ id: W.credId, secret: openaiKey() })],
  ['createGateway', () => ({ tenantId: W.tenantId, name: 'Second', slug: uniqueSlug('gw') })],
  ['updateGateway', () => ({ id: W.gwId, name: 'Renamed', webhookUrl: 'https://hooks.example.com/reload' })],
  ['rotateGatewayKey', () => ({ id: W.gwId })],
  ['attachCredential', () => ({ gatewayId: W.gwId, credentialId: W.cred2Id, priority: 5 })],
  ['detachCredential', () => ({ gatewayId: W.gwId, credentialId: W.credId })],
  ['revalidateCredential', () => ({ id: W.credId })],
  ['revokeCredential', () => ({ id: W.credId })],
  ['testProviderKey', () => ({ providerId: W.customProviderId, secret: openaiKey() })],
  ['revertToPlatformKeys', () => ({ tenantId: W.tenantId, confirm: W.slug })],
  ['createTenant', () => ({ name: 'New tenant', slug: NEW_TENANT_SLUG })],
  ['upsertProvider', () => ({ ...providerInput(NEW_PROVIDER_SLUG), baseUrl: 'https://llm.example.com' })],
  ['createPlatformKey', () => ({ providerId: W.customProviderId, label: uniqueSlug('pk'), secret: openaiKey(), priority: 7 })],
  ['revokePlatformKey', () => ({ id: W.platformKeyId })],
  ['startKeyRescan', () => ({ reason: 'roles check' })],
];

/** Reads a VIEWER may do: [name, document, variables, what the data must contain]. */
const READS: [string, string, () => Record<string, unknown>, () => object][] = [
  ['viewer', '{ viewer { role tenant { id } } }', () => ({}), () => ({ viewer: { role: 'VIEWER', tenant: { id: W.tenantId } } })],
  ['tenant', 'query($id: ID!) { tenant(id: $id) { id slug } }', () => ({ id: W.tenantId }), () => ({ tenant: { id: W.tenantId, slug: W.slug } })],
  [
    'credentials',
    'query($id: ID!) { credentials(tenantId: $id) { nodes { id } } }',
    () => ({ id: W.tenantId }),
    () => ({ credentials: { nodes: expect.arrayContaining([{ id: W.credId }, { id: W.cred2Id }]) } }),
  ],
  ['credential', 'query($id: ID!) { credential(id: $id) { id } }', () => ({ id: W.credId }), () => ({ credential: { id: W.credId } })],
  [
    'gateways',
    'query($id: ID!) { gateways(tenantId: $id) { nodes { id } } }',
    () => ({ id: W.tenantId }),
    () => ({ gateways: { nodes: [{ id: W.gwId }] } }),
  ],
  [
    'gateway',
    'query($id: ID!) { gateway(id: $id) { id attachments { credentialId } } }',
    () => ({ id: W.gwId }),
    () => ({ gateway: { id: W.gwId, attachments: [{ credentialId: W.credId }] } }),
  ],
  [
    'auditEvents',
    'query($id: ID!) { auditEvents(tenantId: $id) { nodes { tenantId action } } }',
    () => ({ id: W.tenantId }),
    () => ({ auditEvents: { nodes: expect.arrayContaining([{ tenantId: W.tenantId, action: 'CREDENTIAL_CREATED' }]) } }),
  ],
  ['providers', '{ providers { slug } }', () => ({}), () => ({ providers: expect.arrayContaining([{ slug: 'openai' }]) })],
  [
    'keyReuseAlerts',
    'query($id: ID!) { keyReuseAlerts(tenantId: $id) { nodes { id credential { id } } } }',
    () => ({ id: W.tenantId }),
    () => ({ keyReuseAlerts: { nodes: [{ id: W.alertId, credential: { id: W.cred2Id } }] } }),
  ],
  [
    'rotationReminders',
    'query($id: ID!) { rotationReminders(tenantId: $id) { nodes { id credential { id } } } }',
    () => ({ id: W.tenantId }),
    () => ({ rotationReminders: { nodes: [{ id: W.reminderId, credential: { id: W.credId } }] } }),
  ],
  [
    'webhookDeliveries',
    'query($id: ID!) { webhookDeliveries(tenantId: $id) { nodes { id status } } }',
    () => ({ id: W.tenantId }),
    () => ({ webhookDeliveries: { nodes: [{ id: W.deliveryId, status: 'DEAD' }] } }),
  ],
  [
    'providerHosts',
    'query($id: ID!) { providerHosts(tenantId: $id) { providerId awaitingConfirmation } }',
    () => ({ id: W.tenantId }),
    () => ({ providerHosts: expect.arrayContaining([{ providerId: openai, awaitingConfirmation: false }]) }),
  ],
];

/**
 * Tenant-admin-only: the tenant's own consent to where its keys go. The platform admin, who can
 * change a provider's host, cannot also approve it: FORBIDDEN like a viewer.
 */
const TENANT_ADMIN_ONLY: [string, () => Record<string, unknown>][] = [
  ['confirmProviderHost', () => ({ tenantId: W.tenantId, providerId: openai, baseUrl: 'https://api.openai.com' })],
];

test.each(TENANT_ADMIN_ONLY)('%s: VIEWER and the platform admin get FORBIDDEN, the tenant ADMIN may', async (name, input) => {
  const before = await state();
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, W.viewer), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, ADMIN_TOKEN), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, null), UNAUTHENTICATED);
  expect(await state()).toEqual(before);
  await expectOk(t.gql(mutationDoc(name), { input: input() }, W.admin), name);
});

/** Platform-admin-only operations: [name, document, variables]. */
const PLATFORM_ONLY: [string, string, () => Record<string, unknown>][] = [
  ['tenants', '{ tenants { nodes { id } } }', () => ({})],
  ['createTenant', mutationDoc('createTenant'), () => ({ input: { name: 'Nope', slug: NEW_TENANT_SLUG } })],
  [
    'upsertProvider',
    mutationDoc('upsertProvider'),
    () => ({
      input: {
        slug: NEW_PROVIDER_SLUG,
        name: 'Nope',
        baseUrl: 'https://llm.example.com',
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPattern: '^x',
      },
    }),
  ],
  ['upsertProvider (existing)', mutationDoc('upsertProvider'), () => ({ input: { slug: 'openai', baseUrl: 'https://attacker.example' } })],
  ['keyReuseGroups', '{ keyReuseGroups { nodes { id members { tenant { id } credential { id } } } } }', () => ({})],
  ['keyRescan', 'query($id: ID!) { keyRescan(jobId: $id) { jobId state } }', () => ({ id: 'fingerprint-rescan-1' })],
  ['platformKeys', '{ platformKeys { id redactedKey } }', () => ({})],
  ['platformKeys (providerId)', 'query($p: ID) { platformKeys(providerId: $p) { id } }', () => ({ p: W.customProviderId })],
  ['createPlatformKey', mutationDoc('createPlatformKey'), () => ({ input: { providerId: W.customProviderId, label: 'nope', secret: openaiKey() } })],
  ['revokePlatformKey', mutationDoc('revokePlatformKey'), () => ({ input: { id: W.platformKeyId } })],
  ['startKeyRescan', mutationDoc('startKeyRescan'), () => ({ input: { reason: 'nope' } })],
  ['startKeyRescan (no input)', 'mutation { startKeyRescan { jobId userErrors { code } } }', () => ({})],
];

test('the mutation table covers every mutation in the schema', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  expect([...MUTATIONS, ...TENANT_ADMIN_ONLY].map(([n]) => n).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
});

test('every query is a VIEWER read, ADMIN-only (apiTokens) or platform-only', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  const mutations = Object.keys(schema.getMutationType()!.getFields());
  const platformQueries = [...new Set(PLATFORM_ONLY.map(([l]) => l.split(' ')[0]))].filter((n) => !mutations.includes(n));
  expect([...READS.map(([n]) => n), 'apiTokens', ...platformQueries].sort()).toEqual(Object.keys(schema.getQueryType()!.getFields()).sort());
});

test.each(READS)('VIEWER can read %s; without a token it is UNAUTHENTICATED', async (_name, doc, vars, expected) => {
  const res = await t.gql(doc, vars(), W.viewer);
  expect(res.errors).toBeUndefined();
  expect(res.data).toMatchObject(expected());
  expectRejected(await t.gql(doc, vars(), null), UNAUTHENTICATED);
});

test.each(MUTATIONS)('VIEWER gets FORBIDDEN on %s, no token gets UNAUTHENTICATED, nothing is written', async (name, input) => {
  const before = await state();
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, W.viewer), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, null), UNAUTHENTICATED);
  expect(await state()).toEqual(before);
});

test('VIEWER cannot list apiTokens (ADMIN only)', async () => {
  const doc = 'query($id: ID!) { apiTokens(tenantId: $id) { nodes { id redactedToken } } }';
  expect((await t.gql(doc, { id: W.tenantId }, W.admin)).errors).toBeUndefined();
  expectRejected(await t.gql(doc, { id: W.tenantId }, W.viewer), FORBIDDEN);
});

test.each(PLATFORM_ONLY)('tenant ADMIN and VIEWER get FORBIDDEN on platform-only %s', async (_name, doc, vars) => {
  const before = await state();
  const openaiRow = await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'");
  expectRejected(await t.gql(doc, vars(), W.admin), FORBIDDEN);
  expectRejected(await t.gql(doc, vars(), W.viewer), FORBIDDEN);
  expect(await state()).toEqual(before);
  expect(await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'")).toEqual(openaiRow);
});

describe('bad tokens get HTTP 401 + UNAUTHENTICATED', () => {
  const expect401 = (res: GqlResult) => {
    expect(res.status).toBe(401);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  };
  const createDoc = mutationDoc('createApiToken');

  test('a garbage token, on a query and a mutation', async () => {
    for (const garbage of ['garbage', `kp_${'x'.repeat(40)}`]) {
      expect401(await t.gql('{ viewer { role } }', {}, garbage));
      const before = await state();
      expect401(await t.gql(createDoc, { input: { tenantId: W.tenantId, name: 'nope', role: 'ADMIN' } }, garbage));
      expect(await state()).toEqual(before);
    }
  });

  test('a token revoked with revokeApiToken stops working at once', async () => {
    const victim = await createToken(t, W.tenantId, 'ADMIN');
    const works = await t.gql('{ viewer { role tenant { id } } }', {}, victim.token);
    expect(works.data.viewer).toEqual({ role: 'ADMIN', tenant: { id: W.tenantId } });
    await expectOk(t.gql(mutationDoc('revokeApiToken'), { input: { id: victim.id } }, W.admin), 'revokeApiToken');
    expect401(await t.gql('{ viewer { role tenant { id } } }', {}, victim.token));
    const before = await state();
    expect401(await t.gql(createDoc, { input: { tenantId: W.tenantId, name: 'nope', role: 'ADMIN' } }, victim.token));
    expect(await state()).toEqual(before);
  });
});

test("the platform admin can read and change any tenant's objects", async () => {
  for (const [name, doc, vars, expected] of READS.filter(([n]) => n !== 'viewer')) {
    const res = await t.gql(doc, vars(), ADMIN_TOKEN);
    expect({ name, errors: res.errors }).toEqual({ name, errors: undefined });
    expect(res.data).toMatchObject(expected());
  }
  for (const [name, input] of MUTATIONS) {
    const res = await t.gql(mutationDoc(name), { input: input() }, ADMIN_TOKEN);
    expect({ name, errors: res.errors, userErrors: res.data?.[name]?.userErrors }).toEqual({ name, errors: undefined, userErrors: [] });
  }
  const [tenant] = await t.app.db.query('SELECT name, byok_mode FROM tenants WHERE id = $1', [W.tenantId]);
  expect(tenant).toEqual({ name: 'Renamed', byok_mode: 'PLATFORM' });
  const byAdmin = await t.app.db.query(
    "SELECT DISTINCT action FROM audit_events WHERE tenant_id = $1 AND actor_type = 'PLATFORM_ADMIN' ORDER BY action",
    [W.tenantId],
  );
  expect(byAdmin.map((r: { action: string }) => r.action)).toEqual(
    expect.arrayContaining(['CREDENTIAL_REVOKED', 'GATEWAY_KEY_ROTATED', 'TENANT_REVERTED_TO_PLATFORM_KEYS', 'TENANT_UPDATED']),
  );
  expect(fake.requests.length).toBe(1); // testProviderKey reached the (fake) provider exactly once
});

test('the platform admin ran the new mutations in the right tenant, and reads the platform-only queries', async () => {
  const q = (sql: string, params: unknown[]) => t.app.db.query(sql, params);
  // Tenant-scoped: acted in W's tenant, audited there as the platform admin.
  expect(await q('SELECT tenant_id, status, status_changed_by FROM key_reuse_alerts WHERE id = $1', [W.alertId])).toEqual([
    { tenant_id: W.tenantId, status: 'DISMISSED', status_changed_by: 'platform-admin' },
  ]);
  expect(await q('SELECT tenant_id, status, replay_count FROM webhook_deliveries WHERE id = $1', [W.deliveryId])).toEqual([
    { tenant_id: W.tenantId, status: 'PENDING', replay_count: 1 },
  ]);
  expect(
    await q('SELECT tenant_id, credential_mode FROM gateway_provider_modes WHERE gateway_id = $1 AND provider_id = $2', [W.gwId, W.customProviderId]),
  ).toEqual([{ tenant_id: W.tenantId, credential_mode: 'HYBRID' }]);
  const tenantAudit = await q(
    "SELECT action, target_id FROM audit_events WHERE tenant_id = $1 AND actor_type = 'PLATFORM_ADMIN' AND action = ANY($2) ORDER BY action",
    [W.tenantId, ['GATEWAY_PROVIDER_MODE_CHANGED', 'KEY_REUSE_ALERT_ACKNOWLEDGED', 'KEY_REUSE_ALERT_DISMISSED', 'WEBHOOK_DELIVERY_REPLAYED']],
  );
  expect(tenantAudit).toEqual([
    { action: 'GATEWAY_PROVIDER_MODE_CHANGED', target_id: W.gwId },
    { action: 'KEY_REUSE_ALERT_ACKNOWLEDGED', target_id: W.alertId },
    { action: 'KEY_REUSE_ALERT_DISMISSED', target_id: W.alertId },
    { action: 'WEBHOOK_DELIVERY_REPLAYED', target_id: W.deliveryId },
  ]);
  // Platform-wide: no tenant on the audit rows.
  const keys = await q('SELECT id, priority, revoked_at FROM platform_keys WHERE provider_id = $1 ORDER BY created_at', [W.customProviderId]);
  expect(keys).toEqual([
    { id: W.platformKeyId, priority: 0, revoked_at: expect.any(Date) },
    { id: expect.any(String), priority: 7, revoked_at: null },
  ]);
  const platformAudit = await q(
    // The platform's own rows; tenants served platform keys get theirs too (PLATFORM_KEYS_CHANGED, provider-hosts spec).
    "SELECT action, tenant_id FROM audit_events WHERE actor_type = 'PLATFORM_ADMIN' AND target_id = ANY($1) AND tenant_id IS NULL ORDER BY action",
    [[W.platformKeyId, keys[1].id]],
  );
  expect(platformAudit).toEqual([
    { action: 'PLATFORM_KEY_CREATED', tenant_id: null },
    { action: 'PLATFORM_KEY_CREATED', tenant_id: null },
    { action: 'PLATFORM_KEY_REVOKED', tenant_id: null },
  ]);
  const [rescan] = await q(
    "SELECT target_id, tenant_id, details FROM audit_events WHERE action = 'KEY_RESCAN_STARTED' AND actor_type = 'PLATFORM_ADMIN' AND details->>'reason' = 'roles check'",
    [],
  );
  expect(rescan).toEqual({ target_id: expect.stringMatching(/^fingerprint-rescan-\d+$/), tenant_id: null, details: { reason: 'roles check' } });
  const status = await t.gql('query($id: ID!) { keyRescan(jobId: $id) { jobId state } }', { id: rescan.target_id }, ADMIN_TOKEN);
  expect(status.errors).toBeUndefined();
  expect(status.data.keyRescan).toEqual({ jobId: rescan.target_id, state: expect.any(String) });
  const listed = await t.gql('query($p: ID) { platformKeys(providerId: $p) { id revokedAt } }', { p: W.customProviderId }, ADMIN_TOKEN);
  expect(listed.errors).toBeUndefined();
  expect(listed.data.platformKeys.map((k: { id: string }) => k.id)).toEqual([W.platformKeyId, keys[1].id]); // by priority: 0, then 7
  const groups = await t.gql('{ keyReuseGroups(first: 100) { nodes { id } } }', {}, ADMIN_TOKEN);
  expect(groups.errors).toBeUndefined();
});
