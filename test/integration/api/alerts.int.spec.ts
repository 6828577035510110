import { randomUUID } from 'node:crypto';
import { expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { revokeCredential } from '../../factories/credentials';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { settleChecks } from '../../helpers/settle-checks';
import { createFakeOpenAIProvider } from '../../factories/providers';

/**
 * Key reuse alerts through the API: what a tenant sees (and never sees) about its shared keys,
 * acknowledging and dismissing, the platform admin's groups, and the rescan job.
 */

type Tenant = Awaited<ReturnType<typeof tenantWithTokens>>;
interface Pair {
  A: Tenant;
  B: Tenant;
  a: string;
  b: string;
  labelB: string;
  secret: string;
}

let t: TestApp;
/** The same API on the workers' queue prefix: keyRescan reads BullMQ through it. */
let t2: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;
let P: Pair;
const canaries: string[] = [];

const ALERT_FIELDS = `id severity scope status message createdAt lastSeenAt statusChangedAt reopenCount
  credential { id tenantId providerId label kind redactedKey status version activeVersion createdAt
    provider { id slug name } versions { version state redactedKey } lastValidation { outcome models message } }`;
const LIST = `query($tenantId: ID!, $status: KeyReuseAlertStatus, $after: String) {
  keyReuseAlerts(tenantId: $tenantId, status: $status, first: 50, after: $after) {
    edges { cursor node { ${ALERT_FIELDS} } } nodes { id } pageInfo { hasNextPage endCursor } } }`;
const SET = (name: string) =>
  `mutation($input: KeyReuseAlertInput!) { ${name}(input: $input) { alert { id status statusChangedAt } userErrors { field code message } } }`;
const GROUPS = `query($after: String) { keyReuseGroups(first: 1, after: $after) {
  nodes { id severity members { tenant { id slug } credential { id label } severity alerts { id scope status } } }
  pageInfo { hasNextPage endCursor } } }`;

async function create(token: string, tenantId: string, secret: string, label = uniqueSlug('k')): Promise<string> {
  const res = await expectOk<any>(
    t.gql(
      'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }',
      {
        input: { tenantId, providerId, label, secret },
      },
      token,
    ),
    'createCredential',
  );
  return res.credential.id as string;
}

/** The duplicate check runs once a key validated: waits for both (issue 14). */
async function settle(...ids: string[]): Promise<void> {
  await settleChecks(
    w,
    ids.map((id) => [id, 1] as [string, number]),
  );
}

/** Two tenants holding the same canary key. */
async function pair(): Promise<Pair> {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = openaiKey();
  canaries.push(secret);
  fake.allow(secret);
  const labelB = uniqueSlug('secret-label-b');
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret, labelB);
  await settle(a, b);
  return { A, B, a, b, labelB, secret };
}

async function alertIdOf(credentialId: string): Promise<string> {
  const [row] = await t.app.db.query('SELECT id FROM key_reuse_alerts WHERE credential_id = $1', [credentialId]);
  return row.id;
}

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t);
  t2 = await startTestApp({ QUEUE_PREFIX: w.prefix });
  P = await pair();
});

afterAll(async () => {
  await w.close();
  await t2.close();
  await fake.close();
  await t.close();
});

it('a tenant sees its own alert and nothing that identifies the other holder (admin and viewer)', async () => {
  const fingerprint = t.app.services.fingerprinter.fingerprintHex(P.secret);
  const [bTenant] = await t.app.db.query('SELECT name, slug FROM tenants WHERE id = $1', [P.B.tenant.id]);
  for (const token of [P.A.admin, P.A.viewer]) {
    const res = await t.gql(LIST, { tenantId: P.A.tenant.id }, token);
    expect(res.errors).toBeUndefined();
    const [node] = res.data.keyReuseAlerts.edges.map((e: any) => e.node);
    expect(res.data.keyReuseAlerts.nodes).toHaveLength(1);
    expect(node).toMatchObject({
      scope: 'OTHER_TENANT',
      severity: 'WARNING',
      status: 'OPEN',
      reopenCount: 0,
      message: 'This key is also registered in another tenant.',
      credential: { id: P.a, tenantId: P.A.tenant.id },
    });
    for (const secretOfB of [P.B.tenant.id, bTenant.slug, bTenant.name, P.b, P.labelB, fingerprint, await alertIdOf(P.b)]) {
      expect(res.raw).not.toContain(secretOfB);
    }
  }
});

it("another tenant's alerts answer like a random tenant; a foreign cursor like a random one", async () => {
  const foreign = await t.gql(LIST, { tenantId: P.B.tenant.id }, P.A.admin);
  const random = await t.gql(LIST, { tenantId: randomUUID() }, P.A.admin);
  expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  expect(foreign.raw).toBe(random.raw);
  const cursor = (id: string) => Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
  const viaForeign = await t.gql(LIST, { tenantId: P.A.tenant.id, after: cursor(await alertIdOf(P.b)) }, P.A.admin);
  const viaRandom = await t.gql(LIST, { tenantId: P.A.tenant.id, after: cursor(randomUUID()) }, P.A.admin);
  expect(viaForeign.raw).toBe(viaRandom.raw);
});

it("acknowledging or dismissing another tenant's alert is NOT_FOUND, like a random id, and changes nothing", async () => {
  const alertB = await alertIdOf(P.b);
  const before = await t.app.db.query('SELECT * FROM key_reuse_alerts WHERE id = $1', [alertB]);
  for (const name of ['acknowledgeKeyReuseAlert', 'dismissKeyReuseAlert']) {
    const foreign = await t.gql(SET(name), { input: { id: alertB } }, P.A.admin);
    const random = await t.gql(SET(name), { input: { id: randomUUID() } }, P.A.admin);
    expect(foreign.data[name].userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND', message: 'Key reuse alert not found.' }]);
    expect(foreign.raw).toBe(random.raw);
  }
  expect(await t.app.db.query('SELECT * FROM key_reuse_alerts WHERE id = $1', [alertB])).toEqual(before);
});

it('VIEWER tokens get FORBIDDEN on the mutations; tenant tokens on the platform operations', async () => {
  const alertA = await alertIdOf(P.a);
  for (const name of ['acknowledgeKeyReuseAlert', 'dismissKeyReuseAlert']) {
    const res = await t.gql(SET(name), { input: { id: alertA } }, P.A.viewer);
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }
  for (const doc of [
    GROUPS,
    'mutation { startKeyRescan { jobId userErrors { code } } }',
    'query { keyRescan(jobId: "fingerprint-rescan-1") { state } }',
  ]) {
    for (const token of [P.A.admin, P.A.viewer]) expect((await t.gql(doc, {}, token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }
  const [row] = await t.app.db.query('SELECT status FROM key_reuse_alerts WHERE id = $1', [alertA]);
  expect(row.status).toBe('OPEN');
});

it('acknowledge and dismiss are audited; repeating a decision writes nothing; the status filter follows', async () => {
  const X = await pair();
  const alertA = await alertIdOf(X.a);
  const ack = await expectOk<any>(t.gql(SET('acknowledgeKeyReuseAlert'), { input: { id: alertA } }, X.A.admin), 'acknowledgeKeyReuseAlert');
  expect(ack.alert).toMatchObject({ id: alertA, status: 'ACKNOWLEDGED' });
  expect(ack.alert.statusChangedAt).not.toBeNull();
  const dis = await expectOk<any>(t.gql(SET('dismissKeyReuseAlert'), { input: { id: alertA } }, X.A.admin), 'dismissKeyReuseAlert');
  expect(dis.alert.status).toBe('DISMISSED');
  await expectOk(t.gql(SET('dismissKeyReuseAlert'), { input: { id: alertA } }, X.A.admin), 'dismissKeyReuseAlert');
  const audit = await t.gql(
    '{ auditEvents(tenantId: "' + X.A.tenant.id + '") { nodes { action targetType targetId actorType details } } }',
    {},
    X.A.admin,
  );
  const mine = audit.data.auditEvents.nodes.filter((e: any) => e.targetId === alertA);
  expect(mine.map((e: any) => e.action).sort()).toEqual(['KEY_REUSE_ALERT_ACKNOWLEDGED', 'KEY_REUSE_ALERT_DISMISSED']);
  expect(mine[0]).toMatchObject({ targetType: 'KEY_REUSE_ALERT', actorType: 'API_TOKEN' });
  expect(JSON.stringify(mine)).not.toContain(X.B.tenant.id);
  const dismissed = await t.gql(LIST, { tenantId: X.A.tenant.id, status: 'DISMISSED' }, X.A.admin);
  expect(dismissed.data.keyReuseAlerts.nodes).toEqual([{ id: alertA }]);
  expect((await t.gql(LIST, { tenantId: X.A.tenant.id, status: 'OPEN' }, X.A.admin)).data.keyReuseAlerts.nodes).toEqual([]);
  // A platform admin acts in the alert's own tenant.
  const byAdmin = await expectOk<any>(t.gql(SET('acknowledgeKeyReuseAlert'), { input: { id: await alertIdOf(X.b) } }), 'acknowledgeKeyReuseAlert');
  expect(byAdmin.alert.status).toBe('ACKNOWLEDGED');
});

it('a revoked credential reads RESOLVED at once and cannot be acknowledged', async () => {
  const X = await pair();
  await revokeCredential(t, X.B.admin, X.b);
  const list = await t.gql(LIST, { tenantId: X.B.tenant.id, status: 'RESOLVED' }, X.B.admin);
  expect(list.data.keyReuseAlerts.edges.map((e: any) => e.node.status)).toEqual(['RESOLVED']);
  const res = await t.gql(SET('acknowledgeKeyReuseAlert'), { input: { id: await alertIdOf(X.b) } }, X.B.admin);
  expect(res.data.acknowledgeKeyReuseAlert.userErrors).toEqual([expect.objectContaining({ code: 'ALERT_RESOLVED', field: ['input', 'id'] })]);
  // The remaining holder keeps its alert as it is.
  expect((await t.gql(LIST, { tenantId: X.A.tenant.id }, X.A.admin)).data.keyReuseAlerts.edges[0].node.status).toBe('OPEN');
});

it('platform admins see whole groups, with an opaque id that is not the fingerprint, page by page', async () => {
  await pair(); // at least two groups
  const groups: any[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res: any = await t.gql(GROUPS, { after });
    expect(res.errors).toBeUndefined();
    groups.push(...res.data.keyReuseGroups.nodes);
    if (!res.data.keyReuseGroups.pageInfo.hasNextPage) break;
    after = res.data.keyReuseGroups.pageInfo.endCursor;
  }
  expect(new Set(groups.map((g) => g.id)).size).toBe(groups.length);
  const group = groups.find((g) => g.members.some((m: any) => m.credential.id === P.a));
  expect(group.members.map((m: any) => m.credential.id).sort()).toEqual([P.a, P.b].sort());
  expect(group.members.map((m: any) => m.tenant.id).sort()).toEqual([P.A.tenant.id, P.B.tenant.id].sort());
  expect(group.severity).toBe('WARNING');
  const fingerprint = t.app.services.fingerprinter.fingerprintHex(P.secret);
  expect(group.id).not.toContain(fingerprint);
  expect(JSON.stringify(groups)).not.toContain(fingerprint);
});

it('startKeyRescan queues a rescan whose progress reaches its total', async () => {
  const started = await expectOk<any>(
    t.gql('mutation { startKeyRescan(input: { reason: "audit check" }) { jobId userErrors { code } } }'),
    'startKeyRescan',
  );
  const jobId: string = started.jobId;
  expect(jobId).toMatch(/^fingerprint-rescan-\d+$/);
  const queued = await t2.gql('query($id: ID!) { keyRescan(jobId: $id) { jobId state processed total } }', { id: jobId });
  expect(queued.data.keyRescan).toEqual({ jobId, state: 'QUEUED', processed: null, total: null });
  await w.relay();
  const done = await eventually(async () => {
    const res = await t2.gql('query($id: ID!) { keyRescan(jobId: $id) { jobId state processed total } }', { id: jobId });
    return res.data?.keyRescan?.state === 'COMPLETED' ? res.data.keyRescan : null;
  }, 15_000);
  expect(done.total).toBeGreaterThan(0);
  expect(done.processed).toBe(done.total);
  const [audit] = await t.app.db.query("SELECT tenant_id, details FROM audit_events WHERE action = 'KEY_RESCAN_STARTED' AND target_id = $1", [jobId]);
  expect(audit).toEqual({ tenant_id: null, details: { reason: 'audit check' } });
  for (const id of ['validate-credential-x-v1', 'fingerprint-rescan-1', 'nope']) {
    const res = await t2.gql('query($id: ID!) { keyRescan(jobId: $id) { state } }', { id });
    expect(res).toMatchObject({ errors: undefined, data: { keyRescan: null } });
  }
});

it('the canary keys never appear in the alerts table, in responses or in logs', async () => {
  const sources: { where: string; text: string }[] = [];
  const rows: { j: string; fp: Buffer }[] = await t.app.db.query('SELECT row_to_json(a)::text AS j, a.fingerprint AS fp FROM key_reuse_alerts a');
  rows.forEach((r, i) => {
    sources.push({ where: `key_reuse_alerts row ${i}`, text: r.j });
    sources.push({ where: `key_reuse_alerts row ${i} fingerprint`, text: r.fp.toString('latin1') });
  });
  t.responses.forEach((text, i) => sources.push({ where: `response ${i}`, text }));
  t2.responses.forEach((text, i) => sources.push({ where: `response (t2) ${i}`, text }));
  t.logs.forEach((text, i) => sources.push({ where: `log ${i}`, text }));
  expect(rows.length).toBeGreaterThan(0);
  const hits = scanTexts(sources, canaries);
  expect(describeHits(hits)).toBe('');
});
