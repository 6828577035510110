import { randomBytes, randomUUID } from 'node:crypto';
import type { TestApp } from '../helpers/test-app';

/** Factories create fresh objects through the real GraphQL API; no shared fixtures. */

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A well-formed OpenAI project key (random, never a real one). */
export function openaiKey(): string {
  return `sk-proj-${randomBytes(36).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
}

export function anthropicKey(): string {
  return `sk-ant-api03-${randomBytes(48).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
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

/** Points a provider at a fake server (the real upsertProvider path). */
export async function pointProviderAt(t: TestApp, slug: string, baseUrl: string): Promise<void> {
  await expectOk(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
      input: { slug, baseUrl },
    }),
    'upsertProvider',
  );
}

export async function createTenant(t: TestApp, overrides: Record<string, unknown> = {}) {
  const slug = uniqueSlug();
  const payload = await expectOk<{ tenant: { id: string; slug: string } }>(
    t.gql(
      'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id slug } userErrors { code message } } }',
      { input: { name: `Tenant ${slug}`, slug, ...overrides } },
    ),
    'createTenant',
  );
  return payload.tenant;
}

export async function createToken(t: TestApp, tenantId: string, role: 'ADMIN' | 'VIEWER' = 'ADMIN') {
  const payload = await expectOk<{ token: string; apiToken: { id: string } }>(
    t.gql(
      'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } userErrors { code message } } }',
      { input: { tenantId, name: `${role} token`, role } },
    ),
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

export async function createGateway(t: TestApp, token: string | null, tenantId: string) {
  const payload = await expectOk<{ gateway: { id: string }; gatewayKey: string; signingSecret: string }>(
    t.gql(
      `mutation($input: CreateGatewayInput!) {
        createGateway(input: $input) { gateway { id } gatewayKey signingSecret userErrors { field code message } }
      }`,
      { input: { tenantId, name: 'Edge', slug: uniqueSlug('gw') } },
      token,
    ),
    'createGateway',
  );
  return payload;
}
