import { createGatewayWithWebhook, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { fastRetries, startWebhookSink, type WebhookSink } from '../../fakes/webhook-sink';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * The outbound policy when URLs are saved (through GraphQL) and when they are used (testProviderKey
 * on the API, the validate-credential processor). Here loopback is NOT open: the API runs with
 * OUTBOUND_ALLOW_LOOPBACK=false, so the fake provider and the webhook sink (both on loopback) are
 * out of reach, and their connection counters prove that nothing reached them.
 */
const STRICT = { OUTBOUND_ALLOW_LOOPBACK: 'false' };
let t: TestApp;
let prod: TestApp;
let fake: FakeProvider;
let sink: WebhookSink;
let w: TestWorkers;

beforeAll(async () => {
  t = await startTestApp({ ...STRICT, PROVIDER_TIMEOUT_MS: '300' });
  // Production defaults: no OUTBOUND_ALLOW_DESTINATIONS, so https on port 443 only.
  prod = await startTestApp({ NODE_ENV: 'production', OUTBOUND_ALLOW_DESTINATIONS: undefined, ...STRICT });
  fake = await startFakeProvider();
  sink = await startWebhookSink();
  w = await startTestWorkers(t, { env: STRICT, timeoutMs: 300 });
  fastRetries(w, ['credentials'], { attempts: 1 });
});
afterAll(async () => {
  await w.close();
  await sink.close();
  await fake.close();
  await prod.close();
  await t.close();
});

const port = (url: string) => new URL(url).port;
const UPSERT_PROVIDER =
  'mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { field code message } } }';
const CREATE_GATEWAY = 'mutation($input: CreateGatewayInput!) { createGateway(input: $input) { gateway { id } userErrors { field code message } } }';
const UPDATE_GATEWAY =
  'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { webhookUrl } userErrors { field code message } } }';
const UPDATE_TENANT =
  'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { tenant { notificationWebhookUrl } userErrors { field code message } } }';
const providerInput = (baseUrl: string) => ({
  slug: uniqueSlug('ssrf'),
  name: 'Custom',
  baseUrl,
  authScheme: 'BEARER',
  apiShape: 'OPENAI',
  keyPrefixes: ['sk-proj-'],
  keyPattern: '^sk-',
});

/** Every URL a tenant could save, through each mutation that saves one; returns the userErrors. */
async function saveEverywhere(app: TestApp, url: string) {
  const { tenant, admin } = await tenantWithTokens(app);
  const gw = await createGatewayWithWebhook(app, admin, tenant.id, null);
  const results = [
    (await app.gql(UPSERT_PROVIDER, { input: providerInput(url) })).data.upsertProvider,
    (await app.gql(CREATE_GATEWAY, { input: { tenantId: tenant.id, name: 'Hooked', slug: uniqueSlug('gw'), webhookUrl: url } }, admin)).data
      .createGateway,
    (await app.gql(UPDATE_GATEWAY, { input: { id: gw.gateway.id, webhookUrl: url } }, admin)).data.updateGateway,
    (await app.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: url } }, admin)).data.updateTenant,
  ];
  const stored: { url: string | null }[] = await app.app.db.query(
    `SELECT webhook_url AS url FROM gateways WHERE tenant_id = $1 UNION ALL SELECT notification_webhook_url FROM tenants WHERE id = $1
     UNION ALL SELECT base_url FROM providers WHERE base_url = $2`,
    [tenant.id, url.replace(/\/+$/, '')],
  );
  lastStored = stored.map((r) => r.url).filter((u) => u !== null);
  return results.map((r) => r.userErrors);
}
let lastStored: string[] = [];

const notAllowed = (field: string) => [{ field: ['input', field], code: 'URL_NOT_ALLOWED', message: expect.any(String) }];
const FIELDS = ['baseUrl', 'webhookUrl', 'webhookUrl', 'notificationWebhookUrl'];

describe('saving a URL', () => {
  it.each([
    'http://hooks.example.com/x', // plain http
    'https://hooks.example.com:8443/x', // not 443
    'https://hooks.example.com:80/x',
    'https://169.254.169.254/latest/meta-data/',
    'https://2852039166/', // 169.254.169.254 as one decimal number
    'https://[::ffff:a9fe:a9fe]/',
    'https://[fd00:ec2::254]/',
    'https://10.0.0.1/',
    'https://127.0.0.1/',
    'https://localhost/x',
  ])('production defaults refuse %s in every mutation, with a userError and nothing saved', async (url) => {
    expect(await saveEverywhere(prod, url)).toEqual(FIELDS.map(notAllowed));
    expect(lastStored).toEqual([]);
  });

  it('production defaults accept https on 443 to a name, resolved or not: saving never consults DNS', async () => {
    for (const url of ['https://hooks.example.com/x', 'https://hooks.example.com:443/x', 'https://no-such-host.invalid/x']) {
      expect(await saveEverywhere(prod, url)).toEqual([[], [], [], []]);
      expect(lastStored.length).toBeGreaterThanOrEqual(3);
    }
  });

  it('one message for every refusal, naming neither the URL nor a rule or address', async () => {
    const messages = new Set<string>();
    for (const url of ['http://a.example/x', 'https://a.example:8443/', 'https://169.254.169.254/', 'https://10.1.2.3/']) {
      for (const errors of await saveEverywhere(prod, url)) messages.add(errors[0].message);
    }
    expect(messages.size).toBe(1);
    const [message] = [...messages];
    expect(message).not.toMatch(/169\.254|10\.1|a\.example|8443|metadata|private|loopback|resolve/i);
  });

  it('an operator-allowed destination is accepted; its address rules still apply (loopback closed here)', async () => {
    // The test env allows http://127.0.0.1:* and http://localhost:* as destinations.
    expect(await saveEverywhere(t, 'http://hooks.example.com/x')).toEqual(FIELDS.map(notAllowed));
    expect(await saveEverywhere(t, sink.url('/hook'))).toEqual(FIELDS.map(notAllowed));
    expect(await saveEverywhere(t, `http://localhost:${sink.port}/hook`)).toEqual(FIELDS.map(notAllowed));
    expect(await saveEverywhere(t, 'https://hooks.example.com/x')).toEqual([[], [], [], []]);
  });
});

/**
 * URLs saved before the policy was tightened (written here with SQL, as an older release or a
 * looser config would have) are judged again on every use, with the same tenant-visible outcome.
 */
describe('using a URL saved under an older policy', () => {
  const blockedBaseUrls = () => [
    'http://169.254.169.254',
    'http://10.0.0.1',
    'http://[fd00:ec2::254]',
    `http://[::ffff:127.0.0.1]:${port(fake.baseUrl)}`,
    `http://localhost:${port(fake.baseUrl)}`,
    fake.baseUrl, // http://127.0.0.1:<port>
  ];

  async function legacyProvider(baseUrl: string): Promise<string> {
    const created = await expectOk<any>(t.gql(UPSERT_PROVIDER, { input: providerInput('https://placeholder.example') }), 'upsertProvider');
    await t.app.db.query('UPDATE providers SET base_url = $2 WHERE id = $1', [created.provider.id, baseUrl]);
    return created.provider.id;
  }

  it('testProviderKey answers PROVIDER_UNAVAILABLE / UNREACHABLE for each, no sooner than the timeout, no connection', async () => {
    const { admin } = await tenantWithTokens(t);
    const key = openaiKey();
    fake.allow(key); // would be VALID if the request went out
    const before = fake.requests.length;
    for (const baseUrl of blockedBaseUrls()) {
      const providerId = await legacyProvider(baseUrl);
      const started = Date.now();
      const res = await t.gql(
        'mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome httpStatus message } userErrors { code } } }',
        { input: { providerId, secret: key } },
        admin,
      );
      expect([baseUrl, res.data.testProviderKey.result]).toEqual([
        baseUrl,
        { outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null, message: 'Could not reach the provider (UNREACHABLE).' },
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    }
    expect(fake.requests.length).toBe(before);
    // The API's own /metrics counts each refusal by cause (destination or address rule).
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const count = (reason: string) =>
      Number(new RegExp(`keyplane_outbound_failures_total\\{reason="${reason}",purpose="provider"\\} (\\d+)`).exec(text)?.[1]);
    expect(count('policy_destination') + count('policy_address')).toBe(blockedBaseUrls().length);
    expect(count('refused') + count('dns') + count('timeout')).toBe(0);
  });

  it('the validate-credential processor is refused the same way and records the same outcome', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const providerId = await legacyProvider(`http://localhost:${port(fake.baseUrl)}`);
    const key = openaiKey();
    fake.allow(key);
    const before = fake.requests.length;
    const created = await expectOk<any>(
      t.gql(
        'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }',
        {
          input: { tenantId: tenant.id, providerId, label: uniqueSlug('k'), secret: key },
        },
        admin,
      ),
      'createCredential',
    );
    await w.relay();
    const row = await eventually(async () => {
      const [c] = await t.app.db.query('SELECT last_validation_outcome, last_validation_message FROM credentials WHERE id = $1', [
        created.credential.id,
      ]);
      return c.last_validation_outcome && c;
    });
    expect(row).toEqual({ last_validation_outcome: 'PROVIDER_UNAVAILABLE', last_validation_message: 'Could not reach the provider (UNREACHABLE).' });
    expect(fake.requests.length).toBe(before);
    const logged = w.outboundLogs.map((l) => JSON.parse(l)).filter((l) => l.outbound?.purpose === 'provider');
    expect(logged.map((l) => [l.outbound.reason, l.outbound.detail])).toContainEqual(['policy_address', 'LOOPBACK']);
  });
});
