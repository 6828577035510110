import type { FakeProvider } from '../../fakes/fake-provider';
import { ADMIN_TOKEN, type TestApp } from '../../helpers/test-app';
import {
  expectRejected,
  FORBIDDEN,
  MUTATIONS,
  mutationDoc,
  PLATFORM_ONLY,
  READS,
  rolesWorld,
  state,
  type RolesWorld,
} from '../../helpers/roles-world';

/**
 * Roles, the platform side: tenant ADMIN and VIEWER are refused every platform-only operation; the
 * platform admin reads and changes any tenant's objects, acting (and audited) in that tenant.
 */

const world = rolesWorld();
let t: TestApp;
let fake: FakeProvider;
let W: RolesWorld;
beforeAll(() => {
  ({ t, fake, W } = world);
});

test.each(PLATFORM_ONLY)('tenant ADMIN and VIEWER get FORBIDDEN on platform-only %s', async (_name, doc, vars) => {
  const before = await state();
  const openaiRow = await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'");
  expectRejected(await t.gql(doc, vars(), W.admin), FORBIDDEN);
  expectRejected(await t.gql(doc, vars(), W.viewer), FORBIDDEN);
  expect(await state()).toEqual(before);
  expect(await t.app.db.query("SELECT * FROM providers WHERE slug = 'openai'")).toEqual(openaiRow);
});

test("the platform admin can read and change any tenant's objects", async () => {
  for (const [name, doc, vars, expected] of READS.filter(([n]) => n !== 'viewer')) {
    const res = await t.gql(doc, vars(), ADMIN_TOKEN);
    expect({ name, errors: res.errors }).toEqual({ name, errors: undefined });
    expect(res.data).toMatchObject(expected());
  }
  for (const [name, input] of MUTATIONS) {
    const res = await t.gql(mutationDoc(name), { input: input() }, ADMIN_TOKEN);
    expect({ name, errors: res.errors, userErrors: res.data?.[name]?.userErrors }).toEqual({ name, errors: undefined, userErrors: [] });
  }
  const [tenant] = await t.app.db.query('SELECT name, byok_mode FROM tenants WHERE id = $1', [W.tenantId]);
  expect(tenant).toEqual({ name: 'Renamed', byok_mode: 'PLATFORM' });
  const byAdmin = await t.app.db.query(
    "SELECT DISTINCT action FROM audit_events WHERE tenant_id = $1 AND actor_type = 'PLATFORM_ADMIN' ORDER BY action",
    [W.tenantId],
  );
  expect(byAdmin.map((r: { action: string }) => r.action)).toEqual(
    expect.arrayContaining(['CREDENTIAL_REVOKED', 'GATEWAY_KEY_ROTATED', 'TENANT_REVERTED_TO_PLATFORM_KEYS', 'TENANT_UPDATED']),
  );
  expect(fake.requests.length).toBe(1); // testProviderKey reached the (fake) provider exactly once
});

test('the platform admin ran the new mutations in the right tenant, and reads the platform-only queries', async () => {
  const q = (sql: string, params: unknown[]) => t.app.db.query(sql, params);
  // Tenant-scoped: acted in W's tenant, audited there as the platform admin.
  expect(await q('SELECT tenant_id, status, status_changed_by FROM key_reuse_alerts WHERE id = $1', [W.alertId])).toEqual([
    { tenant_id: W.tenantId, status: 'DISMISSED', status_changed_by: 'platform-admin' },
  ]);
  expect(await q('SELECT tenant_id, status, replay_count FROM webhook_deliveries WHERE id = $1', [W.deliveryId])).toEqual([
    { tenant_id: W.tenantId, status: 'PENDING', replay_count: 1 },
  ]);
  expect(
    await q('SELECT tenant_id, credential_mode FROM gateway_provider_modes WHERE gateway_id = $1 AND provider_id = $2', [W.gwId, W.customProviderId]),
  ).toEqual([{ tenant_id: W.tenantId, credential_mode: 'HYBRID' }]);
  const tenantAudit = await q(
    "SELECT action, target_id FROM audit_events WHERE tenant_id = $1 AND actor_type = 'PLATFORM_ADMIN' AND action = ANY($2) ORDER BY action",
    [W.tenantId, ['GATEWAY_PROVIDER_MODE_CHANGED', 'KEY_REUSE_ALERT_ACKNOWLEDGED', 'KEY_REUSE_ALERT_DISMISSED', 'WEBHOOK_DELIVERY_REPLAYED']],
  );
  expect(tenantAudit).toEqual([
    { action: 'GATEWAY_PROVIDER_MODE_CHANGED', target_id: W.gwId },
    { action: 'KEY_REUSE_ALERT_ACKNOWLEDGED', target_id: W.alertId },
    { action: 'KEY_REUSE_ALERT_DISMISSED', target_id: W.alertId },
    { action: 'WEBHOOK_DELIVERY_REPLAYED', target_id: W.deliveryId },
  ]);
  // Platform-wide: no tenant on the audit rows.
  const keys = await q('SELECT id, priority, revoked_at FROM platform_keys WHERE provider_id = $1 ORDER BY created_at', [W.customProviderId]);
  expect(keys).toEqual([
    { id: W.platformKeyId, priority: 0, revoked_at: expect.any(Date) },
    { id: expect.any(String), priority: 7, revoked_at: null },
  ]);
  const platformAudit = await q(
    // The platform's own rows; tenants served platform keys get theirs too (PLATFORM_KEYS_CHANGED, provider-hosts spec).
    "SELECT action, tenant_id FROM audit_events WHERE actor_type = 'PLATFORM_ADMIN' AND target_id = ANY($1) AND tenant_id IS NULL ORDER BY action",
    [[W.platformKeyId, keys[1].id]],
  );
  expect(platformAudit).toEqual([
    { action: 'PLATFORM_KEY_CREATED', tenant_id: null },
    { action: 'PLATFORM_KEY_CREATED', tenant_id: null },
    { action: 'PLATFORM_KEY_REVOKED', tenant_id: null },
  ]);
  const [rescan] = await q(
    "SELECT target_id, tenant_id, details FROM audit_events WHERE action = 'KEY_RESCAN_STARTED' AND actor_type = 'PLATFORM_ADMIN' AND details->>'reason' = 'roles check'",
    [],
  );
  expect(rescan).toEqual({ target_id: expect.stringMatching(/^fingerprint-rescan-\d+$/), tenant_id: null, details: { reason: 'roles check' } });
  const status = await t.gql('query($id: ID!) { keyRescan(jobId: $id) { jobId state } }', { id: rescan.target_id }, ADMIN_TOKEN);
  expect(status.errors).toBeUndefined();
  expect(status.data.keyRescan).toEqual({ jobId: rescan.target_id, state: expect.any(String) });
  const listed = await t.gql('query($p: ID) { platformKeys(providerId: $p) { id revokedAt } }', { p: W.customProviderId }, ADMIN_TOKEN);
  expect(listed.errors).toBeUndefined();
  expect(listed.data.platformKeys.map((k: { id: string }) => k.id)).toEqual([W.platformKeyId, keys[1].id]); // by priority: 0, then 7
  const groups = await t.gql('{ keyReuseGroups(first: 100) { nodes { id } } }', {}, ADMIN_TOKEN);
  expect(groups.errors).toBeUndefined();
});
