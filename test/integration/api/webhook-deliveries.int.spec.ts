import { randomUUID } from 'node:crypto';
import { createGatewayWithWebhook, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const LIST = `query($tenantId: ID!, $gatewayId: ID, $status: WebhookDeliveryStatus, $first: Int, $after: String) {
  webhookDeliveries(tenantId: $tenantId, gatewayId: $gatewayId, status: $status, first: $first, after: $after) {
    nodes { id tenantId kind gatewayId targetId eventType configVersion reason status attemptCount lastStatusCode lastErrorClass
            replayCount deadAt deliveredAt attempts { attempt statusCode latencyMs errorClass } }
    pageInfo { hasNextPage endCursor } } }`;
const REPLAY = `mutation($input: ReplayWebhookDeliveryInput!) { replayWebhookDelivery(input: $input) {
  delivery { id status replayCount deadAt } userErrors { field message code } } }`;

/** A stored delivery in a given state, with its attempts, as the worker would have left it. */
async function storedDelivery(tenantId: string, gatewayId: string, status: 'DEAD' | 'DELIVERED', version: number) {
  const payload = { type: 'gateway.config_changed', gatewayId, tenantId, configVersion: version, reason: 'MODE_CHANGED' };
  const [row] = await t.app.db.query(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status, attempts, last_status_code, last_error_class, dead_at, delivered_at)
     VALUES ($1, 'GATEWAY_RELOAD', $2, $3, $4::jsonb, $5, 2, $6, $7, $8, $9) RETURNING id`,
    [
      tenantId,
      gatewayId,
      `gateway-reload:${gatewayId}:${version}`,
      JSON.stringify(payload),
      status,
      status === 'DEAD' ? 503 : 200,
      status === 'DEAD' ? 'HTTP_5XX' : null,
      status === 'DEAD' ? new Date() : null,
      status === 'DELIVERED' ? new Date() : null,
    ],
  );
  await t.app.db.query(
    `INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, latency_ms, error_class)
     VALUES ($1, $2, 1, 503, 12, 'HTTP_5XX'), ($1, $2, 2, $3, 9, $4)`,
    [tenantId, row.id, status === 'DEAD' ? 503 : 200, status === 'DEAD' ? 'HTTP_5XX' : null],
  );
  return row.id as string;
}

async function world() {
  const a = await tenantWithTokens(t);
  const gw = await createGatewayWithWebhook(t, a.admin, a.tenant.id, 'https://hooks.example.com/keyplane');
  const gw2 = await createGatewayWithWebhook(t, a.admin, a.tenant.id, 'https://hooks.example.com/other');
  const dead = await storedDelivery(a.tenant.id, gw.gateway.id, 'DEAD', 2);
  const delivered = await storedDelivery(a.tenant.id, gw2.gateway.id, 'DELIVERED', 2);
  return { ...a, tenantId: a.tenant.id, gatewayId: gw.gateway.id, dead, delivered };
}

describe('webhookDeliveries', () => {
  it("lists a tenant's deliveries with their attempts to any role; filters by status (dead letters) and gateway", async () => {
    const a = await world();
    const all = await t.gql(LIST, { tenantId: a.tenantId }, a.viewer);
    expect(all.errors).toBeUndefined();
    expect(all.data.webhookDeliveries.nodes.map((n: { id: string }) => n.id)).toEqual([a.delivered, a.dead]);
    const dead = await t.gql(LIST, { tenantId: a.tenantId, status: 'DEAD' }, a.viewer);
    expect(dead.data.webhookDeliveries.nodes).toEqual([
      {
        id: a.dead,
        tenantId: a.tenantId,
        kind: 'GATEWAY_RELOAD',
        gatewayId: a.gatewayId,
        targetId: a.gatewayId,
        eventType: 'gateway.config_changed',
        configVersion: 2,
        reason: 'MODE_CHANGED',
        status: 'DEAD',
        attemptCount: 2,
        lastStatusCode: 503,
        lastErrorClass: 'HTTP_5XX',
        replayCount: 0,
        deadAt: expect.any(String),
        deliveredAt: null,
        attempts: [
          { attempt: 1, statusCode: 503, latencyMs: 12, errorClass: 'HTTP_5XX' },
          { attempt: 2, statusCode: 503, latencyMs: 9, errorClass: 'HTTP_5XX' },
        ],
      },
    ]);
    const byGateway = await t.gql(LIST, { tenantId: a.tenantId, gatewayId: a.gatewayId }, a.admin);
    expect(byGateway.data.webhookDeliveries.nodes.map((n: { id: string }) => n.id)).toEqual([a.dead]);
    const page = await t.gql(LIST, { tenantId: a.tenantId, first: 1 }, a.admin);
    expect(page.data.webhookDeliveries.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql(LIST, { tenantId: a.tenantId, first: 1, after: page.data.webhookDeliveries.pageInfo.endCursor }, a.admin);
    expect(next.data.webhookDeliveries.nodes.map((n: { id: string }) => n.id)).toEqual([a.dead]);
  });

  it("another tenant's deliveries are NOT_FOUND, exactly like a random tenant id; its gateway id matches nothing", async () => {
    const a = await world();
    const b = await tenantWithTokens(t);
    const foreign = await t.gql(LIST, { tenantId: a.tenantId }, b.admin);
    const random = await t.gql(LIST, { tenantId: randomUUID() }, b.admin);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.errors?.[0]?.message).toBe(random.errors?.[0]?.message);
    expect(foreign.data).toEqual(random.data);
    const byForeignGateway = await t.gql(LIST, { tenantId: b.tenant.id, gatewayId: a.gatewayId }, b.admin);
    expect(byForeignGateway.data.webhookDeliveries.nodes).toEqual([]);
    const byJunk = await t.gql(LIST, { tenantId: b.tenant.id, gatewayId: 'not-a-uuid' }, b.admin);
    expect(byJunk.data.webhookDeliveries.nodes).toEqual([]);
  });
});

describe('replayWebhookDelivery', () => {
  it('an admin replays a dead letter: PENDING, replay count, one outbox job and one audit event, in one go', async () => {
    const a = await world();
    const res = await t.gql(REPLAY, { input: { id: a.dead } }, a.admin);
    expect(res.data.replayWebhookDelivery).toEqual({ delivery: { id: a.dead, status: 'PENDING', replayCount: 1, deadAt: null }, userErrors: [] });
    const outbox = await t.app.db.query(
      "SELECT job_name, job_id, payload FROM outbox WHERE job_name = 'deliver-webhook' AND payload->>'deliveryId' = $1",
      [a.dead],
    );
    expect(outbox).toEqual([
      { job_name: 'deliver-webhook', job_id: `deliver-webhook-${a.dead}-r1`, payload: { tenantId: a.tenantId, deliveryId: a.dead, replay: 1 } },
    ]);
    const audit = await t.app.db.query(
      "SELECT actor_type, tenant_id, target_type, details FROM audit_events WHERE action = 'WEBHOOK_DELIVERY_REPLAYED' AND target_id = $1",
      [a.dead],
    );
    expect(audit).toEqual([
      {
        actor_type: 'API_TOKEN',
        tenant_id: a.tenantId,
        target_type: 'WEBHOOK_DELIVERY',
        details: expect.objectContaining({ replay: 1, lastErrorClass: 'HTTP_5XX' }),
      },
    ]);
    // Not dead any more: a second replay is refused until it dies again.
    const again = await t.gql(REPLAY, { input: { id: a.dead } }, a.admin);
    expect(again.data.replayWebhookDelivery.userErrors).toEqual([{ field: ['input', 'id'], message: expect.any(String), code: 'DELIVERY_NOT_DEAD' }]);
  });

  it('the platform admin can replay in any tenant', async () => {
    const a = await world();
    const res = await t.gql(REPLAY, { input: { id: a.dead } });
    expect(res.data.replayWebhookDelivery.delivery).toMatchObject({ id: a.dead, status: 'PENDING', replayCount: 1 });
  });

  it('a delivered message is not a dead letter', async () => {
    const a = await world();
    const res = await t.gql(REPLAY, { input: { id: a.delivered } }, a.admin);
    expect(res.data.replayWebhookDelivery).toEqual({ delivery: null, userErrors: [expect.objectContaining({ code: 'DELIVERY_NOT_DEAD' })] });
    const [row] = await t.app.db.query('SELECT status, replay_count FROM webhook_deliveries WHERE id = $1', [a.delivered]);
    expect(row).toEqual({ status: 'DELIVERED', replay_count: 0 });
  });

  it("another tenant's delivery answers exactly like a random id (NOT_FOUND), and nothing changes", async () => {
    const a = await world();
    const b = await tenantWithTokens(t);
    const foreign = await t.gql(REPLAY, { input: { id: a.dead } }, b.admin);
    const random = await t.gql(REPLAY, { input: { id: randomUUID() } }, b.admin);
    const junk = await t.gql(REPLAY, { input: { id: 'nope' } }, b.admin);
    expect(foreign.data.replayWebhookDelivery.userErrors).toEqual([
      { field: ['input', 'id'], message: 'Webhook delivery not found.', code: 'NOT_FOUND' },
    ]);
    expect(foreign.data).toEqual(random.data);
    expect(junk.data).toEqual(random.data);
    const platformRandom = await t.gql(REPLAY, { input: { id: randomUUID() } });
    expect(platformRandom.data).toEqual(random.data);
    const [row] = await t.app.db.query('SELECT status, replay_count FROM webhook_deliveries WHERE id = $1', [a.dead]);
    expect(row).toEqual({ status: 'DEAD', replay_count: 0 });
  });

  it('a VIEWER token is FORBIDDEN', async () => {
    const a = await world();
    const res = await t.gql(REPLAY, { input: { id: a.dead } }, a.viewer);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [row] = await t.app.db.query('SELECT status FROM webhook_deliveries WHERE id = $1', [a.dead]);
    expect(row.status).toBe('DEAD');
  });
});
