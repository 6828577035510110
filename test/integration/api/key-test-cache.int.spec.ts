import { randomUUID } from 'node:crypto';
import { createToken, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { clearKeyCheckStore, keyCheckStoreEntries } from '../../helpers/queue-backend';

/**
 * Issue 14: testProviderKey answers the same key again from a cache of the tenant's own (no
 * provider call), never from another tenant's; only settled answers are kept; the shared store (Redis or PostgreSQL) holds neither
 * the key nor its fingerprint.
 */

const PREFIX = `kp-test-${randomUUID().slice(0, 8)}`;
const TEST = `mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) {
  result { outcome models message httpStatus cached } userErrors { code } } }`;

let t: TestApp;
let fake: FakeProvider;
let providerId: string;
const canaries: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ QUEUE_PREFIX: PREFIX, KEY_TEST_CACHE_SECONDS: '60' });
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
});
afterAll(async () => {
  await clearKeyCheckStore(PREFIX);
  await fake.close();
  await t.close();
});

async function testKey(token: string, secret: string) {
  const res = await t.gql(TEST, { input: { providerId, secret } }, token);
  expect(res.errors).toBeUndefined();
  return res.data.testProviderKey.result;
}
const requestsFor = (secret: string) => fake.requests.filter((r) => r.headers.authorization === `Bearer ${secret}`).length;
function canary(allow = true): string {
  const secret = openaiKey();
  canaries.push(secret);
  if (allow) fake.allow(secret, ['m-1']);
  return secret;
}

it("a repeated test of the same key by the same tenant costs no provider call (any of the tenant's tokens)", async () => {
  const A = await tenantWithTokens(t);
  const other = await createToken(t, A.tenant.id, 'ADMIN');
  const secret = canary();
  const first = await testKey(A.admin, secret);
  expect(first).toMatchObject({ outcome: 'VALID', models: ['m-1'], httpStatus: 200, cached: false });
  expect(await testKey(A.admin, secret)).toEqual({ ...first, cached: true });
  expect(await testKey(other.token, `  ${secret}\n`)).toEqual({ ...first, cached: true }); // the same key, pasted
  expect(requestsFor(secret)).toBe(1);
  const audit = await t.app.db.query(
    `SELECT details->>'cached' AS cached FROM audit_events WHERE tenant_id = $1 AND action = 'PROVIDER_KEY_TESTED' ORDER BY created_at`,
    [A.tenant.id],
  );
  expect(audit.map((r: { cached: string }) => r.cached)).toEqual(['false', 'true', 'true']);
});

it("is never shared across tenants: B's test of a key A just tested asks the provider", async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = canary();
  await testKey(A.admin, secret);
  expect(await testKey(B.admin, secret)).toMatchObject({ outcome: 'VALID', cached: false });
  expect(requestsFor(secret)).toBe(2);
  expect(await testKey(B.admin, secret)).toMatchObject({ cached: true });
  expect(requestsFor(secret)).toBe(2);
});

it('keeps INVALID answers; asks again after a transient one (rate limited at the provider)', async () => {
  const A = await tenantWithTokens(t);
  const invalid = canary(false);
  expect(await testKey(A.admin, invalid)).toMatchObject({ outcome: 'INVALID', cached: false });
  expect(await testKey(A.admin, invalid)).toMatchObject({ outcome: 'INVALID', cached: true });
  expect(requestsFor(invalid)).toBe(1);
  const busy = canary();
  fake.script(busy, fake.respond.rateLimited(1));
  expect(await testKey(A.admin, busy)).toMatchObject({ outcome: 'RATE_LIMITED', cached: false });
  expect(await testKey(A.admin, busy)).toMatchObject({ outcome: 'VALID', cached: false });
  expect(await testKey(A.admin, busy)).toMatchObject({ outcome: 'VALID', cached: true });
  expect(requestsFor(busy)).toBe(2);
});

it('the shared store holds no key material: no part of a tested key, no fingerprint, no tenant id in cache keys', async () => {
  const entries = await keyCheckStoreEntries(PREFIX);
  const cacheKeys = entries.map((e) => e.key).filter((k) => k.startsWith(`${PREFIX}:key-test-cache:`));
  expect(cacheKeys.length).toBeGreaterThanOrEqual(4);
  const sources: { where: string; text: string }[] = [];
  for (const { key, value } of entries) {
    sources.push({ where: `store key ${key}`, text: key });
    sources.push({ where: `store value ${key}`, text: value });
  }
  expect(canaries.length).toBeGreaterThanOrEqual(4);
  expect(describeHits(scanTexts(sources, canaries))).toBe('');
  const all = sources.map((s) => s.text).join('\n');
  for (const secret of canaries) expect(all).not.toContain(t.app.services.fingerprinter.fingerprintHex(secret));
  const tenants: { id: string }[] = await t.app.db.query('SELECT id FROM tenants');
  for (const key of cacheKeys) for (const { id } of tenants) expect(key).not.toContain(id);
});
