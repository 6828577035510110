import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import {
  createCredential,
  createGateway,
  expectOk,
  insertDeadDelivery,
  insertCheckAlert,
  insertKeyReuseAlert,
  insertRotationReminder,
  openaiKey,
  providerId,
  tenantWithTokens,
} from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/**
 * Tenant isolation: with tenant A's ADMIN token, every tenant-scoped operation aimed at tenant B
 * must answer exactly as it does for a random id, and write nothing anywhere.
 */

interface Ids {
  tenantId: string;
  tokenId: string;
  credId: string;
  gwId: string;
  alertId: string;
  deliveryId: string;
  reminderId: string;
  checkAlertId: string;
}
interface World extends Ids {
  slug: string;
  admin: string;
}

let t: TestApp;
let openai: string;
let A: World;
let B: World;

const SCHEMA = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
const random = (): Ids => ({
  tenantId: randomUUID(),
  tokenId: randomUUID(),
  credId: randomUUID(),
  gwId: randomUUID(),
  alertId: randomUUID(),
  deliveryId: randomUUID(),
  reminderId: randomUUID(),
  checkAlertId: randomUUID(),
});
/** The input type as the schema declares it (e.g. KeyReuseAlertInput! for acknowledgeKeyReuseAlert). */
const inputTypeOf = (name: string) =>
  SCHEMA.getMutationType()!
    .getFields()
    [name].args.find((a) => a.name === 'input')!
    .type.toString();
const mutationDoc = (name: string) => `mutation($input: ${inputTypeOf(name)}) { ${name}(input: $input) { userErrors { code message field } } }`;
const cursorOf = (id: string) => Buffer.from(`v1:${id}`, 'utf8').toString('base64url');

/**
 * A tenant with an admin token, a credential attached to a gateway (with a per-provider mode), the
 * audit events those wrote, and what the workers would have left: a key reuse alert (both tenants
 * hold `sharedSecret`), a dead-lettered webhook delivery and a rotation reminder.
 */
async function world(sharedSecret: string): Promise<World> {
  const { tenant, admin, adminTokenId } = await tenantWithTokens(t);
  const cred = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret: sharedSecret });
  const { gateway } = await createGateway(t, admin, tenant.id);
  await expectOk(t.gql(mutationDoc('attachCredential'), { input: { gatewayId: gateway.id, credentialId: cred.id } }, admin), 'attachCredential');
  await expectOk(
    t.gql(mutationDoc('setGatewayProviderMode'), { input: { gatewayId: gateway.id, providerId: openai, credentialMode: 'BUNDLED' } }, admin),
    'setGatewayProviderMode',
  );
  const alertId = await insertKeyReuseAlert(t, { tenantId: tenant.id, credentialId: cred.id, secret: sharedSecret });
  const deliveryId = await insertDeadDelivery(t, tenant.id, gateway.id);
  const reminderId = await insertRotationReminder(t, { tenantId: tenant.id, credentialId: cred.id });
  const checkAlertId = await insertCheckAlert(t, { tenantId: tenant.id, credentialId: cred.id });
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    admin,
    tokenId: adminTokenId,
    credId: cred.id,
    gwId: gateway.id,
    alertId,
    deliveryId,
    reminderId,
    checkAlertId,
  };
}

/** Every row a tenant owns (last_used_at excluded: authentication touches it off the request path). */
const OWNED_ROWS: Record<string, string> = {
  tenant: 'SELECT * FROM tenants WHERE id = $1',
  credentials: 'SELECT * FROM credentials WHERE tenant_id = $1 ORDER BY id',
  versions: 'SELECT * FROM credential_versions WHERE tenant_id = $1 ORDER BY id',
  gateways: 'SELECT * FROM gateways WHERE tenant_id = $1 ORDER BY id',
  attachments: 'SELECT * FROM gateway_credentials WHERE tenant_id = $1 ORDER BY gateway_id, credential_id',
  tokens: 'SELECT id, name, role, token_hash, redacted_token, revoked_at FROM api_tokens WHERE tenant_id = $1 ORDER BY id',
  audit: 'SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1',
  outbox: 'SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1',
  providerModes: 'SELECT * FROM gateway_provider_modes WHERE tenant_id = $1 ORDER BY gateway_id, provider_id',
  alerts: 'SELECT * FROM key_reuse_alerts WHERE tenant_id = $1 ORDER BY id',
  deliveries: 'SELECT * FROM webhook_deliveries WHERE tenant_id = $1 ORDER BY id',
  attempts: 'SELECT * FROM webhook_attempts WHERE tenant_id = $1 ORDER BY id',
  reminders: 'SELECT * FROM rotation_reminders WHERE tenant_id = $1 ORDER BY id',
  checkAlerts: 'SELECT * FROM credential_check_alerts WHERE tenant_id = $1 ORDER BY id',
  idempotency: 'SELECT * FROM idempotency_keys WHERE tenant_id = $1 ORDER BY key_hash',
  endpointAlerts: 'SELECT * FROM webhook_endpoint_alerts WHERE tenant_id = $1 ORDER BY id',
};
async function snapshot(tenantId: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(OWNED_ROWS)) out[name] = await t.app.db.query(sql, [tenantId]);
  return out;
}
const snapshotBoth = async () => ({ A: await snapshot(A.tenantId), B: await snapshot(B.tenantId) });

beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
  const shared = openaiKey(); // A and B hold the same key: each has an OTHER_TENANT alert
  A = await world(shared); // A first: A's rows are older than B's, so a leaking cursor would show them
  B = await world(shared);
});
afterAll(() => t.close());

/** Single-object lookups: another tenant's id answers null, byte-identical to a random id. */
const LOOKUPS: [string, string, (x: Ids) => string][] = [
  ['tenant', 'tenant(id: $id) { id slug }', (x) => x.tenantId],
  ['credential', 'credential(id: $id) { id label }', (x) => x.credId],
  ['gateway', 'gateway(id: $id) { id attachments { credentialId } }', (x) => x.gwId],
  ['node (credential)', 'node(id: $id) { id ... on Credential { label } }', (x) => x.credId],
  ['node (gateway)', 'node(id: $id) { id ... on Gateway { slug } }', (x) => x.gwId],
  ['node (tenant)', 'node(id: $id) { id ... on Tenant { slug } }', (x) => x.tenantId],
  ['node (api token)', 'node(id: $id) { id ... on ApiToken { name } }', (x) => x.tokenId],
];

test.each(LOOKUPS)("lookup %s of B's object is null, byte-identical to a random id, and its siblings survive", async (_name, selection, pick) => {
  const doc = `query($id: ID!) { lookup: ${selection} viewer { role } }`;
  const own = await t.gql(doc, { id: pick(B) }, B.admin);
  expect(own.errors).toBeUndefined();
  expect(own.data.lookup.id).toBe(pick(B)); // the object exists and is readable by its own tenant
  const asB = await t.gql(doc, { id: pick(B) }, A.admin);
  const asRandom = await t.gql(doc, { id: pick(random()) }, A.admin);
  expect(asB.errors).toBeUndefined();
  expect(asB.data).toEqual({ lookup: null, viewer: { role: 'ADMIN' } });
  expect(asB.raw).toBe(asRandom.raw);
});

const QUERIES: [string, string, (x: Ids) => string][] = [
  ['credentials', 'credentials(tenantId: $id, includeRevoked: true) { nodes { id } }', (x) => x.tenantId],
  ['gateways', 'gateways(tenantId: $id) { nodes { id } }', (x) => x.tenantId],
  ['auditEvents', 'auditEvents(tenantId: $id) { nodes { id } }', (x) => x.tenantId],
  ['auditIntegrity', 'auditIntegrity(tenantId: $id) { ok rowsChecked }', (x) => x.tenantId],
  ['apiTokens', 'apiTokens(tenantId: $id, includeRevoked: true) { nodes { id } }', (x) => x.tenantId],
  ['keyReuseAlerts', 'keyReuseAlerts(tenantId: $id) { nodes { id status credential { id } } }', (x) => x.tenantId],
  ['credentialCheckAlerts', 'credentialCheckAlerts(tenantId: $id) { nodes { id status credential { id } } }', (x) => x.tenantId],
  ['rotationReminders', 'rotationReminders(tenantId: $id) { nodes { id credential { id } } }', (x) => x.tenantId],
  ['webhookDeliveries', 'webhookDeliveries(tenantId: $id) { nodes { id status attempts { attempt } } }', (x) => x.tenantId],
  ['providerHosts', 'providerHosts(tenantId: $id) { providerId confirmedBaseUrl }', (x) => x.tenantId],
  ['webhookEndpointAlerts', 'webhookEndpointAlerts(tenantId: $id) { nodes { id reason } }', (x) => x.tenantId],
];

test.each(QUERIES)("query %s on B's tenant is NOT_FOUND, byte-identical to a random id", async (_name, selection, pick) => {
  const doc = `query($id: ID!) { ${selection} }`;
  const own = await t.gql(doc, { id: pick(B) }, B.admin);
  expect(own.errors).toBeUndefined(); // the object exists and is readable by its own tenant
  const asB = await t.gql(doc, { id: pick(B) }, A.admin);
  const asRandom = await t.gql(doc, { id: pick(random()) }, A.admin);
  expect(asB.data).toBeNull();
  expect(asB.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  expect(asB.errors?.[0].message).toBe(asRandom.errors?.[0].message);
  expect(asB.raw).toBe(asRandom.raw);
});

/** [label (mutation name first), expected code, input for the given ids]. */
const MUTATIONS: [string, string, (x: Ids) => Record<string, unknown>][] = [
  ['updateTenant', 'NOT_FOUND', (x) => ({ id: x.tenantId, name: 'Hijacked', byokMode: 'PLATFORM', rotationPolicyDays: 1 })],
  ['revertToPlatformKeys', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, confirm: B.slug })],
  ['createApiToken', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, name: 'intruder', role: 'ADMIN' })],
  ['revokeApiToken', 'NOT_FOUND', (x) => ({ id: x.tokenId })],
  ['createCredential', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, providerId: openai, label: 'intruder', secret: openaiKey() })],
  ['updateCredential', 'NOT_FOUND', (x) => ({ id: x.credId, label: 'hijacked', rotationPeriodDays: 7 })],
  ['rotateCredential', 'NOT_FOUND', (x) => ({ id: x.credId, secret: openaiKey() })],
  ['revalidateCredential', 'NOT_FOUND', (x) => ({ id: x.credId })],
  ['revokeCredential', 'NOT_FOUND', (x) => ({ id: x.credId })],
  ['createGateway', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, name: 'Intruder', slug: 'intruder' })],
  ['updateGateway', 'NOT_FOUND', (x) => ({ id: x.gwId, name: 'Hijacked', webhookUrl: 'https://attacker.example/hook' })],
  ['rotateGatewayKey', 'NOT_FOUND', (x) => ({ id: x.gwId })],
  ['rotateGatewayKey (grace)', 'NOT_FOUND', (x) => ({ id: x.gwId, graceHours: 24 })],
  ['rotateGatewayWebhookSecret', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId, overlapHours: 24 })],
  ['rotateTenantNotificationSecret', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, overlapHours: 24 })],
  ['attachCredential (A gateway, B credential)', 'NOT_FOUND', (x) => ({ gatewayId: A.gwId, credentialId: x.credId })],
  ['attachCredential (B gateway, A credential)', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId, credentialId: A.credId })],
  ['detachCredential (B gateway, B credential)', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId, credentialId: x.credId })],
  ['detachCredential (A gateway, B credential)', 'NOT_ATTACHED', (x) => ({ gatewayId: A.gwId, credentialId: x.credId })],
  ['setGatewayProviderMode', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId, providerId: openai, credentialMode: 'HYBRID' })],
  ['setGatewayProviderMode (clear)', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId, providerId: openai, credentialMode: null })],
  ['acknowledgeKeyReuseAlert', 'NOT_FOUND', (x) => ({ id: x.alertId })],
  ['dismissKeyReuseAlert', 'NOT_FOUND', (x) => ({ id: x.alertId })],
  ['replayWebhookDelivery', 'NOT_FOUND', (x) => ({ id: x.deliveryId })],
  ['enableGatewayWebhook', 'NOT_FOUND', (x) => ({ gatewayId: x.gwId })],
  ['enableTenantNotifications', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId })],
  // Another tenant's confirmation would release its keys: as unknown as a random tenant.
  ['confirmProviderHost', 'NOT_FOUND', (x) => ({ tenantId: x.tenantId, providerId: openai, baseUrl: 'https://api.openai.com' })],
];

test.each(MUTATIONS)('mutation %s aimed at B answers %s like a random id and writes nothing', async (label, code, input) => {
  const name = label.split(' ')[0];
  const before = await snapshotBoth();
  const asB = await t.gql(mutationDoc(name), { input: input(B) }, A.admin);
  const asRandom = await t.gql(mutationDoc(name), { input: input(random()) }, A.admin);
  expect(asB.errors).toBeUndefined();
  expect(asB.data[name].userErrors.map((e: { code: string }) => e.code)).toEqual([code]);
  expect(asB.data[name].userErrors).toEqual(asRandom.data[name].userErrors);
  expect(asB.raw).toBe(asRandom.raw);
  expect(await snapshotBoth()).toEqual(before);
});

test('the tables cover every tenant-scoped operation in the schema', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  const platformOnly = [
    'tenants',
    'createTenant',
    'upsertProvider',
    'keyReuseGroups',
    'keyRescan',
    'startKeyRescan',
    'platformKeys',
    'createPlatformKey',
    'revokePlatformKey',
    'startKeyRewrap',
    'keyRewrap',
    'keyCustody',
    'startPepperRekey',
    'pepperRekey',
    'platformAuditEvents',
    'platformAuditIntegrity',
  ];
  const unscoped = ['viewer', 'providers', 'testProviderKey']; // name no tenant and no tenant-owned id
  const queries = Object.keys(schema.getQueryType()!.getFields()).filter((n) => ![...platformOnly, ...unscoped].includes(n));
  const mutations = Object.keys(schema.getMutationType()!.getFields()).filter((n) => ![...platformOnly, ...unscoped].includes(n));
  const covered = new Set([...QUERIES, ...LOOKUPS].map(([n]) => n.split(' ')[0]));
  expect([...covered].sort()).toEqual(queries.sort());
  expect([...new Set(MUTATIONS.map(([l]) => l.split(' ')[0]))].sort()).toEqual(mutations.sort());
});

/** [list, extra arguments, rows of the world it must show, node selection (types without tenantId name it via their credential)]. */
// Every row has all four columns: jest.each would pass `done` for a missing one.
const LISTS: [string, string, (w: World) => string[], string][] = [
  ['credentials', 'includeRevoked: true', (w) => [w.credId], 'id tenantId'],
  ['gateways', '', (w) => [w.gwId], 'id tenantId'],
  ['apiTokens', 'includeRevoked: true', (w) => [w.tokenId], 'id tenantId'],
  ['auditEvents', '', () => [], 'id tenantId'],
  ['keyReuseAlerts', '', (w) => [w.alertId], 'id credential { tenantId }'],
  ['credentialCheckAlerts', '', (w) => [w.checkAlertId], 'id credential { tenantId }'],
  ['rotationReminders', '', (w) => [w.reminderId], 'id credential { tenantId }'],
  ['webhookDeliveries', '', (w) => [w.deliveryId], 'id tenantId'],
];
const listDoc = (field: string, extra: string, node: string) =>
  `query($id: ID!, $after: String) { ${field}(tenantId: $id, first: 100, after: $after ${extra}) {
     edges { cursor node { ${node} } } pageInfo { hasNextPage endCursor } } }`;
const withTenant = (n: any): { id: string; tenantId: string } => ({ id: n.id, tenantId: n.tenantId ?? n.credential?.tenantId });

test.each(LISTS)("%s(tenantId: A) lists only A's rows, never B's", async (field, extra, known, node) => {
  const ofA = await t.gql(listDoc(field, extra, node), { id: A.tenantId }, A.admin);
  const ofB = await t.gql(listDoc(field, extra, node), { id: B.tenantId }, B.admin);
  const nodesA: { id: string; tenantId: string }[] = ofA.data[field].edges.map((e: any) => withTenant(e.node));
  const idsB: string[] = ofB.data[field].edges.map((e: any) => e.node.id);
  expect(nodesA.length).toBeGreaterThan(0);
  expect(idsB.length).toBeGreaterThan(0);
  expect(nodesA.map((n) => n.id)).toEqual(expect.arrayContaining(known(A)));
  expect(nodesA.filter((n) => n.tenantId !== A.tenantId || idsB.includes(n.id))).toEqual([]);
  if (field === 'credentials') expect(nodesA.map((n) => n.id)).toEqual([A.credId]);
  // Rows stored by the test itself: A has exactly its own one.
  if (['keyReuseAlerts', 'credentialCheckAlerts', 'rotationReminders', 'webhookDeliveries'].includes(field))
    expect(nodesA.map((n) => n.id)).toEqual(known(A));
});

test.each(LISTS)("a %s cursor taken from B's list reveals nothing in A's list", async (field, extra, _known, node) => {
  const ofB = await t.gql(listDoc(field, extra, node), { id: B.tenantId }, B.admin);
  const idsB: string[] = ofB.data[field].edges.map((e: any) => e.node.id);
  // B's newest row: every row of A is older, so a cursor resolved across tenants would page into them.
  const cursorB: string = ofB.data[field].edges[0].cursor;
  const plainA = await t.gql(listDoc(field, extra, node), { id: A.tenantId }, A.admin);
  expect(plainA.data[field].edges.length).toBeGreaterThan(0);
  const withB = await t.gql(listDoc(field, extra, node), { id: A.tenantId, after: cursorB }, A.admin);
  const withRandom = await t.gql(listDoc(field, extra, node), { id: A.tenantId, after: cursorOf(randomUUID()) }, A.admin);
  expect(withB.raw).toBe(withRandom.raw);
  const seen = JSON.stringify(withB.data ?? null);
  for (const id of [...idsB, B.tenantId]) expect(seen).not.toContain(id);
});

/** List filters that name an object: [list, argument, the named object, the row of the world it selects]. */
const FILTERS: [string, string, (x: Ids) => string, (x: Ids) => string][] = [
  ['rotationReminders', 'credentialId', (x) => x.credId, (x) => x.reminderId],
  ['webhookDeliveries', 'gatewayId', (x) => x.gwId, (x) => x.deliveryId],
];

test.each(FILTERS)("%s(tenantId: A, %s: B's object) matches nothing, byte-identical to a random id", async (field, arg, named, row) => {
  const doc = `query($id: ID!, $f: ID) { ${field}(tenantId: $id, ${arg}: $f) { nodes { id } pageInfo { hasNextPage endCursor } } }`;
  const own = await t.gql(doc, { id: B.tenantId, f: named(B) }, B.admin);
  expect(own.data[field].nodes).toEqual([{ id: row(B) }]); // the filter does select B's row for B
  const ownA = await t.gql(doc, { id: A.tenantId, f: named(A) }, A.admin);
  expect(ownA.data[field].nodes).toEqual([{ id: row(A) }]);
  const asB = await t.gql(doc, { id: A.tenantId, f: named(B) }, A.admin);
  const asRandom = await t.gql(doc, { id: A.tenantId, f: named(random()) }, A.admin);
  expect(asB.errors).toBeUndefined();
  expect(asB.data[field].nodes).toEqual([]);
  expect(asB.raw).toBe(asRandom.raw);
});

test("viewer for A's token shows tenant A", async () => {
  const res = await t.gql('{ viewer { role tokenName tenant { id slug } } }', {}, A.admin);
  expect(res.errors).toBeUndefined();
  expect(res.data.viewer).toEqual({ role: 'ADMIN', tokenName: 'ADMIN token', tenant: { id: A.tenantId, slug: A.slug } });
});
