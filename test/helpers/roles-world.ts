import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import {
  createCredential,
  createGateway,
  createToken,
  insertDeadDelivery,
  insertCheckAlert,
  insertKeyReuseAlert,
  insertRotationReminder,
  openaiKey,
  providerId,
  tenantWithTokens,
  uniqueSlug,
} from '../factories';
import { attachCredential } from '../factories/credentials';
import { createPlatformKey, createProvider, revokePlatformKeys } from '../factories/providers';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { startTestApp, type GqlResult, type TestApp } from './test-app';

/**
 * The world of the roles suites: one tenant holding one of everything a role could read or write
 * (credentials, a gateway, tokens, an alert, a dead delivery, a reminder, a platform key), the
 * tables of every operation by who may run it, and a snapshot of everything a write could touch.
 */

let t: TestApp;
let fake: FakeProvider;
let openai: string;
export interface RolesWorld {
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
  checkAlertId: string;
  platformKeyId: string;
}
let W: RolesWorld;
export const NEW_TENANT_SLUG = uniqueSlug('roles');
export const NEW_PROVIDER_SLUG = uniqueSlug('prov');
export const FORBIDDEN = { message: 'Your token does not allow this operation.', extensions: { code: 'FORBIDDEN' } };
export const UNAUTHENTICATED = { message: 'Authentication is required.', extensions: { code: 'UNAUTHENTICATED' } };

export const SCHEMA = buildSchema(readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8'));
/** The input type as the schema declares it (e.g. KeyReuseAlertInput! for acknowledgeKeyReuseAlert). */
const inputTypeOf = (name: string) =>
  SCHEMA.getMutationType()!
    .getFields()
    [name].args.find((a) => a.name === 'input')!
    .type.toString();
export const mutationDoc = (name: string) =>
  `mutation($input: ${inputTypeOf(name)}) { ${name}(input: $input) { userErrors { code message field } } }`;
const providerInput = (slug: string) => ({
  slug,
  name: `Custom ${slug}`,
  baseUrl: fake.baseUrl,
  authScheme: 'BEARER',
  apiShape: 'OPENAI',
  keyPattern: '^sk-proj-[A-Za-z0-9]{20,}$',
  keyPrefixes: ['sk-proj-'],
});

/** Starts the API and builds the world before the suite; the getters read it inside tests. */
export function rolesWorld() {
  beforeAll(async () => {
    t = await startTestApp();
    fake = await startFakeProvider();
    openai = await providerId(t, 'openai');
    const { tenant, admin, adminTokenId, viewer, viewerTokenId } = await tenantWithTokens(t);
    const cred = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai });
    const cred2Secret = openaiKey();
    const cred2 = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret: cred2Secret });
    const { gateway } = await createGateway(t, admin, tenant.id);
    await attachCredential(t, admin, { gatewayId: gateway.id, credentialId: cred.id });
    const spare = await createToken(t, tenant.id, 'VIEWER');
    const custom = await createProvider(t, providerInput(uniqueSlug('fake')));
    // What the workers would have left, and a platform key on our own provider (away from other suites' gateways).
    const alertId = await insertKeyReuseAlert(t, { tenantId: tenant.id, credentialId: cred2.id, secret: cred2Secret });
    const deliveryId = await insertDeadDelivery(t, tenant.id, gateway.id);
    const reminderId = await insertRotationReminder(t, { tenantId: tenant.id, credentialId: cred.id });
    const checkAlertId = await insertCheckAlert(t, { tenantId: tenant.id, credentialId: cred.id });
    const platformKey = await createPlatformKey(t, custom.id);
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
      customProviderId: custom.id,
      alertId,
      deliveryId,
      reminderId,
      checkAlertId,
      platformKeyId: platformKey.id,
    };
  });
  afterAll(async () => {
    // Platform keys are global: leave none of ours serving.
    const open = W ? await t.app.db.query('SELECT id FROM platform_keys WHERE provider_id = $1 AND revoked_at IS NULL', [W.customProviderId]) : [];
    await revokePlatformKeys(
      t,
      open.map((k: { id: string }) => k.id),
    );
    await t.close();
    await fake.close();
  });

  return {
    get t() {
      return t;
    },
    get fake() {
      return fake;
    },
    get openai() {
      return openai;
    },
    get W() {
      return W;
    },
  };
}

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
export async function state(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(STATE_SQL)) out[name] = await t.app.db.query(sql, [W.tenantId]);
  out.newTenant = await t.app.db.query('SELECT id FROM tenants WHERE slug = $1', [NEW_TENANT_SLUG]);
  out.newProvider = await t.app.db.query('SELECT id FROM providers WHERE slug = $1', [NEW_PROVIDER_SLUG]);
  out.customProvider = await t.app.db.query('SELECT * FROM providers WHERE id = $1', [W.customProviderId]);
  out.platformKeys = await t.app.db.query('SELECT * FROM platform_keys WHERE provider_id = $1 ORDER BY id', [W.customProviderId]);
  out.rescans = await t.app.db.query("SELECT count(*)::int AS n FROM outbox WHERE job_name IN ('fingerprint-rescan', 'fingerprint-rekey')");
  out.auditByTenantTokens = await t.app.db.query(
    "SELECT count(*)::int AS n FROM audit_events WHERE actor_type = 'API_TOKEN' AND actor_id = ANY($1)",
    [[W.viewerTokenId, W.adminTokenId]],
  );
  out.providerCalls = fake.requests.length;
  return out;
}

export function expectRejected(res: GqlResult, error: object) {
  // A non-null root field nulls the whole data; a nullable one (a lookup) is null itself.
  const data = (res.data ?? null) as Record<string, unknown> | null;
  if (data !== null) expect(Object.values(data)).toEqual(Object.keys(data).map(() => null));
  expect(res.errors).toEqual([expect.objectContaining(error)]);
}

/** Every mutation with valid input, in an order in which all of them succeed for the platform admin. */
export const MUTATIONS: [string, () => Record<string, unknown>][] = [
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
  ['rotateGatewayWebhookSecret', () => ({ gatewayId: W.gwId })],
  ['rotateTenantNotificationSecret', () => ({ tenantId: W.tenantId })],
  // Neither endpoint is disabled here: a no-op that still needs ADMIN.
  ['enableGatewayWebhook', () => ({ gatewayId: W.gwId })],
  ['enableTenantNotifications', () => ({ tenantId: W.tenantId })],
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
  ['startKeyRewrap', () => ({ reason: 'roles check' })],
  ['startPepperRekey', () => ({ reason: 'roles check' })],
];

/** Reads a VIEWER may do: [name, document, variables, what the data must contain]. */
export const READS: [string, string, () => Record<string, unknown>, () => object][] = [
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
    'node',
    'query($id: ID!) { node(id: $id) { __typename id ... on Credential { label } } }',
    () => ({ id: W.credId }),
    () => ({ node: { __typename: 'Credential', id: W.credId } }),
  ],
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
    'credentialCheckAlerts',
    'query($id: ID!) { credentialCheckAlerts(tenantId: $id) { nodes { id credential { id } } } }',
    () => ({ id: W.tenantId }),
    () => ({ credentialCheckAlerts: { nodes: [{ id: W.checkAlertId, credential: { id: W.credId } }] } }),
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
    'webhookEndpointAlerts',
    'query($id: ID!) { webhookEndpointAlerts(tenantId: $id) { nodes { id } } }',
    () => ({ id: W.tenantId }),
    () => ({ webhookEndpointAlerts: { nodes: [] } }),
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
export const TENANT_ADMIN_ONLY: [string, () => Record<string, unknown>][] = [
  ['confirmProviderHost', () => ({ tenantId: W.tenantId, providerId: openai, baseUrl: 'https://api.openai.com' })],
];

/** Platform-admin-only operations: [name, document, variables]. */
export const PLATFORM_ONLY: [string, string, () => Record<string, unknown>][] = [
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
  ['startKeyRewrap', mutationDoc('startKeyRewrap'), () => ({ input: { reason: 'nope' } })],
  ['startKeyRewrap (no input)', 'mutation { startKeyRewrap { jobId userErrors { code } } }', () => ({})],
  ['keyRewrap', 'query($id: ID!) { keyRewrap(jobId: $id) { jobId state failures { id } } }', () => ({ id: 'key-rewrap-1' })],
  ['keyCustody', '{ keyCustody { currentVersion versions { version records } } }', () => ({})],
  ['platformAuditEvents', '{ platformAuditEvents(first: 5) { nodes { id action } } }', () => ({})],
  [
    'platformAuditEvents (tenant filter)',
    'query($t: ID) { platformAuditEvents(filter: { tenantId: $t }) { nodes { id } } }',
    () => ({ t: W.tenantId }),
  ],
  ['platformAuditIntegrity', '{ platformAuditIntegrity { ok } }', () => ({})],
  ['startPepperRekey', mutationDoc('startPepperRekey'), () => ({ input: { reason: 'nope' } })],
  ['startPepperRekey (no input)', 'mutation { startPepperRekey { jobId userErrors { code } } }', () => ({})],
  ['pepperRekey', 'query($id: ID!) { pepperRekey(jobId: $id) { jobId state } }', () => ({ id: 'fingerprint-rekey-1' })],
];
