import { randomBytes, randomUUID } from 'node:crypto';
import type { TestApp } from '../helpers/test-app';
import { credentialRotationDue, gatewayConfigChanged } from '../../src/modules/webhook/webhook-messages';

/** Factories create fresh objects through the real GraphQL API; no shared fixtures. */

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A well-formed OpenAI project key (random, never a real one). */
export function openaiKey(): string {
  return `sk-proj-${randomBytes(36)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
}

export function anthropicKey(): string {
  return `sk-ant-api03-${randomBytes(48)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
}

export async function expectOk<T>(promise: Promise<{ data?: any; errors?: unknown[] }>, field: string): Promise<T> {
  const res = await promise;
  if (res.errors) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  const payload = res.data[field];
  if (payload.userErrors?.length) throw new Error(`userErrors: ${JSON.stringify(payload.userErrors)}`);
  return payload as T;
}

export async function providerId(t: TestApp, slug: string): Promise<string> {
  const res = await t.gql('{ providers { id slug } }');
  const found = res.data.providers.find((p: { slug: string }) => p.slug === slug);
  if (!found) throw new Error(`no provider ${slug}`);
  return found.id;
}

export async function createTenant(t: TestApp, overrides: Record<string, unknown> = {}) {
  const slug = uniqueSlug();
  const payload = await expectOk<{ tenant: { id: string; slug: string } }>(
    t.gql('mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id slug } userErrors { code message } } }', {
      input: { name: `Tenant ${slug}`, slug, ...overrides },
    }),
    'createTenant',
  );
  return payload.tenant;
}

export async function createToken(t: TestApp, tenantId: string, role: 'ADMIN' | 'VIEWER' = 'ADMIN') {
  const payload = await expectOk<{ token: string; apiToken: { id: string } }>(
    t.gql('mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } userErrors { code message } } }', {
      input: { tenantId, name: `${role} token`, role },
    }),
    'createApiToken',
  );
  return { token: payload.token, id: payload.apiToken.id };
}

/** A tenant with an admin and a viewer token. */
export async function tenantWithTokens(t: TestApp) {
  const tenant = await createTenant(t);
  const admin = await createToken(t, tenant.id, 'ADMIN');
  const viewer = await createToken(t, tenant.id, 'VIEWER');
  return { tenant, admin: admin.token, viewer: viewer.token, adminTokenId: admin.id, viewerTokenId: viewer.id };
}

export async function createCredential(
  t: TestApp,
  token: string | null,
  input: { tenantId: string; providerId: string; label?: string; secret?: string; kind?: string },
) {
  const payload = await expectOk<{ credential: { id: string; redactedKey: string; status: string } }>(
    t.gql(
      `mutation($input: CreateCredentialInput!) {
        createCredential(input: $input) { credential { id redactedKey status } userErrors { field code message } }
      }`,
      { input: { label: uniqueSlug('key'), secret: openaiKey(), ...input } },
      token,
    ),
    'createCredential',
  );
  return payload.credential;
}

export interface GatewayOverrides {
  name?: string;
  slug?: string;
  description?: string;
  webhookUrl?: string | null;
}

/** A gateway; its key and signing secret are returned once, as the API does. */
export async function createGateway(t: TestApp, token: string | null, tenantId: string, overrides: GatewayOverrides = {}) {
  return expectOk<{ gateway: { id: string; configVersion: number }; gatewayKey: string; signingSecret: string }>(
    t.gql(
      `mutation($input: CreateGatewayInput!) {
        createGateway(input: $input) { gateway { id configVersion } gatewayKey signingSecret userErrors { field code message } }
      }`,
      { input: { tenantId, name: 'Edge', slug: uniqueSlug('gw'), ...overrides } },
      token,
    ),
    'createGateway',
  );
}

/** A gateway that receives reload notifications at `webhookUrl`; returns its signing secret once. */
export async function createGatewayWithWebhook(t: TestApp, token: string | null, tenantId: string, webhookUrl: string | null) {
  return createGateway(t, token, tenantId, { name: 'Hooked', webhookUrl });
}

/**
 * Rows the workers would write, stored directly (no worker runs in API tests). Columns follow
 * src/modules/{alert,webhook,reminder}/*.entity.ts.
 */

/** A key reuse alert on a credential, as the fingerprint job leaves it: OPEN, never decided. */
export async function insertKeyReuseAlert(
  t: TestApp,
  input: { tenantId: string; credentialId: string; secret: string; scope?: 'SAME_TENANT' | 'OTHER_TENANT'; severity?: 'INFO' | 'WARNING' | 'HIGH' },
): Promise<string> {
  const scope = input.scope ?? 'OTHER_TENANT';
  const severity = input.severity ?? (scope === 'SAME_TENANT' ? 'INFO' : 'WARNING');
  const [row] = await t.app.db.query(
    `INSERT INTO key_reuse_alerts (tenant_id, credential_id, fingerprint, severity, scope, status, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, 'OPEN', now()) RETURNING id`,
    [input.tenantId, input.credentialId, t.app.services.fingerprinter.fingerprint(input.secret), severity, scope],
  );
  return row.id as string;
}

/** A "could not check this key" alert, as the validation worker leaves it when a check gives up. */
export async function insertCheckAlert(t: TestApp, input: { tenantId: string; credentialId: string; version?: number }): Promise<string> {
  const [row] = await t.app.db.query(
    `INSERT INTO credential_check_alerts (tenant_id, credential_id, version, kind, outcome, status)
     VALUES ($1, $2, $3, 'CHECK_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'OPEN') RETURNING id`,
    [input.tenantId, input.credentialId, input.version ?? 1],
  );
  return row.id as string;
}

/** A gateway reload message the sender gave up on (a dead letter), with its two failed attempts. */
export async function insertDeadDelivery(t: TestApp, tenantId: string, gatewayId: string, configVersion = 2): Promise<string> {
  const payload = gatewayConfigChanged({ tenantId, gatewayId, configVersion, reason: 'MODE_CHANGED' }, new Date());
  const [row] = await t.app.db.query(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status, attempts, last_status_code, last_error_class, dead_at)
     VALUES ($1, 'GATEWAY_RELOAD', $2, $3, $4::jsonb, 'DEAD', 2, 503, 'HTTP_5XX', now()) RETURNING id`,
    [tenantId, gatewayId, `gateway-reload:${gatewayId}:${configVersion}:${randomUUID()}`, JSON.stringify(payload)],
  );
  await t.app.db.query(
    `INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, latency_ms, error_class)
     VALUES ($1, $2, 1, 503, 12, 'HTTP_5XX'), ($1, $2, 2, 503, 9, 'HTTP_5XX')`,
    [tenantId, row.id],
  );
  return row.id as string;
}

/** A rotation reminder (no notification webhook, so no delivery), as the rotation sweep records it. */
export async function insertRotationReminder(
  t: TestApp,
  input: { tenantId: string; credentialId: string; version?: number; threshold?: 'DAYS_14' | 'DAYS_7' | 'DAYS_1' | 'OVERDUE' },
): Promise<string> {
  const [row] = await t.app.db.query(
    `INSERT INTO rotation_reminders (tenant_id, credential_id, credential_version, threshold, rotate_by)
     VALUES ($1, $2, $3, $4, now() + interval '6 days') RETURNING id`,
    [input.tenantId, input.credentialId, input.version ?? 1, input.threshold ?? 'DAYS_7'],
  );
  return row.id as string;
}

/** A rotation reminder's stored body, as the rotation sweep writes it (for tests that store deliveries by hand). */
export function rotationDueBody(tenantId: string, reminderId: string, credentialId: string = randomUUID()) {
  return credentialRotationDue(
    { tenantId, credentialId, reminderId, version: 1, threshold: 'DAYS_7', rotateBy: new Date(Date.now() + 7 * 86_400_000).toISOString() },
    new Date(),
  );
}
