import { createCredential, expectOk, openaiKey, tenantWithTokens } from '../../factories';
import type { FakeProvider } from '../../fakes/fake-provider';
import { duplicateCheckJob, settleChecks } from '../../helpers/settle-checks';
import type { TestApp } from '../../helpers/test-app';
import { drain, eventually, type TestWorkers } from '../../helpers/test-worker';
import { keyReuseSuite } from '../../helpers/suites';

/**
 * Issue 14, "no oracles", through the real API and the real worker processors: a key that never
 * validated is compared with nothing; what a tenant can read about its alert moves only on its own
 * events; the one bit it learns is "a validated copy is also held in another tenant".
 */

type Tenant = Awaited<ReturnType<typeof tenantWithTokens>>;
const suite = keyReuseSuite();
const { events } = suite;
let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;
beforeAll(() => {
  ({ t, fake, w, providerId } = suite);
});

const VIEW = `query($tenantId: ID!) { keyReuseAlerts(tenantId: $tenantId, first: 50) { nodes {
  id severity scope status message createdAt lastSeenAt statusChangedAt reopenCount
  credential { id status version activeVersion lastValidation { outcome } } } } }`;

/** Everything a tenant's admin can read about its alerts, as the exact response text. */
async function view(x: Tenant): Promise<string> {
  const res = await t.gql(VIEW, { tenantId: x.tenant.id }, x.admin);
  expect(res.errors).toBeUndefined();
  return res.raw;
}
const alertsOf = (x: Tenant): Promise<any[]> => t.app.db.query('SELECT * FROM key_reuse_alerts WHERE tenant_id = $1 ORDER BY id', [x.tenant.id]);
const eventsFor = (x: Tenant, since: number) => events.slice(since).filter((e) => e.tenantId === x.tenant.id);

async function create(x: Tenant, secret: string, kind = 'API_KEY'): Promise<string> {
  return (await createCredential(t, x.admin, { tenantId: x.tenant.id, providerId, secret, kind })).id;
}
async function mutate(x: Tenant, name: string, input: Record<string, unknown>): Promise<void> {
  const type = name[0].toUpperCase() + name.slice(1);
  await expectOk(t.gql(`mutation($input: ${type}Input!) { ${name}(input: $input) { userErrors { code } } }`, { input }, x.admin), name);
}
/** A key that works at the provider. */
function workingKey(): string {
  const secret = openaiKey();
  fake.allow(secret);
  return secret;
}
/** The provider rejects this key for the next check (leaked, already revoked there). */
const rejectNext = (secret: string) => fake.script(secret, fake.respond.json(401, { error: { message: 'Incorrect API key provided' } }));

it('a key that never validates raises nothing anywhere and changes nothing a holder of the same key can see', async () => {
  const [A, X, B] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = workingKey();
  const a = await create(A, secret);
  const x = await create(X, secret);
  await settleChecks(w, [
    [a, 1],
    [x, 1],
  ]);
  expect(await alertsOf(A)).toHaveLength(1); // A already has an alert: its fields could move
  const [viewA, rowsA, since] = [await view(A), await alertsOf(A), events.length];
  // B registers the leaked key, and rotates another credential to it: the provider says no both times.
  rejectNext(secret);
  const b = await create(B, secret);
  const other = await create(B, workingKey());
  await settleChecks(w, [
    [b, 1],
    [other, 1],
  ]);
  rejectNext(secret);
  await mutate(B, 'rotateCredential', { id: other, secret });
  await settleChecks(w, [[other, 2]]);
  expect((await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [b]))[0].status).toBe('INVALID');
  for (const [id, v] of [
    [b, 1],
    [other, 2],
  ] as const)
    expect(await duplicateCheckJob(w, id, v)).toBeNull();
  expect(await alertsOf(B)).toEqual([]);
  expect(await view(A)).toBe(viewA);
  expect(await alertsOf(A)).toEqual(rowsA); // updated_at included
  expect(events.length).toBe(since);
});

it('a validated duplicate alerts both holders, each with the severity of its own credential only', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = workingKey();
  const a = await create(A, secret, 'OAUTH_TOKEN');
  await settleChecks(w, [[a, 1]]);
  expect(await alertsOf(A)).toEqual([]); // alone
  const since = events.length;
  const b = await create(B, secret);
  await settleChecks(w, [[b, 1]]);
  const [alertA] = await alertsOf(A);
  const [alertB] = await alertsOf(B);
  expect(alertA).toMatchObject({ scope: 'OTHER_TENANT', severity: 'HIGH', status: 'OPEN' });
  expect(alertB).toMatchObject({ scope: 'OTHER_TENANT', severity: 'WARNING', status: 'OPEN' }); // not A's kind
  expect(eventsFor(A, since)).toEqual([{ tenantId: A.tenant.id, alertId: alertA.id }]);
  expect(eventsFor(B, since)).toEqual([{ tenantId: B.tenant.id, alertId: alertB.id }]);
  const viewB = await view(B);
  expect(viewB).not.toContain('HIGH');
  expect(viewB).not.toContain(a);
});

it("other tenants' later events (new copies, invalid copies, re-checks, rotation, revocation) move nothing of the first tenant's alert", async () => {
  const [A, B, C, D] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = workingKey();
  const a = await create(A, secret);
  const b = await create(B, secret);
  await settleChecks(w, [
    [a, 1],
    [b, 1],
  ]);
  const [viewA, rowsA, since] = [await view(A), await alertsOf(A), events.length];
  const c = await create(C, secret); // a third copy that validates: C gets its alert, A nothing new
  await settleChecks(w, [[c, 1]]);
  expect(await alertsOf(C)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', status: 'OPEN' })]);
  rejectNext(secret); // checked one at a time: the scripted answer is D's
  const d = await create(D, secret); // a copy that does not validate
  await settleChecks(w, [[d, 1]]);
  expect(await alertsOf(D)).toEqual([]);
  await mutate(B, 'revalidateCredential', { id: b });
  await drain(w);
  await mutate(B, 'rotateCredential', { id: b, secret: workingKey() });
  await settleChecks(w, [[b, 2]]);
  await mutate(C, 'revokeCredential', { id: c });
  await drain(w);
  expect(await view(A)).toBe(viewA);
  expect(await alertsOf(A)).toEqual(rowsA);
  expect(eventsFor(A, since)).toEqual([]);
});

it("re-checking a key is not registering it: the tenant's own re-validation moves no alert and queues no comparison", async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = workingKey();
  const a = await create(A, secret);
  const b = await create(B, secret);
  await settleChecks(w, [
    [a, 1],
    [b, 1],
  ]);
  const [rowsA, rowsB] = [await alertsOf(A), await alertsOf(B)];
  await mutate(A, 'revalidateCredential', { id: a });
  const checked = async () => (await t.app.db.query('SELECT last_validated_at FROM credentials WHERE id = $1', [a]))[0].last_validated_at;
  const before = await checked();
  await eventually(async () => {
    await w.relay();
    return (await checked()).getTime() !== before.getTime();
  }).catch(() => undefined); // the expectation below names the failure
  expect((await checked()).getTime()).toBeGreaterThan(before.getTime());
  await w.relay();
  const jobs = await t.app.db.query(
    `SELECT count(*)::int AS n FROM outbox WHERE job_name = 'fingerprint-credential' AND payload->>'credentialId' = $1`,
    [a],
  );
  expect(jobs[0].n).toBe(1); // the one queued by the first working check
  expect(await alertsOf(A)).toEqual(rowsA);
  expect(await alertsOf(B)).toEqual(rowsB);
});
