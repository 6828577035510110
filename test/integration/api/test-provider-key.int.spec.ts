import { anthropicKey, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
let fake: FakeProvider;
let tenantId: string;
let admin: string;
let viewer: string;
let openai: string;
let anthropic: string;
const tested: string[] = [];

beforeAll(async () => {
  fake = await startFakeProvider();
  // Built-in hosts are operator configuration (the API refuses to repoint them); the next app
  // started without these variables puts the real hosts back.
  t = await startTestApp({ PROVIDER_BASE_URL_OPENAI: fake.baseUrl, PROVIDER_BASE_URL_ANTHROPIC: fake.baseUrl });
  const created = await tenantWithTokens(t);
  ({ admin, viewer } = created);
  tenantId = created.tenant.id;
  openai = await providerId(t, 'openai');
  anthropic = await providerId(t, 'anthropic');
});
afterAll(async () => {
  await fake.close();
  await t.close();
});
beforeEach(() => fake.reset());

const TEST = `mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) {
  result { outcome models message httpStatus retryAfterSeconds latencyMs } userErrors { field code message } } }`;

async function testKey(pid: string, key: string, token = admin) {
  tested.push(key);
  const res = await t.gql(TEST, { input: { providerId: pid, secret: key } }, token);
  expect(res.errors).toBeUndefined();
  expect(res.data.testProviderKey.userErrors).toEqual([]);
  expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [key]))).toBe('');
  expect(res.raw).not.toContain(key.slice(0, 10)); // the fake's 401 body echoes the first 10 characters
  return res.data.testProviderKey.result;
}

/** The fake saw exactly one check, carrying the key in the provider's own header. */
function expectOneRequest(header: 'authorization' | 'x-api-key', key: string) {
  expect(fake.requests).toHaveLength(1);
  expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
  expect(fake.requests[0].headers[header]).toBe(header === 'authorization' ? `Bearer ${key}` : key);
}

describe('outcomes against the fake provider', () => {
  it('VALID lists the models (OpenAI shape, bearer header)', async () => {
    const key = openaiKey();
    fake.allow(key, ['gpt-b', 'gpt-a']);
    const result = await testKey(openai, key);
    expect(result).toMatchObject({ outcome: 'VALID', models: ['gpt-a', 'gpt-b'], httpStatus: 200, retryAfterSeconds: null });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expectOneRequest('authorization', key);
  });

  it('VALID and INVALID for Anthropic (x-api-key header)', async () => {
    const good = anthropicKey();
    fake.allow(good, ['claude-x']);
    expect(await testKey(anthropic, good)).toMatchObject({ outcome: 'VALID', models: ['claude-x'], httpStatus: 200 });
    expectOneRequest('x-api-key', good);
    fake.reset();
    expect(await testKey(anthropic, anthropicKey())).toMatchObject({ outcome: 'INVALID', models: [], httpStatus: 401 });
  });

  it('INVALID when the provider rejects the key, without repeating its echo of the key', async () => {
    const key = openaiKey();
    const result = await testKey(openai, key);
    expect(result).toMatchObject({ outcome: 'INVALID', models: [], httpStatus: 401 });
    expect(result.message).toBe('The provider rejected the key as invalid (HTTP 401).');
    expectOneRequest('authorization', key);
  });

  it.each([
    ['VALID_NO_QUOTA', () => fake.respond.noQuota(), 429],
    ['VALID_RESTRICTED', () => fake.respond.forbidden(), 403],
    ['PROVIDER_UNAVAILABLE', () => fake.respond.unavailable(503), 503],
  ] as const)('%s', async (outcome, response, status) => {
    const key = openaiKey();
    fake.script(key, response());
    expect(await testKey(openai, key)).toMatchObject({ outcome, models: [], httpStatus: status, retryAfterSeconds: null });
    expectOneRequest('authorization', key);
  });

  it('RATE_LIMITED with retryAfterSeconds', async () => {
    const key = openaiKey();
    fake.script(key, fake.respond.rateLimited(7));
    const result = await testKey(openai, key);
    expect(result).toMatchObject({ outcome: 'RATE_LIMITED', httpStatus: 429, retryAfterSeconds: 7 });
    expect(result.message).toContain('retry after 7 s');
  });

  it('PROVIDER_UNAVAILABLE when the provider hangs past PROVIDER_TIMEOUT_MS (1500)', async () => {
    const key = openaiKey();
    fake.script(key, fake.respond.hang());
    const started = Date.now();
    const result = await testKey(openai, key);
    const took = Date.now() - started;
    expect(result).toMatchObject({ outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null, message: 'Could not reach the provider (UNREACHABLE).' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(1400);
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(5000);
  });

  it('a key failing the format rule is a userError and never reaches the provider', async () => {
    const key = `AIza${openaiKey().slice(8, 43)}`;
    const res = await t.gql(TEST, { input: { providerId: openai, secret: key } }, admin);
    expect(res.data.testProviderKey).toEqual({
      result: null,
      userErrors: [expect.objectContaining({ code: 'KEY_FORMAT_MISMATCH', field: ['input', 'secret'] })],
    });
    expect(fake.requests).toHaveLength(0);
    expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [key]))).toBe('');
  });
});

describe('nothing is kept but the audit trail', () => {
  it('stores no key, audits PROVIDER_KEY_TESTED with the redacted hint, and logs nothing of the key', async () => {
    const key = openaiKey();
    const counts = async () =>
      (
        await t.app.db.query(
          `SELECT (SELECT count(*) FROM credential_versions WHERE tenant_id = $1)::int AS versions,
                  (SELECT count(*) FROM credentials WHERE tenant_id = $1)::int AS credentials,
                  (SELECT count(*) FROM credential_versions WHERE fingerprint = $2)::int AS same_key,
                  (SELECT count(*) FROM outbox WHERE tenant_id = $1)::int AS outbox`,
          [tenantId, t.app.services.fingerprinter.fingerprint(key)],
        )
      )[0];
    const before = await counts();
    const audits = await t.app.db.query(`SELECT id FROM audit_events WHERE tenant_id = $1 AND action = 'PROVIDER_KEY_TESTED'`, [tenantId]);
    expect((await testKey(openai, key)).outcome).toBe('INVALID');
    expect(await counts()).toEqual({ ...before, same_key: 0 });

    const rows = await t.app.db.query(
      `SELECT e.*, row_to_json(e)::text AS dump FROM audit_events e WHERE tenant_id = $1 AND action = 'PROVIDER_KEY_TESTED' AND NOT (id = ANY($2))`,
      [tenantId, audits.map((a: { id: string }) => a.id)],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_type: 'API_TOKEN',
      target_type: 'PROVIDER',
      target_id: openai,
      details: { provider: 'openai', redactedKey: `sk-proj-…${key.slice(-4)}`, outcome: 'INVALID' },
    });
    // The keyed reference the same key gets in this tenant once stored: no version, since it is not.
    const fp = t.app.services.fingerprinter;
    expect(rows[0].details.keyRefs).toEqual([{ ref: fp.auditKeyRef(tenantId, fp.fingerprint(key)), version: null }]);
    expect(rows[0].details.keyRefs[0].ref).toMatch(/^kr1_[0-9a-f]{32}$/);
    const sources = [
      { where: 'audit row', text: rows[0].dump },
      ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
      ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
    ];
    expect(describeHits(scanTexts(sources, tested))).toBe('');
    expect(tested.length).toBeGreaterThan(5);
  });

  it('the audit trail is readable through the API and holds the hint only', async () => {
    const res = await t.gql(
      `query($t: ID!) { auditEvents(tenantId: $t, action: "PROVIDER_KEY_TESTED", first: 50) { nodes { action details } } }`,
      { t: tenantId },
      viewer,
    );
    expect(res.errors).toBeUndefined();
    const hints = res.data.auditEvents.nodes.map((n: { details: { redactedKey: string } }) => n.details.redactedKey);
    expect(hints.length).toBeGreaterThan(5);
    for (const hint of hints) expect(hint).toMatch(/^sk-(proj|ant-api03)-…[A-Za-z0-9]{4}$/);
  });

  it('a VIEWER gets FORBIDDEN, and nothing is called or audited', async () => {
    const key = openaiKey();
    fake.allow(key);
    const before = await t.app.db.query(`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1`, [tenantId]);
    const res = await t.gql(TEST, { input: { providerId: openai, secret: key } }, viewer);
    expect(res.data).toBeNull();
    expect(res.errors).toEqual([expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })]);
    expect(fake.requests).toHaveLength(0);
    expect(await t.app.db.query(`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1`, [tenantId])).toEqual(before);
    expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [key]))).toBe('');
  });
});
