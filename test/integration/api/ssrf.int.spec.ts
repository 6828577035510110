import { createGatewayWithWebhook, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { fastRetries, startWebhookSink, type WebhookSink } from '../../fakes/webhook-sink';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * SSRF guard with OUTBOUND_ALLOW empty, as in production: loopback (where the fake provider and the
 * webhook sink listen) is NOT allowed, so every request below must be refused before connecting.
 * The receivers count TCP connections, which proves nothing reached them.
 */
let t: TestApp;
let fake: FakeProvider;
let sink: WebhookSink;
let w: TestWorkers;

beforeAll(async () => {
  t = await startTestApp({ OUTBOUND_ALLOW: '' });
  fake = await startFakeProvider();
  sink = await startWebhookSink();
  w = await startTestWorkers(t, { env: { OUTBOUND_ALLOW: '', WEBHOOK_MAX_ATTEMPTS: '3' } });
  // One try per job: a blocked address must not depend on retries to show up.
  fastRetries(w, ['credentials', 'gateways'], { attempts: 1 });
});
afterAll(async () => {
  await w.close();
  await sink.close();
  await fake.close();
  await t.close();
});

const port = (url: string) => new URL(url).port;
const blockedBaseUrls = () => [
  'http://169.254.169.254',
  'http://10.0.0.1',
  'http://[fd00:ec2::254]',
  `http://[::ffff:127.0.0.1]:${port(fake.baseUrl)}`,
  `http://localhost:${port(fake.baseUrl)}`,
  fake.baseUrl, // 127.0.0.1
];

async function customProvider(baseUrl: string): Promise<string> {
  const res = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: { slug: uniqueSlug('ssrf'), name: 'Custom', baseUrl, authScheme: 'BEARER', apiShape: 'OPENAI', keyPrefixes: ['sk-proj-'], keyPattern: '^sk-' },
    }),
    'upsertProvider',
  );
  return res.provider.id;
}

describe('custom provider base URLs', () => {
  it('testProviderKey refuses private, loopback, metadata and mapped addresses before any connection', async () => {
    const { admin } = await tenantWithTokens(t);
    const key = openaiKey();
    fake.allow(key); // would be VALID if the request went out
    for (const baseUrl of blockedBaseUrls()) {
      const providerId = await customProvider(baseUrl);
      const res = await t.gql(
        'mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome httpStatus message } userErrors { code } } }',
        { input: { providerId, secret: key } },
        admin,
      );
      expect([baseUrl, res.data.testProviderKey.result]).toEqual([
        baseUrl,
        { outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null, message: 'Could not connect to the provider (BLOCKED_ADDRESS).' },
      ]);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('the validate-credential processor is refused the same way and records why', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const providerId = await customProvider(`http://[::ffff:127.0.0.1]:${port(fake.baseUrl)}`);
    const key = openaiKey();
    fake.allow(key);
    const created = await expectOk<any>(
      t.gql('mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }', {
        input: { tenantId: tenant.id, providerId, label: uniqueSlug('k'), secret: key },
      }, admin),
      'createCredential',
    );
    await w.relay();
    const row = await eventually(async () => {
      const [c] = await t.app.db.query('SELECT last_validation_outcome, last_validation_message FROM credentials WHERE id = $1', [created.credential.id]);
      return c.last_validation_outcome && c;
    });
    expect(row).toEqual({ last_validation_outcome: 'PROVIDER_UNAVAILABLE', last_validation_message: 'Could not connect to the provider (BLOCKED_ADDRESS).' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('webhook URLs', () => {
  const blockedHooks = () => [
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::ffff:127.0.0.1]:${sink.port}/hook`,
    `http://localhost:${sink.port}/hook`,
    sink.url('/hook'),
  ];

  it('a reload notification to a blocked address is dead at once (BLOCKED_ADDRESS, not retried), no connection made', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const before = sink.connections();
    const gateways: string[] = [];
    for (const url of blockedHooks()) {
      const gw = await createGatewayWithWebhook(t, admin, tenant.id, url);
      gateways.push(gw.gateway.id);
      await expectOk(
        t.gql('mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }', { input: { id: gw.gateway.id, credentialMode: 'HYBRID' } }, admin),
        'updateGateway',
      );
    }
    await w.relay();
    const rows = await eventually(async () => {
      const r = await t.app.db.query('SELECT id, status, attempts, last_error_class FROM webhook_deliveries WHERE target_id = ANY($1::uuid[])', [gateways]);
      return r.length === gateways.length && r.every((d: { status: string }) => d.status === 'DEAD') && r;
    }, 8000);
    expect(rows.map((r: any) => [r.attempts, r.last_error_class])).toEqual(gateways.map(() => [1, 'BLOCKED_ADDRESS']));
    expect(sink.connections()).toBe(before);
    expect(sink.requests).toHaveLength(0);
  });
});
