import type { TestApp } from '../helpers/test-app';
import { expectOk, uniqueSlug } from './index';

/**
 * A custom OpenAI-shaped provider served by a fake provider server, created through the real
 * upsertProvider mutation, so the built-in catalog stays untouched by tests.
 */
export async function createFakeOpenAIProvider(t: TestApp, baseUrl: string): Promise<string> {
  const res = await expectOk<{ provider: { id: string } }>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: {
        slug: uniqueSlug('fake'),
        name: 'Fake OpenAI',
        baseUrl,
        authScheme: 'BEARER',
        apiShape: 'OPENAI',
        keyPrefixes: ['sk-proj-'],
        keyPattern: '^sk-',
      },
    }),
    'upsertProvider',
  );
  return res.provider.id;
}
