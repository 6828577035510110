import { AUDIT_ACTIONS } from '../../../src/modules/audit/audit-actions';
import { createCredential, createGateway, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { revokeCredential, rotateCredential } from '../../factories/credentials';
import { createPlatformKey } from '../../factories/providers';
import { scanTexts, describeHits } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * Issue 16 items 4 and 6 on the API: platformAuditEvents and the tenant trail's filters (with
 * cross-tenant negatives), the enums that sit beside the old string fields, platformAuditIntegrity,
 * and one access log line per request that never holds a key, a token or variables.
 */

let t: TestApp;
let openai: string;

beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
});
afterAll(() => t.close());

const EVENT = 'id tenantId action actionCode actorType actorId targetType targetId details createdAt';
const TENANT_EVENTS = `query($id: ID!, $first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(tenantId: $id, first: $first, after: $after, filter: $filter) { nodes { ${EVENT} } pageInfo { hasNextPage endCursor } } }`;
const PLATFORM_EVENTS = `query($first: Int, $after: String, $filter: PlatformAuditEventFilter) {
  platformAuditEvents(first: $first, after: $after, filter: $filter) { nodes { ${EVENT} } pageInfo { hasNextPage endCursor } } }`;

async function tenantEvents(tenantId: string, filter: Record<string, unknown> | null, token?: string | null, first = 100) {
  const res = await t.gql(TENANT_EVENTS, { id: tenantId, filter, first }, token);
  return res;
}

async function platformEvents(filter: Record<string, unknown> | null, token?: string | null, first = 100, after?: string) {
  return t.gql(PLATFORM_EVENTS, { filter, first, after }, token);
}

async function world() {
  const w = await tenantWithTokens(t);
  const secret = openaiKey();
  const credential = await createCredential(t, w.admin, { tenantId: w.tenant.id, providerId: openai, secret });
  await createGateway(t, w.admin, w.tenant.id);
  return { ...w, tenantId: w.tenant.id, credentialId: credential.id, secret };
}

describe('platformAuditEvents', () => {
  it("lists the platform's own events and every tenant's, newest first, for platform admins", async () => {
    const a = await world();
    const b = await world();
    const res = await platformEvents(null, undefined, 100);
    expect(res.errors).toBeUndefined();
    const nodes = res.data.platformAuditEvents.nodes as { tenantId: string | null; createdAt: string; id: string }[];
    const tenants = new Set(nodes.map((n) => n.tenantId));
    expect(tenants.has(a.tenantId)).toBe(true);
    expect(tenants.has(b.tenantId)).toBe(true);
    const times = nodes.map((n) => Date.parse(n.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);

    // The platform chain: tenant creation is a platform admin action recorded with tenant_id NULL?
    // Whatever it holds, platformOnly returns only tenant-less rows, and they exist (tenant creation writes one).
    await t.app.db.query(
      `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details)
       VALUES (NULL, 'PLATFORM_ADMIN', 'platform-admin', 'PROVIDER_UPDATED', 'PROVIDER', $1, '{}')`,
      [openai],
    );
    const platformOnly = await platformEvents({ platformOnly: true }, undefined, 50);
    expect(platformOnly.errors).toBeUndefined();
    expect(platformOnly.data.platformAuditEvents.nodes.length).toBeGreaterThan(0);
    expect(platformOnly.data.platformAuditEvents.nodes.every((n: { tenantId: string | null }) => n.tenantId === null)).toBe(true);
  });

  it('filters by tenant, action, actor, target and time range, and pages with keyset cursors', async () => {
    const a = await world();
    const b = await world();
    const only = await platformEvents({ tenantId: a.tenantId }, undefined, 100);
    expect(only.data.platformAuditEvents.nodes.length).toBeGreaterThan(2);
    expect(only.data.platformAuditEvents.nodes.every((n: { tenantId: string }) => n.tenantId === a.tenantId)).toBe(true);

    const created = await platformEvents({ tenantId: b.tenantId, actions: ['CREDENTIAL_CREATED'] });
    expect(created.data.platformAuditEvents.nodes).toEqual([
      expect.objectContaining({ action: 'CREDENTIAL_CREATED', actionCode: 'CREDENTIAL_CREATED', targetId: b.credentialId, tenantId: b.tenantId }),
    ]);
    const byTarget = await platformEvents({ targetType: 'CREDENTIAL', targetId: a.credentialId });
    expect(byTarget.data.platformAuditEvents.nodes.map((n: { targetId: string }) => n.targetId)).toEqual([a.credentialId]);
    const byActor = await platformEvents({ tenantId: a.tenantId, actorType: 'API_TOKEN', actorId: a.adminTokenId });
    expect(byActor.data.platformAuditEvents.nodes.length).toBe(2); // the credential and the gateway
    expect(byActor.data.platformAuditEvents.nodes.every((n: { actorId: string }) => n.actorId === a.adminTokenId)).toBe(true);

    const all = (await platformEvents({ tenantId: a.tenantId })).data.platformAuditEvents.nodes as { id: string; createdAt: string }[];
    const newest = all[0].createdAt;
    const before = await platformEvents({ tenantId: a.tenantId, until: newest });
    expect(before.data.platformAuditEvents.nodes.map((n: { id: string }) => n.id)).toEqual(all.filter((n) => n.createdAt < newest).map((n) => n.id));
    const since = await platformEvents({ tenantId: a.tenantId, since: newest });
    expect(since.data.platformAuditEvents.nodes.map((n: { id: string }) => n.id)).toEqual(all.filter((n) => n.createdAt >= newest).map((n) => n.id));

    // Keyset pages of 1: the same rows, in the same order, none twice.
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await platformEvents({ tenantId: a.tenantId }, undefined, 1, after);
      seen.push(...page.data.platformAuditEvents.nodes.map((n: { id: string }) => n.id));
      if (!page.data.platformAuditEvents.pageInfo.hasNextPage) break;
      after = page.data.platformAuditEvents.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((n) => n.id));
  });

  it('is for platform admins only: tenant admins are FORBIDDEN', async () => {
    const a = await world();
    const res = await platformEvents(null, a.admin);
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(res.data?.platformAuditEvents ?? null).toBeNull();
  });

  it('refuses bad filters as BAD_USER_INPUT without echoing them', async () => {
    const both = await platformEvents({ tenantId: '00000000-0000-4000-8000-000000000000', platformOnly: true });
    expect(both.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badRef = await platformEvents({ keyRef: 'sk-proj-not-a-ref' });
    expect(badRef.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(badRef.raw).not.toContain('sk-proj-not-a-ref');
    const range = await platformEvents({ since: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z' });
    expect(range.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('tenant auditEvents filters', () => {
  it("filters within the tenant; another tenant id is NOT_FOUND; another tenant's target or actor matches nothing", async () => {
    const a = await world();
    const b = await world();
    const own = await tenantEvents(a.tenantId, { actions: ['CREDENTIAL_CREATED', 'GATEWAY_CREATED'] }, a.admin);
    expect(own.errors).toBeUndefined();
    expect(own.data.auditEvents.nodes.map((n: { actionCode: string }) => n.actionCode).sort()).toEqual(['CREDENTIAL_CREATED', 'GATEWAY_CREATED']);

    const cross = await tenantEvents(b.tenantId, { actions: ['CREDENTIAL_CREATED'] }, a.admin);
    expect(cross.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const foreignTarget = await tenantEvents(a.tenantId, { targetId: b.credentialId }, a.admin);
    expect(foreignTarget.data.auditEvents.nodes).toEqual([]);
    const foreignActor = await tenantEvents(a.tenantId, { actorId: b.adminTokenId }, a.admin);
    expect(foreignActor.data.auditEvents.nodes).toEqual([]);
    const ownTarget = await tenantEvents(a.tenantId, { targetType: 'CREDENTIAL', targetId: a.credentialId }, a.admin);
    expect(ownTarget.data.auditEvents.nodes.map((n: { action: string }) => n.action)).toEqual(['CREDENTIAL_CREATED']);

    // The deprecated single-action argument still works as before.
    const legacy = await t.gql(
      `query($id: ID!) { auditEvents(tenantId: $id, action: "GATEWAY_CREATED") { nodes { action } } }`,
      { id: a.tenantId },
      a.admin,
    );
    expect(legacy.data.auditEvents.nodes).toEqual([{ action: 'GATEWAY_CREATED' }]);
  });

  it("follows one key by keyRef across create, rotate and revoke; another tenant's reference matches nothing", async () => {
    const a = await world();
    const b = await world();
    await rotateCredential(t, a.admin, a.credentialId);
    await revokeCredential(t, a.admin, a.credentialId);
    const rows: { action: string; details: { keyRefs?: { ref: string | null; version: number }[] } }[] = await t.app.db.query(
      `SELECT action, details FROM audit_events WHERE tenant_id = $1 AND target_id = $2 ORDER BY seq`,
      [a.tenantId, a.credentialId],
    );
    expect(rows.map((r) => r.action)).toEqual(['CREDENTIAL_CREATED', 'CREDENTIAL_ROTATED', 'CREDENTIAL_REVOKED']);
    const v1 = rows[0].details.keyRefs![0];
    expect(v1).toEqual({ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 });
    const rotated = rows[1].details.keyRefs!;
    expect(rotated).toEqual([{ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 2 }]);
    expect(rotated[0].ref).not.toBe(v1.ref);
    // Revoked: every version, the references kept though the material is gone.
    expect(rows[2].details.keyRefs).toEqual([v1, rotated[0]]);

    const followed = await tenantEvents(a.tenantId, { keyRef: v1.ref }, a.admin);
    expect(followed.data.auditEvents.nodes.map((n: { action: string }) => n.action)).toEqual(['CREDENTIAL_REVOKED', 'CREDENTIAL_CREATED']);
    expect((await tenantEvents(b.tenantId, { keyRef: v1.ref }, b.admin)).data.auditEvents.nodes).toEqual([]);

    // The same key in another tenant: another reference (per-tenant key), so trails cannot be joined.
    const c = await tenantWithTokens(t);
    await createCredential(t, c.admin, { tenantId: c.tenant.id, providerId: openai, secret: a.secret });
    const [other] = await t.app.db.query(`SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'CREDENTIAL_CREATED'`, [c.tenant.id]);
    expect(other.details.keyRefs[0].ref).toMatch(/^kr1_/);
    expect(other.details.keyRefs[0].ref).not.toBe(v1.ref);
    // Within one tenant the same key gives the same reference (a key that comes back is recognised).
    const again = await createCredential(t, a.admin, { tenantId: a.tenantId, providerId: openai, secret: a.secret });
    const [back] = await t.app.db.query(`SELECT details FROM audit_events WHERE tenant_id = $1 AND target_id = $2`, [a.tenantId, again.id]);
    expect(back.details.keyRefs[0].ref).toBe(v1.ref);

    // Never the key, nor its fingerprint, in the trail.
    const [fp] = await t.app.db.query(`SELECT encode(fingerprint, 'hex') AS hex FROM credential_versions WHERE credential_id = $1`, [again.id]);
    const trail = JSON.stringify(await t.app.db.query(`SELECT * FROM audit_events WHERE tenant_id = $1`, [a.tenantId]));
    expect(describeHits(scanTexts([{ where: 'audit trail', text: trail }], [a.secret]))).toBe('');
    expect(trail).not.toContain(fp.hex.slice(0, 24));
  });
});

describe('platform key references', () => {
  it('a platform key carries one reference from creation to revocation, in the platform chain', async () => {
    const { id, secret } = await createPlatformKey(t, openai);
    const revoked = await t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', {
      input: { id },
    });
    expect(revoked.data.revokePlatformKey.userErrors).toEqual([]);
    const res = await platformEvents({ platformOnly: true, targetId: id });
    const nodes = res.data.platformAuditEvents.nodes as { actionCode: string; details: { keyRefs: { ref: string; version: number }[] } }[];
    expect(nodes.map((n) => n.actionCode)).toEqual(['PLATFORM_KEY_REVOKED', 'PLATFORM_KEY_CREATED']);
    const [created] = nodes[1].details.keyRefs;
    expect(created).toEqual({ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 });
    expect(nodes[0].details.keyRefs).toEqual([created]);
    const followed = await platformEvents({ keyRef: created.ref });
    expect(followed.data.platformAuditEvents.nodes).toHaveLength(2);
    expect(describeHits(scanTexts([{ where: 'platform events', text: res.raw }], [secret]))).toBe('');
  });
});

describe('enums beside the strings', () => {
  it('AuditAction and GatewayReloadReason list every value with a description; the old fields are deprecated, not removed', async () => {
    const res = await t.gql(`{
      action: __type(name: "AuditAction") { enumValues { name description } }
      reason: __type(name: "GatewayReloadReason") { enumValues { name description } }
      event: __type(name: "AuditEvent") { fields(includeDeprecated: true) { name isDeprecated type { kind name ofType { name } } } }
      delivery: __type(name: "WebhookDelivery") { fields(includeDeprecated: true) { name isDeprecated type { kind name } } }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.action.enumValues.map((v: { name: string }) => v.name).sort()).toEqual([...AUDIT_ACTIONS].sort());
    for (const v of [...res.data.action.enumValues, ...res.data.reason.enumValues]) expect(v.description).toMatch(/\w{3}/);
    const field = (type: { fields: { name: string }[] }, name: string) => type.fields.find((f) => f.name === name) as any;
    expect(field(res.data.event, 'action')).toMatchObject({ isDeprecated: true, type: { kind: 'NON_NULL', ofType: { name: 'String' } } });
    expect(field(res.data.event, 'actionCode')).toMatchObject({ isDeprecated: false, type: { kind: 'ENUM', name: 'AuditAction' } });
    expect(field(res.data.delivery, 'reason')).toMatchObject({ isDeprecated: true, type: { kind: 'SCALAR', name: 'String' } });
    expect(field(res.data.delivery, 'reasonCode')).toMatchObject({ isDeprecated: false, type: { kind: 'ENUM', name: 'GatewayReloadReason' } });
  });

  it('actionCode is null for an action this version does not know, and the list still answers', async () => {
    const a = await world();
    await t.app.db.query(
      `INSERT INTO audit_events (tenant_id, actor_type, action, target_type, details) VALUES ($1, 'SYSTEM', 'SOMETHING_FROM_THE_FUTURE', 'TENANT', '{}')`,
      [a.tenantId],
    );
    const res = await tenantEvents(a.tenantId, null, a.admin, 1);
    expect(res.errors).toBeUndefined();
    expect(res.data.auditEvents.nodes[0]).toMatchObject({ action: 'SOMETHING_FROM_THE_FUTURE', actionCode: null });
  });
});

describe('platformAuditIntegrity', () => {
  it("verifies the platform's own chain for platform admins, and is FORBIDDEN to tenant admins", async () => {
    const a = await world();
    const q = '{ platformAuditIntegrity { tenantId ok rowsChecked lastSeq break { kind } } }';
    const res = await t.gql(q);
    expect(res.errors).toBeUndefined();
    expect(res.data.platformAuditIntegrity).toMatchObject({ tenantId: null, ok: true, break: null });
    const [head] = await t.app.db.query(`SELECT seq::text AS seq FROM audit_chain_heads WHERE chain = 'platform'`);
    expect(res.data.platformAuditIntegrity.lastSeq).toBe(head?.seq ?? null);
    const denied = await t.gql(q, {}, a.admin);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('access log', () => {
  it('one line per request: request id, operation, status, duration, tenant and token; never variables, tokens or keys', async () => {
    const a = await world();
    const secret = openaiKey();
    const from = t.logs.length;
    const res = await t.gql(
      `mutation AddKey($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }`,
      { input: { tenantId: a.tenantId, providerId: openai, label: 'canary', secret } },
      a.admin,
    );
    expect(res.errors).toBeUndefined();
    await t.gql(`query Trail($id: ID!) { auditEvents(tenantId: $id, first: 1) { nodes { id } } }`, { id: a.tenantId }, a.admin);
    const unauth = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer kp_nope' },
      body: '{"query":"{ __typename }"}',
    });
    expect(unauth.status).toBe(401);
    const exported = await fetch(`${t.url}/v1/audit/export?limit=1`, { headers: { authorization: `Bearer ${a.admin}` } });
    expect(exported.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const lines = t.logs
      .slice(from)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({
      reqId: expect.any(String),
      method: 'POST',
      route: '/graphql',
      status: 200,
      durationMs: expect.any(Number),
      operationName: 'AddKey',
      operationType: 'mutation',
      actorType: 'API_TOKEN',
      tenantId: a.tenantId,
      tokenId: a.adminTokenId,
    });
    expect(lines[1]).toMatchObject({ operationName: 'Trail', operationType: 'query', tenantId: a.tenantId });
    expect(lines[2]).toMatchObject({ status: 401, actorType: null, tenantId: null, tokenId: null });
    // REST: the route template, never the query string; who called, from the route's own auth.
    expect(lines[3]).toMatchObject({ method: 'GET', route: '/v1/audit/export', status: 200, tenantId: a.tenantId, tokenId: a.adminTokenId });
    expect(JSON.stringify(lines[3])).not.toContain('limit=');
    const text = t.logs.slice(from).join('');
    expect(describeHits(scanTexts([{ where: 'log lines', text }], [secret, a.admin]))).toBe('');
    expect(text).not.toContain('canary'); // a variable
    expect(text).not.toContain('kp_nope');
  });
});
