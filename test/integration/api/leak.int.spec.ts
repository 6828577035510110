import { randomBytes } from 'node:crypto';
import { createCredential, createGateway, expectOk, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * The canary test: recognizable keys go through every path that handles a secret, then the whole
 * database, every log line and every response body are searched for them (plain, hex, base64, and
 * any 12-character window).
 */
let t: TestApp;
let fake: FakeProvider;
let fakeSlug: string;
beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
});
afterAll(async () => {
  await t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { userErrors { code } } }', {
    input: { slug: fakeSlug, enabled: false },
  });
  await fake.close();
  await t.close();
});

const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const canaries: string[] = [];
const canary = (prefix: string, n: number) => {
  const value = `${prefix}CANARY${n}x${alnum(40)}`;
  canaries.push(value);
  return value;
};

describe('the scanner', () => {
  it('finds a canary as plain text, a 12-character window, hex and base64 at any alignment', () => {
    const secret = `sk-proj-CANARYprobe${alnum(40)}`;
    const b64 = (s: string, enc: BufferEncoding = 'base64') => Buffer.from(s).toString(enc);
    const found = (text: string) => scanTexts([{ where: 'probe', text }], [secret]).map((h) => h.encoding);
    expect(found(`{"a":"${secret}"}`)).toEqual(['plain']);
    expect(found(`…${secret.slice(17, 29)}…`)).toEqual(['plain']);
    expect(found(`\\x00ff${b64(secret.slice(5, 25), 'hex').toUpperCase()}`)).toEqual(['hex']);
    for (const pad of ['', 'a', 'ab']) expect(found(b64(pad + secret))).toEqual(['base64']);
    expect(found(b64(`zz${secret}`, 'base64url'))).toEqual(expect.arrayContaining([expect.stringMatching(/^base64/)]));
    expect(found(`${secret.slice(0, 11)} ${secret.slice(11, 22)}`)).toEqual([]);
  });

  it('finds a value planted in the database and names the table', async () => {
    const { tenant } = await tenantWithTokens(t);
    const planted = `plantedCANARY${alnum(30)}`;
    await t.gql('mutation($input: CreateGatewayInput!) { createGateway(input: $input) { userErrors { code } } }', {
      input: { tenantId: tenant.id, name: 'Probe', slug: uniqueSlug('gw'), description: Buffer.from(planted).toString('hex') },
    });
    const hits = scanTexts(await dumpDatabase(t.app.db), [planted]);
    expect(hits.map((h) => `${h.where.split(' row ')[0]} ${h.encoding}`)).toEqual(['table gateways hex']);
  });
});

describe('canary keys never leave the key store', () => {
  const gatewaySecrets: string[] = [];
  let activeId: string;

  it('runs every secret path with canaries', async () => {
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    gatewaySecrets.push(admin, viewer);
    const openai = await providerId(t, 'openai');

    // 1. create, rotate, revoke
    const first = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret: canary('sk-proj-', 1), label: 'canary' });
    const rotate = 'mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { version } userErrors { code } } }';
    await expectOk(t.gql(rotate, { input: { id: first.id, secret: `  ${canary('sk-proj-', 2)}\n` } }, admin), 'rotateCredential');
    const revoke = 'mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { credential { status } userErrors { code } } }';
    await expectOk(t.gql(revoke, { input: { id: first.id } }, admin), 'revokeCredential');

    // 2. another credential left active, attached to a gateway
    const active = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret: canary('sk-proj-', 3), label: 'live' });
    activeId = active.id;
    const gw = await createGateway(t, admin, tenant.id);
    gatewaySecrets.push(gw.gatewayKey, gw.signingSecret);
    const attach =
      'mutation($input: AttachCredentialInput!) { attachCredential(input: $input) { gateway { attachments { credential { redactedKey } } } userErrors { code } } }';
    const attached = await expectOk<any>(t.gql(attach, { input: { gatewayId: gw.gateway.id, credentialId: active.id } }, admin), 'attachCredential');
    expect(attached.gateway.attachments[0].credential.redactedKey).toBe(`sk-proj-…${canaries[2].slice(-4)}`);

    // 3. testProviderKey against a provider that echoes part of the key in its 401 body
    fakeSlug = uniqueSlug('leakfake');
    const upsert = 'mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }';
    const fakeProvider = await expectOk<any>(
      t.gql(
        upsert,
        {
          input: {
            slug: fakeSlug,
            name: 'Leak fake',
            baseUrl: fake.baseUrl,
            authScheme: 'BEARER',
            apiShape: 'OPENAI',
            keyPattern: '^sk-[A-Za-z0-9_-]{20,}$',
            keyPrefixes: ['sk-proj-'],
          },
        },
        ADMIN_TOKEN,
      ),
      'upsertProvider',
    );
    const test = 'mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome message } userErrors { code } } }';
    const tested = await expectOk<any>(
      t.gql(test, { input: { providerId: fakeProvider.provider.id, secret: canary('sk-proj-', 4) } }, admin),
      'testProviderKey',
    );
    expect(tested.result.outcome).toBe('INVALID');
    expect(fake.requests).toHaveLength(1); // the key really went out, and came back echoed

    // 4. a failed create: the canary breaks OpenAI's format rule
    const create = 'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }';
    const failed = await t.gql(create, { input: { tenantId: tenant.id, providerId: openai, label: 'bad', secret: canary('pk-', 5) } }, admin);
    expect(failed.data.createCredential.userErrors).toEqual([{ code: 'KEY_FORMAT_MISMATCH' }]);

    // 5. GraphQL-level errors carrying a canary in the same variables
    const typeError = await t.gql(
      create,
      { input: { tenantId: tenant.id, providerId: openai, label: 'x', secret: canary('sk-proj-', 6), rotationPeriodDays: 'x' } },
      admin,
    );
    const unknownField = await t.gql(
      create,
      { input: { tenantId: tenant.id, providerId: openai, label: 'a;b', secret: canary('sk-proj-', 7), extra: 1 } },
      admin,
    );
    expect([typeError, unknownField].map((r) => r.errors?.[0].extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);

    expect(canaries).toHaveLength(7);
  });

  it('the database holds sealed material and hints, never a canary in any encoding', async () => {
    const sources = await dumpDatabase(t.app.db);
    const tables = new Set(sources.map((s) => s.where.split(' ')[1]));
    for (const table of [
      'tenants',
      'credentials',
      'credential_versions',
      'gateways',
      'gateway_credentials',
      'outbox',
      'audit_events',
      'api_tokens',
      'providers',
    ]) {
      expect(tables).toContain(table);
    }
    // The live key is there, sealed: the scan looks at real ciphertext, decoded as it is.
    expect(sources.some((s) => /credential_versions .*bytea ciphertext/.test(s.where))).toBe(true);
    const [row] = await t.app.db.query('SELECT ciphertext, redacted_key FROM credential_versions WHERE credential_id = $1', [activeId]);
    expect(row.ciphertext.length).toBeGreaterThan(40);
    expect(sources.some((s) => s.text.includes(row.redacted_key))).toBe(true);

    expect(describeHits(scanTexts(sources, [...canaries, ...gatewaySecrets]))).toBe('');
  });

  it('no log line holds a canary, a token or a gateway secret', () => {
    expect(t.logs.length).toBeGreaterThan(0);
    const logs = t.logs.map((text, i) => ({ where: `log line ${i}`, text }));
    expect(describeHits(scanTexts(logs, [...canaries, ...gatewaySecrets, ADMIN_TOKEN]))).toBe('');
  });

  it('no response holds a canary', () => {
    expect(t.responses.length).toBeGreaterThan(10);
    const responses = t.responses.map((text, i) => ({ where: `response ${i}`, text }));
    expect(describeHits(scanTexts(responses, canaries))).toBe('');
    // Gateway secrets are shown exactly once, in the createGateway response.
    for (const secret of gatewaySecrets.slice(2)) {
      expect(t.responses.filter((r) => r.includes(secret))).toHaveLength(1);
    }
  });
});
