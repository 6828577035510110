import type { TestApp } from '../helpers/test-app';
import { expectOk, openaiKey, uniqueSlug } from './index';

/**
 * Custom providers and platform keys, created through the real mutations (platform admin), so the
 * built-in catalog stays untouched by tests. Both are global: suites clean up what they create.
 */

export interface ProviderOverrides {
  slug?: string;
  name?: string;
  baseUrl?: string;
  keyPattern?: string;
  keyPrefixes?: string[];
  authScheme?: string;
  apiShape?: string;
}

/** An OpenAI-shaped provider; by default at a loopback port nothing listens on. */
export async function createProvider(t: Pick<TestApp, 'gql'>, overrides: ProviderOverrides = {}): Promise<{ id: string; slug: string }> {
  const slug = overrides.slug ?? uniqueSlug('prov');
  const res = await expectOk<{ provider: { id: string; slug: string } }>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id slug } userErrors { code } } }', {
      input: {
        name: `Provider ${slug}`,
        baseUrl: 'http://127.0.0.1:9',
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPrefixes: ['sk-proj-'],
        keyPattern: '^sk-',
        ...overrides,
        slug,
      },
    }),
    'upsertProvider',
  );
  return res.provider;
}

/** A custom OpenAI-shaped provider served by a fake provider server. */
export async function createFakeOpenAIProvider(t: Pick<TestApp, 'gql'>, baseUrl: string, slug = uniqueSlug('fake')): Promise<string> {
  return (await createProvider(t, { slug, name: 'Fake OpenAI', baseUrl })).id;
}

/** Disables providers so no later suite's gateway lists or serves them. */
export async function disableProviders(t: TestApp, slugs: string[]): Promise<void> {
  for (const slug of slugs)
    await t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
      input: { slug, enabled: false },
    });
}

export async function createPlatformKey(
  t: TestApp,
  providerId: string,
  opts: { secret?: string; label?: string; priority?: number } = {},
): Promise<{ id: string; secret: string }> {
  const secret = opts.secret ?? openaiKey();
  const res = await expectOk<{ platformKey: { id: string } }>(
    t.gql('mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { code message } } }', {
      input: { providerId, label: opts.label ?? uniqueSlug('pk'), secret, priority: opts.priority },
    }),
    'createPlatformKey',
  );
  return { id: res.platformKey.id, secret };
}

/** Revokes platform keys so none of a suite's keys keeps serving other suites' gateways. */
export async function revokePlatformKeys(t: TestApp, ids: string[]): Promise<void> {
  for (const id of ids)
    await t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', { input: { id } });
}

export async function revokePlatformKey(t: TestApp, id: string): Promise<void> {
  await expectOk(
    t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', { input: { id } }),
    'revokePlatformKey',
  );
}
