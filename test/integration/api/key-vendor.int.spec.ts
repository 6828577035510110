import { randomBytes } from 'node:crypto';
import { anthropicKey, createCredential, expectOk, openaiKey, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * A key carrying another vendor's distinctive prefix is refused by every mutation that takes a key,
 * before anything is stored, queued, audited or sent; the error names the likely vendor, never the key.
 */
let t: TestApp;
let fake: FakeProvider;
let tenantId: string;
let admin: string;
let openai: string;
let anthropic: string;
let custom: string;
const refused: string[] = [];

const body = (n: number) =>
  randomBytes(n)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const foreign = {
  Anthropic: () => anthropicKey(),
  'Anthropic admin': () => `sk-ant-admin01-${body(60)}`,
  OpenRouter: () => `sk-or-v1-${randomBytes(32).toString('hex')}`,
  xAI: () => `xai-${body(60)}`,
  Groq: () => `gsk_${body(52)}`,
  'Google Gemini': () => `AIza${body(35)}`,
  OpenAI: () => openaiKey(),
};
const vendorOf = (name: string) => (name === 'Anthropic admin' ? 'Anthropic' : name);

beforeAll(async () => {
  fake = await startFakeProvider();
  // Built-in hosts move only by operator configuration (PROVIDER_BASE_URL_*), applied at start.
  t = await startTestApp({ PROVIDER_BASE_URL_OPENAI: fake.baseUrl, PROVIDER_BASE_URL_ANTHROPIC: fake.baseUrl });
  ({
    tenant: { id: tenantId },
    admin,
  } = await tenantWithTokens(t));
  openai = await providerId(t, 'openai');
  anthropic = await providerId(t, 'anthropic');
  const res = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: { slug: uniqueSlug('anykey'), name: 'Any key', baseUrl: fake.baseUrl, authScheme: 'BEARER', apiShape: 'OPENAI', keyPattern: '^.+$' },
    }),
    'upsertProvider',
  );
  custom = res.provider.id;
});
afterAll(async () => {
  await fake.close();
  await t.close();
});
beforeEach(() => fake.reset());

const CREATE = `mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { field code message } } }`;
const ROTATE = `mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { version } userErrors { field code message } } }`;
const TEST = `mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome } userErrors { field code message } } }`;
const PLATFORM = `mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { field code message } } }`;

/** Rows any accepted key would have added (tenant rows, platform keys, audit, outbox), and the key's fingerprint. */
async function footprint(key: string) {
  const [row] = await t.app.db.query(
    `SELECT (SELECT count(*) FROM credentials WHERE tenant_id = $1)::int AS credentials,
            (SELECT count(*) FROM credential_versions WHERE tenant_id = $1)::int AS versions,
            (SELECT count(*) FROM credential_versions WHERE fingerprint = $2)::int AS same_key,
            (SELECT count(*) FROM platform_keys)::int AS platform_keys,
            (SELECT count(*) FROM outbox)::int AS outbox,
            (SELECT count(*) FROM audit_events)::int AS audit`,
    [tenantId, t.app.services.fingerprinter.fingerprint(key)],
  );
  return row;
}

/** Runs a mutation with a key that must be refused as `vendor`'s, and proves it left no trace. */
async function expectRefused(doc: string, field: string, input: Record<string, unknown>, key: string, vendor: string) {
  refused.push(key);
  const before = await footprint(key);
  // Platform keys are the platform admin's; everything else is the tenant admin's.
  const res = await t.gql(doc, { input: { ...input, secret: key } }, doc === PLATFORM ? ADMIN_TOKEN : admin);
  expect(res.errors).toBeUndefined();
  const payload = res.data[field];
  expect(payload.userErrors).toEqual([
    { field: ['input', 'secret'], code: 'KEY_BELONGS_TO_OTHER_PROVIDER', message: expect.stringContaining(`issued by ${vendor}`) },
  ]);
  expect(Object.values(payload).filter((v) => v !== payload.userErrors)).toEqual([null]);
  expect(await footprint(key)).toEqual({ ...before, same_key: 0 });
  expect(fake.requests).toHaveLength(0);
  expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [key]))).toBe('');
}

describe("OpenAI's lenient rule (^sk-…) refuses other vendors' sk- keys", () => {
  it.each(['Anthropic', 'Anthropic admin', 'OpenRouter'] as const)('createCredential: %s', async (name) => {
    await expectRefused(CREATE, 'createCredential', { tenantId, providerId: openai, label: uniqueSlug('k') }, foreign[name](), vendorOf(name));
  });

  it('rotateCredential: the serving key and its version stay as they were', async () => {
    const { id } = await createCredential(t, admin, { tenantId, providerId: openai, secret: openaiKey() });
    await expectRefused(ROTATE, 'rotateCredential', { id }, anthropicKey(), 'Anthropic');
    const versions = await t.app.db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1', [id]);
    expect(versions).toEqual([{ version: 1, state: 'PENDING' }]);
  });

  it('testProviderKey: nothing is sent to OpenAI and nothing audited', async () => {
    await expectRefused(TEST, 'testProviderKey', { providerId: openai }, anthropicKey(), 'Anthropic');
  });

  it('createPlatformKey', async () => {
    await expectRefused(PLATFORM, 'createPlatformKey', { providerId: openai, label: uniqueSlug('pk') }, anthropicKey(), 'Anthropic');
  });

  it('an OpenAI key is still taken, and tested against OpenAI', async () => {
    const key = openaiKey();
    fake.allow(key);
    const res = await expectOk<any>(t.gql(TEST, { input: { providerId: openai, secret: key } }, admin), 'testProviderKey');
    expect(res.result.outcome).toBe('VALID');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a custom provider whose rule takes anything (^.+$) and declares no prefix', () => {
  it.each(Object.keys(foreign))('createCredential refuses a %s key', async (name) => {
    await expectRefused(
      CREATE,
      'createCredential',
      { tenantId, providerId: custom, label: uniqueSlug('k') },
      foreign[name as keyof typeof foreign](),
      vendorOf(name),
    );
  });

  it('testProviderKey, rotateCredential and createPlatformKey refuse one too', async () => {
    await expectRefused(TEST, 'testProviderKey', { providerId: custom }, anthropicKey(), 'Anthropic');
    const { id } = await createCredential(t, admin, { tenantId, providerId: custom, secret: `own-${body(40)}` });
    await expectRefused(ROTATE, 'rotateCredential', { id }, foreign.xAI(), 'xAI');
    await expectRefused(PLATFORM, 'createPlatformKey', { providerId: custom, label: uniqueSlug('pk') }, foreign.Groq(), 'Groq');
  });

  it('takes a key of no listed vendor and sends it', async () => {
    const key = `own-${body(40)}`;
    fake.allow(key);
    const res = await expectOk<any>(t.gql(TEST, { input: { providerId: custom, secret: key } }, admin), 'testProviderKey');
    expect(res.result.outcome).toBe('VALID');
    expect(fake.requests).toHaveLength(1);
  });
});

it("a key failing the provider's own rule stays KEY_FORMAT_MISMATCH, naming the likely vendor", async () => {
  const key = openaiKey();
  refused.push(key);
  const res = await t.gql(CREATE, { input: { tenantId, providerId: anthropic, label: uniqueSlug('k'), secret: key } }, admin);
  expect(res.data.createCredential.userErrors).toEqual([
    { field: ['input', 'secret'], code: 'KEY_FORMAT_MISMATCH', message: expect.stringContaining('issued by OpenAI (it starts with sk-proj-)') },
  ]);
  expect(fake.requests).toHaveLength(0);
});

it('no refused key is anywhere: responses, logs, tables', async () => {
  expect(refused.length).toBeGreaterThanOrEqual(15);
  const sources = [
    ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
    ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
    ...(await dumpDatabase(t.app.db)),
  ];
  // Vendor prefixes are public (messages and the catalog list them): scan for what follows them.
  const secretParts = refused.map((k) => k.replace(/^(sk-ant-[a-z]+\d*-|sk-or-v1-|sk-proj-|xai-|gsk_|AIza|own-)/, ''));
  expect(Math.min(...secretParts.map((p) => p.length))).toBeGreaterThanOrEqual(35);
  expect(describeHits(scanTexts(sources, secretParts))).toBe('');
});
