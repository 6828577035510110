import { UnrecoverableError, type Job } from 'bullmq';
import { fingerprintCredential } from '../../../workers/processors/fingerprint-credential.processor';
import { fingerprintRescan, type RescanProgress } from '../../../workers/processors/fingerprint-rescan.processor';
import { createCredential, expectOk, openaiKey, tenantWithTokens } from '../../factories';
import { revokeCredential, rotateCredential } from '../../factories/credentials';
import type { FakeProvider } from '../../fakes/fake-provider';
import type { TestApp } from '../../helpers/test-app';
import { eventually, type TestWorkers } from '../../helpers/test-worker';
import { settleChecks } from '../../helpers/settle-checks';
import { keyReuseSuite } from '../../helpers/suites';

/**
 * Duplicate-key detection in the worker: alerts per scope and severity, reopening, idempotency,
 * the two-tenant race, forged and stale jobs, and the full rescan with progress. The comparison
 * runs once a key has validated (issue 14): every key here is allowed at the fake provider, and
 * `settle` waits for the validation, then for its duplicate check. Privacy: key-reuse-privacy.int.spec.ts.
 */

const suite = keyReuseSuite();
const { events } = suite;
let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;
beforeAll(() => {
  ({ t, fake, w, providerId } = suite);
});

const job = <T>(data: T) => ({ data, attemptsMade: 0, opts: {}, updateProgress: async () => undefined }) as unknown as Job<T>;

function key(): string {
  const secret = openaiKey();
  fake.allow(secret);
  return secret;
}

async function create(token: string, tenantId: string, secret: string, kind = 'API_KEY'): Promise<string> {
  return (await createCredential(t, token, { tenantId, providerId, secret, kind })).id;
}

/** Relays until these versions were checked and, once validated, compared (the duplicate check follows validation). */
async function settle(...versions: [string, number][]): Promise<void> {
  await settleChecks(w, versions);
}

async function alertsOf(credentialId: string) {
  return t.app.db.query('SELECT id, scope, severity, status, reopen_count FROM key_reuse_alerts WHERE credential_id = $1 ORDER BY scope', [
    credentialId,
  ]);
}

async function allAlerts(): Promise<any[]> {
  return t.app.db.query('SELECT * FROM key_reuse_alerts ORDER BY id');
}
const withoutSeen = (rows: any[]) => rows.map(({ last_seen_at: _s, ...rest }) => rest);

async function dismiss(token: string, id: string) {
  await expectOk(
    t.gql('mutation($input: KeyReuseAlertInput!) { dismissKeyReuseAlert(input: $input) { userErrors { code } } }', { input: { id } }, token),
    'dismissKeyReuseAlert',
  );
}

it('same key twice in one tenant: both credentials get a SAME_TENANT INFO alert', async () => {
  const A = await tenantWithTokens(t);
  const secret = key();
  const c1 = await create(A.admin, A.tenant.id, secret);
  const c2 = await create(A.admin, A.tenant.id, secret);
  await settle([c1, 1], [c2, 1]);
  for (const id of [c1, c2]) {
    expect(await alertsOf(id)).toEqual([expect.objectContaining({ scope: 'SAME_TENANT', severity: 'INFO', status: 'OPEN', reopen_count: 0 })]);
  }
});

it('same API key in another tenant: OTHER_TENANT WARNING on both sides, one event per alert', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  await settle([a, 1]);
  expect(await alertsOf(a)).toEqual([]); // alone: nothing
  const b = await create(B.admin, B.tenant.id, secret);
  await settle([b, 1]);
  const [alertA] = await alertsOf(a);
  const [alertB] = await alertsOf(b);
  expect(alertA).toMatchObject({ scope: 'OTHER_TENANT', severity: 'WARNING', status: 'OPEN' });
  expect(alertB).toMatchObject({ scope: 'OTHER_TENANT', severity: 'WARNING', status: 'OPEN' });
  expect(events).toEqual(
    expect.arrayContaining([
      { tenantId: A.tenant.id, alertId: alertA.id },
      { tenantId: B.tenant.id, alertId: alertB.id },
    ]),
  );
  expect(events.filter((e) => e.alertId === alertA.id || e.alertId === alertB.id)).toHaveLength(2);
});

it("severity comes from the tenant's own credential: HIGH for the OAuth token's holder, WARNING for the API key's", async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret, 'OAUTH_TOKEN');
  const b = await create(B.admin, B.tenant.id, secret, 'API_KEY');
  await settle([a, 1], [b, 1]);
  expect(await alertsOf(a)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', severity: 'HIGH' })]);
  // B learns nothing about how A stores the key.
  expect(await alertsOf(b)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', severity: 'WARNING' })]);
});

it('rotating to a key another tenant holds raises alerts too', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const shared = key();
  const a = await create(A.admin, A.tenant.id, shared);
  const b = await create(B.admin, B.tenant.id, key());
  await settle([a, 1], [b, 1]);
  expect(await alertsOf(b)).toEqual([]);
  await rotateCredential(t, B.admin, b, shared);
  await settle([b, 2]);
  expect(await alertsOf(a)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', status: 'OPEN' })]);
  expect(await alertsOf(b)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', status: 'OPEN' })]);
});

it('race: the same key created in two tenants at the same moment alerts both (worker concurrency 4)', async () => {
  for (let round = 0; round < 3; round++) {
    const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
    const secret = key();
    const [a, b] = await Promise.all([create(A.admin, A.tenant.id, secret), create(B.admin, B.tenant.id, secret)]);
    await settle([a, 1], [b, 1]); // both validate together, then both duplicate checks run together
    const [alertA] = await alertsOf(a);
    const [alertB] = await alertsOf(b);
    expect(alertA).toMatchObject({ scope: 'OTHER_TENANT', status: 'OPEN' });
    expect(alertB).toMatchObject({ scope: 'OTHER_TENANT', status: 'OPEN' });
    expect(events.filter((e) => e.alertId === alertA.id || e.alertId === alertB.id)).toHaveLength(2);
  }
});

it('race, processors called in parallel directly: still one alert per credential and scope', async () => {
  const [A, B, C] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const ids = await Promise.all([A, B, C].map((x) => create(x.admin, x.tenant.id, secret)));
  await settle(...ids.map((id) => [id, 1] as [string, number]));
  await t.app.db.query('DELETE FROM key_reuse_alerts WHERE credential_id = ANY($1::uuid[])', [ids]);
  const tenants = [A, B, C].map((x) => x.tenant.id);
  await Promise.all(ids.map((id, i) => fingerprintCredential(w.deps, job({ tenantId: tenants[i], credentialId: id, version: 1 }))));
  for (const id of ids) expect(await alertsOf(id)).toEqual([expect.objectContaining({ scope: 'OTHER_TENANT', status: 'OPEN' })]);
});

it('jobs on one key serialize on a transaction-level advisory lock on the fingerprint', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret);
  await settle([a, 1], [b, 1]);
  const holder = t.app.db.createQueryRunner();
  await holder.connect();
  await holder.startTransaction();
  try {
    await holder.query(
      `SELECT pg_advisory_xact_lock(hashtextextended(encode(fingerprint, 'hex'), 0)) FROM credential_versions WHERE credential_id = $1 AND version = 1`,
      [a],
    );
    let finished = false;
    const running = fingerprintCredential(w.deps, job({ tenantId: A.tenant.id, credentialId: a, version: 1 })).then(() => (finished = true));
    // Blocked on the lock (an advisory lock waiting in pg_locks), not merely slow to start.
    await eventually(
      async () =>
        (
          await t.app.db.query(
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).length > 0,
    );
    expect(finished).toBe(false);
    await holder.commitTransaction();
    await running;
    expect(finished).toBe(true);
  } finally {
    if (holder.isTransactionActive) await holder.rollbackTransaction();
    await holder.release();
  }
});

it("idempotent: running the same job twice moves only the registering credential's last_seen_at", async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret);
  await settle([a, 1], [b, 1]);
  const before = await allAlerts();
  const eventsBefore = events.length;
  await fingerprintCredential(w.deps, job({ tenantId: B.tenant.id, credentialId: b, version: 1 }));
  await fingerprintCredential(w.deps, job({ tenantId: B.tenant.id, credentialId: b, version: 1 }));
  const after = await allAlerts();
  expect(withoutSeen(after)).toEqual(withoutSeen(before));
  const seen = (rows: any[], id: string) => rows.find((r) => r.credential_id === id).last_seen_at.getTime();
  expect(seen(after, b)).toBeGreaterThan(seen(before, b));
  // B's event is not A's: A's alert does not move (it would date B's activity for A).
  expect(seen(after, a)).toBe(seen(before, a));
  expect(events.length).toBe(eventsBefore);
});

it("a dismissed alert reopens when its own tenant registers the key again, never on another tenant's registration", async () => {
  const [A, B, C] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret);
  await settle([a, 1], [b, 1]);
  const [alertA] = await alertsOf(a);
  await dismiss(A.admin, alertA.id);
  // Re-running an old registration or a rescan never overrides the person's decision.
  await fingerprintCredential(w.deps, job({ tenantId: B.tenant.id, credentialId: b, version: 1 }));
  await fingerprintRescan(w.deps, job({ requestedAt: new Date().toISOString() }));
  expect((await alertsOf(a))[0]).toMatchObject({ status: 'DISMISSED', reopen_count: 0 });
  // A third tenant's copy validating is not A's event: A's decision stands (C gets its own alert).
  const seenEvents = events.length;
  const c = await create(C.admin, C.tenant.id, secret);
  await settle([c, 1]);
  expect((await alertsOf(a))[0]).toMatchObject({ status: 'DISMISSED', reopen_count: 0 });
  expect((await alertsOf(c))[0]).toMatchObject({ scope: 'OTHER_TENANT', status: 'OPEN' });
  expect(events.slice(seenEvents)).not.toContainEqual({ tenantId: A.tenant.id, alertId: alertA.id });
  // A registers the key again (a rotation to the same key): once it validates, the alert reopens.
  await rotateCredential(t, A.admin, a, secret);
  await settle([a, 2]);
  expect((await alertsOf(a))[0]).toMatchObject({ status: 'OPEN', reopen_count: 1 });
  expect((await alertsOf(b))[0]).toMatchObject({ status: 'OPEN', reopen_count: 0 });
  expect(events.slice(seenEvents)).toContainEqual({ tenantId: A.tenant.id, alertId: alertA.id });
});

it('a forged job (wrong tenant) fails permanently and changes nothing', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  await settle([a, 1]);
  const b = await create(B.admin, B.tenant.id, secret);
  await t.app.db.query("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND job_name = 'validate-credential'");
  const before = await allAlerts();
  const forged = job({ tenantId: A.tenant.id, credentialId: b, version: 1 });
  await expect(fingerprintCredential(w.deps, forged)).rejects.toBeInstanceOf(UnrecoverableError);
  // And through the real queue.
  await w.queues.credentials.add('fingerprint-credential', forged.data, { jobId: `forged-${b}`, attempts: 3 });
  await eventually(async () => (await (await w.queues.credentials.getJob(`forged-${b}`))?.getState()) === 'failed');
  expect(await allAlerts()).toEqual(before);
  expect(await alertsOf(b)).toEqual([]);
});

it('a revoked key resolves its own alerts; the remaining holder keeps its alert as it is', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret);
  await settle([a, 1], [b, 1]);
  const beforeA = await t.app.db.query('SELECT * FROM key_reuse_alerts WHERE credential_id = $1', [a]);
  await revokeCredential(t, B.admin, b);
  await expect(fingerprintCredential(w.deps, job({ tenantId: B.tenant.id, credentialId: b, version: 1 }))).resolves.toEqual({
    skipped: 'STALE',
    reason: 'the key version is no longer live',
  });
  expect((await alertsOf(b))[0]).toMatchObject({ status: 'RESOLVED' });
  // A's alert stays exactly as it was: B leaving is B's business.
  expect(await t.app.db.query('SELECT * FROM key_reuse_alerts WHERE credential_id = $1', [a])).toEqual(beforeA);
});

it('rescan: rebuilds missing alerts with progress reaching the total, and is idempotent', async () => {
  const [A, B] = [await tenantWithTokens(t), await tenantWithTokens(t)];
  const secret = key();
  const a = await create(A.admin, A.tenant.id, secret);
  const b = await create(B.admin, B.tenant.id, secret);
  const lone = await create(B.admin, B.tenant.id, key());
  await settle([a, 1], [b, 1], [lone, 1]);
  await t.app.db.query('DELETE FROM key_reuse_alerts WHERE credential_id = ANY($1::uuid[])', [[a, b]]); // "stored before the feature"
  const [{ n: live }] = await t.app.db.query(
    `SELECT count(*)::int AS n FROM credential_versions v JOIN credentials c ON c.id = v.credential_id
      WHERE v.fingerprint IS NOT NULL AND v.validated_at IS NOT NULL AND v.state IN ('PENDING','ACTIVE','PREVIOUS') AND c.revoked_at IS NULL`,
  );
  const progress: RescanProgress[] = [];
  const rescanJob = { data: { requestedAt: new Date().toISOString() }, updateProgress: async (p: RescanProgress) => void progress.push(p) };
  const result = await fingerprintRescan(w.deps, rescanJob as never, 3);
  expect(progress.length).toBeGreaterThan(2);
  expect(progress.at(-1)).toEqual({ processed: live, total: live });
  for (let i = 1; i < progress.length; i++) expect(progress[i].processed).toBeGreaterThanOrEqual(progress[i - 1].processed);
  expect(result.processed).toBe(live);
  expect((await alertsOf(a))[0]).toMatchObject({ scope: 'OTHER_TENANT', status: 'OPEN' });
  expect((await alertsOf(b))[0]).toMatchObject({ scope: 'OTHER_TENANT', status: 'OPEN' });
  expect(await alertsOf(lone)).toEqual([]);
  const before = await allAlerts();
  await fingerprintRescan(w.deps, rescanJob as never, 3);
  expect(withoutSeen(await allAlerts())).toEqual(withoutSeen(before));
});
