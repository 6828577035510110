import { createGateway, expectOk, openaiKey, uniqueSlug } from '../factories';
import { activeCredential, attachCredential } from '../factories/credentials';
import { createPlatformKey, createProvider, disableProviders, revokePlatformKeys } from '../factories/providers';
import { describeHits, dumpDatabase, scanTexts } from './leak-scan';
import { startTestApp, type TestApp } from './test-app';
import { contractFetch } from './contracts';

/** One pull of GET /v1/gateway/config, as a gateway makes it. */
export async function pullConfig(url: string, key: string | null, headers: Record<string, string> = {}) {
  // Every pull's answer is checked against schema/openapi.json on the way.
  const res = await contractFetch(`${url}/v1/gateway/config`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    cacheControl: res.headers.get('cache-control'),
    text: res.text,
    body: res.text ? JSON.parse(res.text) : null,
  };
}

export const forProvider = (body: any, providerId: string) => body.providers.find((p: any) => p.provider.id === providerId);

export const SET_PROVIDER_MODE = `mutation($input: SetGatewayProviderModeInput!) {
  setGatewayProviderMode(input: $input) { gateway { configVersion providerModes { provider { id } credentialMode } } userErrors { field code } }
}`;

/**
 * The gateway credential feed suites: one API per file, and every key they create remembered for
 * the leak scan. Providers and platform keys are global, so each suite removes its own at the end.
 */
export function gatewayFeedSuite() {
  const platformKeyIds: string[] = [];
  const providerSlugs: string[] = [];
  const secrets: string[] = [];
  const feed = {
    t: undefined as unknown as TestApp,
    secrets,
    /** A fresh OpenAI-shaped provider per test, so platform keys of one test never reach another. */
    async newProvider() {
      const provider = await createProvider(feed.t, { slug: uniqueSlug('gwcfg') });
      providerSlugs.push(provider.slug);
      return provider;
    },
    async platformKey(providerId: string, priority?: number) {
      const key = await createPlatformKey(feed.t, providerId, { priority });
      secrets.push(key.secret);
      platformKeyIds.push(key.id);
      return key;
    },
    /** A tenant key, made ACTIVE the way the worker would after a successful check. */
    async activeKey(token: string, tenantId: string, providerId: string, label = uniqueSlug('key')) {
      const key = await activeCredential(feed.t, token, { tenantId, providerId, label });
      secrets.push(key.secret);
      return { ...key, label };
    },
    /** A secret used outside the factories (a rotation), for the leak scan. */
    remember(secret = openaiKey()) {
      secrets.push(secret);
      return secret;
    },
    attach: (token: string, gatewayId: string, credentialId: string, priority?: number) =>
      attachCredential(feed.t, token, { gatewayId, credentialId, priority }),
    async setMode(token: string, gatewayId: string, credentialMode: string) {
      await expectOk(
        feed.t.gql(
          'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }',
          { input: { id: gatewayId, credentialMode } },
          token,
        ),
        'updateGateway',
      );
    },
    gateway: (token: string, tenantId: string) => createGateway(feed.t, token, tenantId),
    pull: (key: string | null, headers: Record<string, string> = {}) => pullConfig(feed.t.url, key, headers),
    /** No key served by this suite reached its logs, its GraphQL responses or the database in clear. */
    async expectNoLeaks(atLeast: number) {
      expect(secrets.length).toBeGreaterThan(atLeast);
      const t = feed.t;
      const hits = scanTexts(
        [
          ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
          ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
          ...(await dumpDatabase(t.app.db)),
        ],
        secrets,
      );
      expect(describeHits(hits)).toBe('');
    },
  };
  beforeAll(async () => {
    feed.t = await startTestApp();
  });
  afterAll(async () => {
    await revokePlatformKeys(feed.t, platformKeyIds);
    await disableProviders(feed.t, providerSlugs);
    await feed.t.close();
  });
  return feed;
}
