import { createServer } from 'node:net';
import { createGatewayWithWebhook, expectOk, tenantWithTokens } from '../../factories';
import { fastRetries, startWebhookSink, type WebhookSink } from '../../fakes/webhook-sink';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * Four ways a webhook receiver cannot be reached, through the real gateway-reload processor: a name
 * the policy blocks (localhost, with loopback closed), a name that does not resolve (.invalid), a
 * refused port and a receiver that never answers. Tenants must see the same thing for all four
 * (else deliveries map the internal network); operators see the cause in logs and the metric.
 * The blocked name needs loopback closed and the other two need it open, so two worker runs with
 * those two configs process the deliveries, one after the other.
 */
const TIMEOUT_MS = 300;
// The unknown name is an allowed destination (as an operator's internal name would be): it must
// get past the policy to fail in DNS.
const DESTINATIONS = { OUTBOUND_ALLOW_DESTINATIONS: `${TEST_ENV.OUTBOUND_ALLOW_DESTINATIONS},http://no-such-host.invalid` };
const WORKER_ENV = { ...DESTINATIONS, WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) };
let t: TestApp;
let sink: WebhookSink;
let tenant: { id: string };
let admin: string;
let viewer: string;

beforeAll(async () => {
  t = await startTestApp(DESTINATIONS);
  sink = await startWebhookSink();
  ({ tenant, admin, viewer } = await tenantWithTokens(t));
});
afterAll(async () => {
  await sink.close();
  await t.close();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Creates gateways with these webhook URLs, triggers a reload notification for each, lets `w` deliver them to DEAD. */
async function deliverWith(env: Record<string, string>, urls: string[]): Promise<TestWorkers> {
  const w = await startTestWorkers(t, { env: { ...WORKER_ENV, ...env } });
  fastRetries(w, ['gateways'], { attempts: 2 });
  try {
    const ids: string[] = [];
    for (const url of urls) {
      const gw = await createGatewayWithWebhook(t, admin, tenant.id, url);
      ids.push(gw.gateway.id);
      await expectOk(
        t.gql(
          'mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { userErrors { code } } }',
          { input: { id: gw.gateway.id, credentialMode: 'HYBRID' } },
          admin,
        ),
        'updateGateway',
      );
    }
    await w.relay();
    await eventually(async () => {
      const rows = await t.app.db.query("SELECT 1 FROM webhook_deliveries WHERE target_id = ANY($1::uuid[]) AND status = 'DEAD'", [ids]);
      return rows.length === ids.length;
    }, 10_000);
  } finally {
    await w.close();
  }
  return w;
}

const causes = (w: TestWorkers) =>
  w.outboundLogs
    .map((line) => JSON.parse(line))
    .filter((l) => l.outbound?.purpose === 'webhook')
    .map((l) => `${l.outbound.reason}:${l.outbound.detail}`);

const metric = async (w: TestWorkers, reason: string) => {
  const text = await w.metrics.metrics();
  return Number(new RegExp(`keyplane_outbound_failures_total\\{reason="${reason}",purpose="webhook"\\} (\\d+)`).exec(text)?.[1]);
};

it('a blocked name, an unknown name, a refused port and a hanging receiver look the same to the tenant', async () => {
  sink.scriptFor('/hang', { hang: true }, { hang: true });
  const blockedPath = '/blocked';
  const strict = await deliverWith({ OUTBOUND_ALLOW_LOOPBACK: 'false' }, [
    `http://localhost:${sink.port}${blockedPath}`,
    'http://no-such-host.invalid/hook',
  ]);
  const open = await deliverWith({}, [`http://127.0.0.1:${await closedPort()}/hook`, sink.url('/hang')]);

  const LIST = `query($tenantId: ID!) { webhookDeliveries(tenantId: $tenantId) {
    nodes { gatewayId status attemptCount lastErrorClass lastStatusCode attempts { attempt statusCode errorClass latencyMs } } } }`;
  const res = await t.gql(LIST, { tenantId: tenant.id }, viewer);
  const nodes: any[] = res.data.webhookDeliveries.nodes;
  expect(nodes).toHaveLength(4);
  const seen = nodes.map(({ gatewayId: _id, attempts, ...rest }) => ({ ...rest, attempts: attempts.map(({ latencyMs: _l, ...a }: any) => a) }));
  const expected = {
    status: 'DEAD',
    attemptCount: 2,
    lastErrorClass: 'UNREACHABLE',
    lastStatusCode: null,
    attempts: [
      { attempt: 1, statusCode: null, errorClass: 'UNREACHABLE' },
      { attempt: 2, statusCode: null, errorClass: 'UNREACHABLE' },
    ],
  };
  expect(seen).toEqual([expected, expected, expected, expected]);
  // Timing too: none of them answers before the deadline, blocked and unknown names included.
  for (const node of nodes) for (const a of node.attempts) expect(a.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
  expect(res.raw).not.toMatch(/ECONN|ENOTFOUND|EAI_|LOOPBACK|BLOCKED|policy_|refused|timeout/i);
  expect(sink.to(blockedPath)).toHaveLength(0);

  // Operators see the distinct cause of every attempt.
  // Without a reachable DNS server the resolver may say EAI_AGAIN instead of ENOTFOUND: both are dns.
  expect(
    causes(strict)
      .map((c) => c.replace(/^dns:EAI_AGAIN$/, 'dns:ENOTFOUND'))
      .sort(),
  ).toEqual(['dns:ENOTFOUND', 'dns:ENOTFOUND', 'policy_address:LOOPBACK', 'policy_address:LOOPBACK']);
  expect(causes(open).sort()).toEqual(['refused:ECONNREFUSED', 'refused:ECONNREFUSED', 'timeout:null', 'timeout:null']);
  expect([await metric(strict, 'policy_address'), await metric(strict, 'dns'), await metric(strict, 'refused')]).toEqual([2, 2, 0]);
  expect([await metric(open, 'refused'), await metric(open, 'timeout'), await metric(open, 'policy_address')]).toEqual([2, 2, 0]);
});
