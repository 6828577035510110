import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { openNotificationSecret } from '../../../src/modules/tenant/tenant-notification';
import { TenantEntity } from '../../../src/modules/tenant/tenant.entity';
import { rotationSweep } from '../../../workers/processors/rotation-sweep.processor';
import { createCredential, expectOk, providerId as providerIdOf, tenantWithTokens } from '../../factories';
import { revokeCredential } from '../../factories/credentials';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { createLogger } from '../../../src/logger';
import { webhookContractErrors } from '../../helpers/contracts';

let t: TestApp;
let openai: string;

beforeAll(async () => {
  t = await startTestApp();
  openai = await providerIdOf(t, 'openai');
});

afterAll(async () => {
  await t?.close();
});

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);
const sweepJob = () => ({ name: 'rotation-sweep', id: `manual-${randomUUID()}`, timestamp: Date.now(), data: {} }) as Job<Record<string, never>>;
/** The sweep needs only the database (deliveries go to the outbox), so the API tests run it in-process. */
const sweep = () => rotationSweep({ db: t.app.db, log: createLogger('silent') }, sweepJob());

const UPDATE_TENANT = `mutation($input: UpdateTenantInput!) {
  updateTenant(input: $input) { tenant { id notificationWebhookUrl } notificationSigningSecret userErrors { field code } }
}`;
const REMINDERS = `query($tenantId: ID!, $credentialId: ID, $first: Int, $after: String) {
  rotationReminders(tenantId: $tenantId, credentialId: $credentialId, first: $first, after: $after) {
    nodes { id version threshold rotateBy createdAt deliveryStatus credential { id label status } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function dueCredential(token: string, tenantId: string, rotateIn: string) {
  const credential = await createCredential(t, token, { tenantId, providerId: openai });
  await q(`UPDATE credentials SET rotate_by = now() + $2::interval WHERE id = $1`, [credential.id, rotateIn]);
  return credential;
}

describe('rotation reminders', () => {
  it('records the crossed threshold per key version, once; queryable by any role, newest first', async () => {
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    const cases = [
      ['13 days', 'DAYS_14'],
      ['6 days', 'DAYS_7'],
      ['12 hours', 'DAYS_1'],
      ['-1 day', 'OVERDUE'],
      ['30 days', null],
    ] as const;
    const ids: Record<string, string | null> = {};
    for (const [rotateIn, threshold] of cases) ids[(await dueCredential(admin, tenant.id, rotateIn)).id] = threshold;
    await sweep();
    await sweep(); // a second run the same day records nothing new
    const res = await t.gql(REMINDERS, { tenantId: tenant.id, first: 10 }, viewer);
    expect(res.errors).toBeUndefined();
    const nodes = res.data.rotationReminders.nodes;
    expect(nodes).toHaveLength(4);
    for (const node of nodes) {
      expect(node).toMatchObject({
        version: 1,
        threshold: ids[node.credential.id],
        deliveryStatus: null,
        credential: { status: 'PENDING_VALIDATION' },
      });
    }
    // Time moves on for the 13-day key: the next threshold is recorded, the old one not again.
    const early = Object.keys(ids).find((id) => ids[id] === 'DAYS_14')!;
    await q(`UPDATE credentials SET rotate_by = now() + interval '5 days' WHERE id = $1`, [early]);
    await sweep();
    const only = await t.gql(REMINDERS, { tenantId: tenant.id, credentialId: early, first: 10 }, admin);
    expect(only.data.rotationReminders.nodes.map((n: any) => n.threshold)).toEqual(['DAYS_7', 'DAYS_14']);
    // Paging.
    const page1 = await t.gql(REMINDERS, { tenantId: tenant.id, first: 3 }, admin);
    const page2 = await t.gql(REMINDERS, { tenantId: tenant.id, first: 3, after: page1.data.rotationReminders.pageInfo.endCursor }, admin);
    expect(page1.data.rotationReminders.pageInfo.hasNextPage).toBe(true);
    expect([...page1.data.rotationReminders.nodes, ...page2.data.rotationReminders.nodes].map((n: any) => n.id)).toHaveLength(5);
  });

  it("another tenant's reminders answer exactly like a random tenant id: NOT_FOUND", async () => {
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    await dueCredential(a.admin, a.tenant.id, '-1 day');
    await sweep();
    const foreign = await t.gql(REMINDERS, { tenantId: a.tenant.id, first: 5 }, b.admin);
    const random = await t.gql(REMINDERS, { tenantId: randomUUID(), first: 5 }, b.admin);
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(foreign.errors?.map((e) => e.message)).toEqual(random.errors?.map((e) => e.message));
    expect(foreign.data).toEqual(random.data);
    // A foreign credential id as filter matches nothing in one's own tenant.
    const [aCredential] = await q('SELECT id FROM credentials WHERE tenant_id = $1', [a.tenant.id]);
    const filtered = await t.gql(REMINDERS, { tenantId: b.tenant.id, credentialId: aCredential.id, first: 5 }, b.admin);
    expect(filtered.data.rotationReminders.nodes).toEqual([]);
  });

  it('is delivered (outbox + delivery row) only for tenants with a notification webhook, once', async () => {
    const quiet = await tenantWithTokens(t);
    const loud = await tenantWithTokens(t);
    await expectOk(
      t.gql(UPDATE_TENANT, { input: { id: loud.tenant.id, notificationWebhookUrl: 'https://hooks.example.test/keyplane' } }, loud.admin),
      'updateTenant',
    );
    const quietKey = await dueCredential(quiet.admin, quiet.tenant.id, '6 days');
    const loudKey = await dueCredential(loud.admin, loud.tenant.id, '6 days');
    await sweep();
    await sweep();
    const [quietReminder] = await q('SELECT delivery_id FROM rotation_reminders WHERE credential_id = $1', [quietKey.id]);
    expect(quietReminder.delivery_id).toBeNull();
    const reminders = await q('SELECT id, delivery_id, rotate_by FROM rotation_reminders WHERE credential_id = $1', [loudKey.id]);
    expect(reminders).toHaveLength(1);
    const deliveries = await q('SELECT * FROM webhook_deliveries WHERE tenant_id = $1', [loud.tenant.id]);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      id: reminders[0].delivery_id,
      kind: 'ROTATION_REMINDER',
      target_id: reminders[0].id,
      dedupe_key: `rotation-reminder:${reminders[0].id}`,
      status: 'PENDING',
    });
    // The body in the Standard Webhooks structure (docs/webhooks/credential.rotation_due.schema.json).
    const data = {
      tenantId: loud.tenant.id,
      credentialId: loudKey.id,
      reminderId: reminders[0].id,
      version: 1,
      threshold: 'DAYS_7',
      rotateBy: reminders[0].rotate_by.toISOString(),
    };
    expect(deliveries[0].payload).toEqual({ type: 'credential.rotation_due', timestamp: expect.any(String), data, ...data });
    expect(webhookContractErrors(JSON.stringify(deliveries[0].payload))).toEqual([]);
    const outbox = await q(`SELECT job_name, job_id, payload FROM outbox WHERE job_name = 'deliver-webhook' AND tenant_id = $1`, [loud.tenant.id]);
    expect(outbox).toEqual([
      {
        job_name: 'deliver-webhook',
        job_id: `deliver-webhook-${deliveries[0].id}-r0`,
        payload: { tenantId: loud.tenant.id, deliveryId: deliveries[0].id, replay: 0 },
      },
    ]);
    expect(await q('SELECT 1 FROM webhook_deliveries WHERE tenant_id = $1', [quiet.tenant.id])).toHaveLength(0);
    const res = await t.gql(REMINDERS, { tenantId: loud.tenant.id, first: 5 }, loud.viewer);
    expect(res.data.rotationReminders.nodes[0].deliveryStatus).toBe('PENDING');
  });

  it('skips revoked credentials', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const credential = await dueCredential(admin, tenant.id, '-2 days');
    await revokeCredential(t, admin, credential.id);
    await sweep();
    expect(await q('SELECT 1 FROM rotation_reminders WHERE credential_id = $1', [credential.id])).toHaveLength(0);
  });
});

describe('tenant notification webhook settings', () => {
  it('the first URL issues a signing secret, returned once, sealed at rest, never in logs or audit', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const first = await expectOk<any>(
      t.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: 'https://hooks.example.test/a' } }, admin),
      'updateTenant',
    );
    const secret: string = first.notificationSigningSecret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(first.tenant.notificationWebhookUrl).toBe('https://hooks.example.test/a');
    const secretResponse = t.responses.length - 1;

    const changed = await expectOk<any>(
      t.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: 'https://hooks.example.test/b' } }, admin),
      'updateTenant',
    );
    expect(changed.notificationSigningSecret).toBeNull();
    const cleared = await expectOk<any>(t.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: null } }, admin), 'updateTenant');
    expect(cleared).toMatchObject({ tenant: { notificationWebhookUrl: null }, notificationSigningSecret: null });
    const again = await expectOk<any>(
      t.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: 'https://hooks.example.test/c' } }, admin),
      'updateTenant',
    );
    expect(again.notificationSigningSecret).toBeNull(); // the secret is kept, so receivers keep verifying
    const read = await t.gql('query($id: ID!) { tenant(id: $id) { notificationWebhookUrl } }', { id: tenant.id }, admin);
    expect(read.data.tenant.notificationWebhookUrl).toBe('https://hooks.example.test/c');

    // Sealed with the documented context, so the webhook sender can open it.
    const row = await t.app.db.getRepository(TenantEntity).findOneByOrFail({ id: tenant.id });
    expect(await openNotificationSecret(t.app.services.box, row)).toBe(secret);
    const audit = await q(`SELECT details FROM audit_events WHERE target_id = $1 AND action = 'TENANT_UPDATED' ORDER BY created_at`, [tenant.id]);
    expect(audit[0].details.changes).toEqual({ notificationWebhookUrl: 'https://hooks.example.test/a', notificationSigningSecretIssued: true });

    const sources = [
      ...(await dumpDatabase(t.app.db)),
      ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
      ...t.responses.map((text, i) => ({ where: `response ${i}`, text })).filter((_, i) => i !== secretResponse),
    ];
    const hits = scanTexts(sources, [secret.slice('whsec_'.length)]);
    expect(hits).toEqual([]);
    if (hits.length) throw new Error(describeHits(hits));
  });

  it('rejects a bad URL as a userError and writes nothing', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    for (const url of ['not a url', 'ftp://hooks.example.test/x', 'https://user:pw@hooks.example.test/x', '']) {
      const res = await expectOkOrErrors(t.gql(UPDATE_TENANT, { input: { id: tenant.id, notificationWebhookUrl: url } }, admin));
      expect(res.userErrors).toEqual([{ field: ['input', 'notificationWebhookUrl'], code: 'URL_INVALID' }]);
    }
    const [row] = await q('SELECT notification_webhook_url, notification_ciphertext FROM tenants WHERE id = $1', [tenant.id]);
    expect(row).toEqual({ notification_webhook_url: null, notification_ciphertext: null });
  });

  it('a VIEWER is FORBIDDEN and another tenant gets NOT_FOUND; nothing is written', async () => {
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    const viewer = await t.gql(UPDATE_TENANT, { input: { id: a.tenant.id, notificationWebhookUrl: 'https://evil.example.test/' } }, a.viewer);
    expect(viewer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const foreign = await t.gql(UPDATE_TENANT, { input: { id: a.tenant.id, notificationWebhookUrl: 'https://evil.example.test/' } }, b.admin);
    const random = await t.gql(UPDATE_TENANT, { input: { id: randomUUID(), notificationWebhookUrl: 'https://evil.example.test/' } }, b.admin);
    expect(foreign.data.updateTenant.userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND' }]);
    expect(foreign.raw).toBe(random.raw);
    const [row] = await q('SELECT notification_webhook_url, notification_ciphertext FROM tenants WHERE id = $1', [a.tenant.id]);
    expect(row).toEqual({ notification_webhook_url: null, notification_ciphertext: null });
  });
});

async function expectOkOrErrors(promise: Promise<{ data?: any; errors?: unknown[] }>) {
  const res = await promise;
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.updateTenant;
}
