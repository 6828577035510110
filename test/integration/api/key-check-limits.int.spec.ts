import { randomUUID } from 'node:crypto';
import { createToken, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { onPostgresQueues } from '../../helpers/queue-backend';

/**
 * Issue 14: key checks (testProviderKey, createCredential, rotateCredential, revalidateCredential)
 * are limited per tenant and per token through the real endpoint, with RATE_LIMITED and retryAfter;
 * a refused check reaches no provider and writes nothing; aliases are capped per document; with
 * Redis down the limits hold per process and checks keep working.
 */

const LIMITS = {
  KEY_CHECK_TENANT_LIMIT: '5',
  KEY_CHECK_TOKEN_LIMIT: '3',
  KEY_CHECK_PERIOD_SECONDS: '60',
  KEY_CHECK_REPEAT_THRESHOLD: '3',
  KEY_TEST_CACHE_SECONDS: '0',
};
const TEST = `mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome } userErrors { code } } }`;
const CREATE = `mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }`;
const ROTATE = `mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { id } userErrors { code } } }`;
const REVALIDATE = `mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { credential { id } userErrors { code } } }`;

let t: TestApp;
let fake: FakeProvider;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp({ ...LIMITS, QUEUE_PREFIX: `kp-test-${randomUUID().slice(0, 8)}` });
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
});
afterAll(async () => {
  await fake.close();
  await t.close();
});

const check = (token: string, app = t, pid = providerId) => app.gql(TEST, { input: { providerId: pid, secret: openaiKey() } }, token);
const limited = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;

it('the token limit answers RATE_LIMITED with retryAfter after N checks; the refused check reaches no provider', async () => {
  const A = await tenantWithTokens(t);
  for (let i = 0; i < 3; i++) expect((await check(A.admin)).data.testProviderKey.result.outcome).toBe('INVALID');
  const before = fake.requests.length;
  const refused = await check(A.admin);
  expect(refused.data).toBeNull();
  expect(refused.errors).toHaveLength(1);
  // 3 per 60 s refill one every 20 s.
  expect(limited(refused)).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  expect(limited(refused)!.retryAfter).toBeGreaterThanOrEqual(1);
  expect(limited(refused)!.retryAfter).toBeLessThanOrEqual(20);
  expect(fake.requests.length).toBe(before);
});

it("counts per tenant across tokens; another tenant is unaffected by one tenant's flood", async () => {
  const A = await tenantWithTokens(t);
  const B = await tenantWithTokens(t);
  const second = await createToken(t, A.tenant.id, 'ADMIN');
  for (let i = 0; i < 3; i++) expect(limited(await check(A.admin))).toBeUndefined();
  expect(limited(await check(A.admin))?.code).toBe('RATE_LIMITED'); // A's first token is spent
  for (let i = 0; i < 2; i++) expect(limited(await check(second.token))).toBeUndefined();
  expect(limited(await check(second.token))?.code).toBe('RATE_LIMITED'); // tenant A's 5 are spent
  for (let i = 0; i < 3; i++) expect(limited(await check(B.admin))).toBeUndefined();
});

it('createCredential, rotateCredential and revalidateCredential share the buckets; a refused one writes nothing', async () => {
  const A = await tenantWithTokens(t);
  const created = await expectOk<any>(
    t.gql(CREATE, { input: { tenantId: A.tenant.id, providerId, label: uniqueSlug('k'), secret: openaiKey() } }, A.admin),
    'createCredential',
  );
  const id = created.credential.id;
  await expectOk(t.gql(ROTATE, { input: { id, secret: openaiKey() } }, A.admin), 'rotateCredential');
  await expectOk(t.gql(REVALIDATE, { input: { id } }, A.admin), 'revalidateCredential');
  const snapshot = () =>
    t.app.db.query(
      `SELECT (SELECT count(*)::int FROM credentials WHERE tenant_id = $1) AS credentials,
              (SELECT count(*)::int FROM credential_versions WHERE tenant_id = $1) AS versions,
              (SELECT count(*)::int FROM outbox WHERE tenant_id = $1) AS jobs,
              (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1 AND action NOT LIKE 'SECURITY_%') AS audit`,
      [A.tenant.id],
    );
  const before = await snapshot();
  const refused = [
    await t.gql(CREATE, { input: { tenantId: A.tenant.id, providerId, label: uniqueSlug('k'), secret: openaiKey() } }, A.admin),
    await t.gql(ROTATE, { input: { id, secret: openaiKey() } }, A.admin),
    await t.gql(REVALIDATE, { input: { id } }, A.admin),
    await check(A.admin),
  ];
  for (const res of refused) expect(limited(res)).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  expect(await snapshot()).toEqual(before);
});

it('repeated refusals raise one security-event log line with ids only', async () => {
  const A = await tenantWithTokens(t);
  const secrets: string[] = [];
  for (let i = 0; i < 3 + 5; i++) {
    const secret = openaiKey();
    secrets.push(secret);
    await t.gql(TEST, { input: { providerId, secret } }, A.admin);
  }
  const lines = t.logs.filter((l) => l.includes('key checks refused repeatedly') && l.includes(A.adminTokenId));
  expect(lines).toHaveLength(1); // threshold 3 reached once in the window, not once per refusal
  const line = JSON.parse(lines[0]);
  expect(line).toMatchObject({ tenantId: A.tenant.id, tokenId: A.adminTokenId, kind: 'TEST_PROVIDER_KEY', refusals: 3 });
  for (const secret of secrets) expect(lines[0]).not.toContain(secret.slice(-12));
  // …and one security event, in the platform's trail and the tenant's.
  await t.app.services.security.flush();
  const events = await t.app.db.query(
    `SELECT tenant_id, target_id, details FROM audit_events WHERE action = 'SECURITY_RATE_LIMIT_REPEATED' AND target_id = $1 ORDER BY tenant_id NULLS FIRST`,
    [A.adminTokenId],
  );
  expect(events).toEqual([
    { tenant_id: null, target_id: A.adminTokenId, details: { kind: 'RATE_LIMIT_REPEATED', check: 'TEST_PROVIDER_KEY' } },
    { tenant_id: A.tenant.id, target_id: A.adminTokenId, details: { kind: 'RATE_LIMIT_REPEATED', check: 'TEST_PROVIDER_KEY' } },
  ]);
  for (const secret of secrets) expect(JSON.stringify(events)).not.toContain(secret.slice(-12));
});

describe('aliases', () => {
  const A_TEST = 'a: testProviderKey(input: { providerId: $p, secret: $s }) { userErrors { code } }';

  it('two key-check fields in one document are a 400 TOO_MANY_KEY_CHECKS; nothing runs and nothing is counted', async () => {
    const A = await tenantWithTokens(t);
    const before = fake.requests.length;
    const docs: [string, Record<string, unknown>][] = [
      [`mutation($p: ID!, $s: String!) { ${A_TEST} b: testProviderKey(input: { providerId: $p, secret: $s }) { userErrors { code } } }`, {}],
      [
        `mutation($p: ID!, $s: String!, $t: ID!) { ${A_TEST}
           c: createCredential(input: { tenantId: $t, providerId: $p, label: "x", secret: $s }) { userErrors { code } } }`,
        { t: A.tenant.id },
      ],
      // Through a fragment on Mutation, too.
      [
        `fragment F on Mutation { b: rotateCredential(input: { id: $p, secret: $s }) { userErrors { code } } }
         mutation($p: ID!, $s: String!) { ${A_TEST} ...F }`,
        {},
      ],
    ];
    for (const [doc, extra] of docs) {
      const res = await t.gql(doc, { p: providerId, s: openaiKey(), ...extra }, A.admin);
      expect(res.status).toBe(400);
      expect(res.errors).toEqual([
        { message: 'A request may hold at most 1 key check; this one holds 2.', extensions: { code: 'TOO_MANY_KEY_CHECKS' } },
      ]);
    }
    expect(fake.requests.length).toBe(before);
    expect(await t.app.db.query('SELECT 1 FROM credentials WHERE tenant_id = $1', [A.tenant.id])).toEqual([]);
    // One field is fine; none of the refused documents counted: the token still has its 3 checks.
    for (let i = 0; i < 3; i++) expect(limited(await check(A.admin))).toBeUndefined();
  });
});

// Redis-only: on the postgres backend the limits live in the API's own database, so there is no
// separate store to lose while the API serves (a PostgreSQL outage is the API's outage).
(onPostgresQueues ? describe.skip : describe)('Redis down', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let pid: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startTestApp({ ...LIMITS, REDIS_URL: redis.url, QUEUE_PREFIX: `kp-test-${randomUUID().slice(0, 8)}` });
    pid = await createFakeOpenAIProvider(app, fake.baseUrl);
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it('checks keep working, limited in this process (never unlimited), with one warning; shared again once Redis is back', async () => {
    const A = await tenantWithTokens(app);
    expect(limited(await check(A.admin, app, pid))).toBeUndefined(); // through Redis
    await redis.stop();
    for (let i = 0; i < 3; i++) expect(limited(await check(A.admin, app, pid))).toBeUndefined();
    const refused = await check(A.admin, app, pid);
    expect(limited(refused)).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(app.logs.filter((l) => l.includes('key-check limiter: shared store unavailable'))).toHaveLength(1);
    await redis.start();
    const B = await tenantWithTokens(app);
    // ioredis reconnects on its own: wait until its connection is ready again.
    await app.app.services.keyCheckStore.ready(10_000);
    expect(limited(await check(B.admin, app, pid))).toBeUndefined();
    expect(app.logs.some((l) => l.includes('limits are shared again'))).toBe(true);
  });
});
