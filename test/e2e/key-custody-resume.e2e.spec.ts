import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Fingerprinter, parseKeyring, parsePepperRing, SEALS, SecretBox } from '../../src/crypto';
import { pepperCounts } from '../../src/modules/alert/pepper-remap';
import { sealedCounts } from '../../src/modules/key-custody/sealed-rows';
import { expectOk, tenantWithTokens } from '../factories';
import { describeHits, scanTexts } from '../helpers/leak-scan';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { onPostgresQueues } from '../helpers/queue-backend';
import { TEST_ENV } from '../helpers/test-env';
import { asTestApp, openDb, queueEnv, queuesOn, settleForeignOutbox, uniquePrefix, waitFor } from './e2e-support';

/*
 * Key custody jobs killed with SIGKILL part way (issue 15): a new worker finishes the job, every
 * record opens under the new version, none is rewritten twice, and the counts add up. Afterwards
 * the database goes back to the test keyring's versions, so later suites' processes start.
 */

const ROWS = 30_000;
const V1 = TEST_ENV.KEYPLANE_MASTER_KEYS;
const KEK2 = Buffer.alloc(32, 42).toString('base64');
/** An unusual version number: its check value is removed at the end, and no other suite's keyring has it. */
const NEW = 37;
const RING = `${V1},${NEW}:${KEK2}`;
const PEPPER1 = TEST_ENV.KEYPLANE_FINGERPRINT_KEY;
const PEPPER2 = 'Zq8vX3pL0wN7rT2yK5mB9cF4hJ6dG1sAuE0o';
const PEPPERS = `1:${PEPPER1},${NEW}:${PEPPER2}`;
// Short locks: the killed worker's job is taken over in seconds rather than BullMQ's default 30 s.
const FAST = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', LOG_LEVEL: 'info' };
/**
 * Every process holds both KEK and both pepper versions (version 1 current unless a test says
 * otherwise): it starts whatever state an earlier, interrupted run left, and afterAll can clean up.
 */
const BOTH = {
  KEYPLANE_MASTER_KEYS: RING,
  KEYPLANE_MASTER_KEY_CURRENT: '1',
  KEYPLANE_FINGERPRINT_KEY: PEPPERS,
  KEYPLANE_FINGERPRINT_KEY_CURRENT: '1',
};
const keyOf = (credentialId: string) => `sk-proj-e2ecustody${credentialId.replace(/-/g, '')}`;

let redis: PrivateRedis | null;
let db: DataSource;
let tenantId: string;
const processes: KeyplaneProcess[] = [];
// The test suite's own pepper 1 is left out: its 12-character windows include "fingerprint-", which
// every rekey job id contains. Pepper 2 and both KEKs are random-looking and scanned for.
const secrets: string[] = [PEPPER2, KEK2, V1.slice(2)];

beforeAll(async () => {
  [redis, db] = await Promise.all([onPostgresQueues ? null : startPrivateRedis(), openDb()]);
  await settleForeignOutbox(db);
  const api = await api_({});
  const t = await tenantWithTokens(asTestApp(api));
  tenantId = t.tenant.id;
  await api.stop();
  await seedVersions(db, tenantId, ROWS);
}, 120_000);

afterAll(async () => {
  await killAllProcesses();
  // Back to the test keyring's KEK and pepper, whatever the tests got to, so later suites' processes
  // (version 1 only) start; a run that cannot do it fails here.
  if (db && (await underNew('kek'))) await rewrapTo(1, uniquePrefix());
  if (db && (await underNew('pepper'))) await rekeyBack();
  await killAllProcesses();
  expect(await underNew('kek')).toBe(0);
  expect(await underNew('pepper')).toBe(0);
  await killAllPrivateRedis();
  await db?.query('DELETE FROM tenants WHERE id = $1', [tenantId]).catch(() => undefined);
  await db?.query('DELETE FROM kek_check_values WHERE key_version = $1', [NEW]).catch(() => undefined);
  await db?.destroy();
}, 600_000);

jest.setTimeout(300_000);

async function api_(env: Record<string, string>): Promise<ApiProcess> {
  const api = await startApiProcess({ ...(await queueEnv(uniquePrefix(), redis?.url ?? null)), ...BOTH, ...env });
  processes.push(api);
  return api;
}

async function worker(prefix: string, name: string, env: Record<string, string>): Promise<KeyplaneProcess> {
  const w = await startWorkerProcess({ ...(await queueEnv(prefix, redis?.url ?? null)), ...FAST, ...BOTH, ...env }, name);
  processes.push(w);
  return w;
}

/** `count` ACTIVE credentials of one tenant, each with one version sealed under KEK 1 and fingerprinted under pepper 1, as the API stores them. */
async function seedVersions(db: DataSource, tenant: string, count: number): Promise<void> {
  const box = new SecretBox(parseKeyring(V1));
  const fp = new Fingerprinter(Buffer.from(PEPPER1, 'utf8'));
  const [{ id: provider }] = await db.query(`SELECT id FROM providers WHERE slug = 'openai'`);
  for (let start = 0; start < count; start += 5_000) {
    const ids: string[] = [];
    const w: Buffer[] = [];
    const c: Buffer[] = [];
    const f: Buffer[] = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const id = randomUUID();
      const s = await box.seal(keyOf(id), SEALS.credentialVersion.context({ tenantId: tenant, objectId: id, version: 1 }));
      ids.push(id);
      w.push(s.wrappedKey);
      c.push(s.ciphertext);
      f.push(fp.fingerprint(keyOf(id)));
    }
    await db.query(
      `INSERT INTO credentials (id, tenant_id, provider_id, label, kind, status, current_version, latest_version, redacted_key,
                                last_validation_outcome, last_validated_at, rotate_by)
       SELECT u.id, $2, $3, 'e2e-' || u.id, 'API_KEY', 'ACTIVE', 1, 1, 'sk-proj-…e2e', 'VALID', now(), now() + interval '90 days'
         FROM unnest($1::uuid[]) AS u(id)`,
      [ids, tenant, provider],
    );
    await db.query(
      `INSERT INTO credential_versions (tenant_id, credential_id, version, state, kek_version, wrapped_key, ciphertext, fingerprint,
                                        pepper_version, redacted_key, activated_at, validated_at)
       SELECT $1, u.id, 1, 'ACTIVE', 1, u.w, u.c, u.f, 1, 'sk-proj-…e2e', now(), now()
         FROM unnest($2::uuid[], $3::bytea[], $4::bytea[], $5::bytea[]) AS u(id, w, c, f)`,
      [tenant, ids, w, c, f],
    );
  }
}

/** A COMMIT the killed worker sent just before it died may still be applied: let PostgreSQL finish it before reading. */
const settleKilled = () => new Promise((r) => setTimeout(r, 1_000));

/** Records of any catalogue kind sealed under KEK NEW, or fingerprints (versions, alerts) under pepper NEW. */
const underNew = async (what: 'kek' | 'pepper') =>
  what === 'kek'
    ? (await sealedCounts(db)).filter((c) => c.kekVersion === NEW).reduce((n, c) => n + c.count, 0)
    : (await pepperCounts(db, [NEW])).reduce((n, c) => n + c.count, 0);

/** Every fingerprint back under pepper 1, through a worker that holds both. */
async function rekeyBack(): Promise<void> {
  const prefix = uniquePrefix();
  const w = await worker(prefix, 'worker-rekey-back', {});
  const q = queuesOn(redis?.url ?? null, prefix);
  await q.queues.maintenance.add('fingerprint-rekey', { requestedAt: new Date().toISOString() }, { jobId: `fingerprint-rekey-${Date.now()}` });
  await w.waitForLine(/fingerprint rekey done/, 180_000);
  await q.close();
  await w.stop();
}

const START = 'mutation { startKeyRewrap(input: { reason: "e2e resume" }) { jobId userErrors { code } } }';
const runOf = async (id: string) => (await db.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1', [id]))[0];

/** Rewraps the whole database to `current` through an API and a worker that hold versions 1 and NEW; returns the run id. */
async function rewrapTo(current: number, prefix: string): Promise<string> {
  const env = { KEYPLANE_MASTER_KEY_CURRENT: String(current) };
  const api = await api_(env);
  const w = await worker(prefix, `worker-back-${current}`, env);
  const { jobId } = await expectOk<{ jobId: string }>(api.gql(START), 'startKeyRewrap');
  await waitFor('the rewrap to finish', async () => (await runOf(jobId))?.state === 'COMPLETED', 240_000);
  await w.stop();
  await api.stop();
  return jobId;
}

it('master key rewrap: SIGKILL the worker mid-way, a new worker finishes; every record opens under the new version, none rewrapped twice, counts add up', async () => {
  const env = { KEYPLANE_MASTER_KEY_CURRENT: String(NEW) };
  const before: { k: number; n: number }[] = await db.query(
    'SELECT kek_version AS k, count(*)::int AS n FROM credential_versions WHERE kek_version IS NOT NULL GROUP BY 1',
  );
  const total = before.reduce((n, r) => n + r.n, 0);
  const prefix = uniquePrefix();
  const api = await api_(env);
  const first = await worker(prefix, 'worker-1', env);
  const { jobId } = await expectOk<{ jobId: string }>(api.gql(START), 'startKeyRewrap');

  // Part way: some pages committed, well short of the end.
  await waitFor(
    'a few committed pages',
    async () => {
      const run = await runOf(jobId);
      return run?.state === 'RUNNING' && run.progress.pages >= 4;
    },
    60_000,
  );
  expect((await first.kill()).signal).toBe('SIGKILL');
  await settleKilled();
  const atKill = await runOf(jobId);
  expect(atKill.state).toBe('RUNNING');
  // What was committed under version 2 when the worker died: none of it may be rewritten again.
  const done: { id: string; w: Buffer }[] = await db.query(
    `SELECT id, wrapped_key AS w FROM credential_versions WHERE tenant_id = $1 AND kek_version = $2`,
    [tenantId, NEW],
  );
  expect(done.length).toBeGreaterThan(0);
  expect(done.length).toBeLessThan(ROWS);

  const second = await worker(prefix, 'worker-2', env);
  await waitFor('the rewrap to finish on worker-2', async () => (await runOf(jobId))?.state === 'COMPLETED', 180_000);
  await second.waitForLine(/key rewrap done/, 10_000);

  // Every record of ours is under the new version and opens.
  const rows: { id: string; o: string; v: number; k: number; w: Buffer; c: Buffer }[] = await db.query(
    `SELECT id, credential_id AS o, version AS v, kek_version AS k, wrapped_key AS w, ciphertext AS c FROM credential_versions WHERE tenant_id = $1`,
    [tenantId],
  );
  expect(rows).toHaveLength(ROWS);
  const box = new SecretBox(parseKeyring(RING));
  let opened = 0;
  for (const r of rows) {
    expect(r.k).toBe(NEW);
    const secret = await box.open(
      { kekVersion: r.k, wrappedKey: r.w, ciphertext: r.c },
      SEALS.credentialVersion.context({ tenantId, objectId: r.o, version: r.v }),
    );
    if (secret === keyOf(r.o)) opened++;
  }
  expect(opened).toBe(ROWS);
  // None wrapped twice: every wrap draws a fresh IV, so a record rewritten after it was current
  // would hold different bytes; those committed before the kill hold exactly what they held then.
  const now = new Map(rows.map((r) => [r.id, r.w]));
  expect(done.filter((d) => !now.get(d.id)!.equals(d.w)).map((d) => d.id)).toEqual([]);

  // The counts add up: each record scanned once in all (a page counted twice would show), and the
  // version-1 records are all accounted for, across both workers.
  const run = await runOf(jobId);
  const cv = run.progress.kinds['credential-version'].byVersion as Record<string, Record<string, number>>;
  const sum = (f: string) => Object.values(cv).reduce((n, c) => n + c[f], 0);
  expect(sum('scanned')).toBe(total);
  expect(sum('scanned')).toBe(sum('rewrapped') + sum('alreadyCurrent') + sum('failed') + sum('changed'));
  const under1 = before.find((b) => b.k === 1)?.n ?? 0;
  expect(cv['1'].rewrapped + cv['1'].failed + cv['1'].changed).toBe(under1);
  expect(cv['1'].rewrapped).toBeGreaterThanOrEqual(ROWS);
  const finished = await db.query(`SELECT details FROM audit_events WHERE action = 'KEY_REWRAP_FINISHED' AND target_id = $1`, [jobId]);
  expect(finished).toHaveLength(1);
  expect(finished[0].details).toMatchObject({ state: 'COMPLETED', targetVersion: NEW });

  // Nothing the jobs wrote carries key material: run progress, job data, progress and return value, audit rows, logs.
  const q = queuesOn(redis?.url ?? null, prefix);
  const job = await q.queues.maintenance.getJob(jobId);
  await q.close();
  expect(job).toBeDefined();
  const audit = await db.query(`SELECT action, details::text AS d FROM audit_events WHERE target_id = $1`, [jobId]);
  const keys = rows.slice(0, 200).map((r) => keyOf(r.o));
  const hits = scanTexts(
    [
      { where: 'run', text: JSON.stringify(run) },
      { where: 'job', text: JSON.stringify({ data: job!.data, progress: job!.progress, returnvalue: job!.returnvalue }) },
      ...audit.map((a: { action: string; d: string }) => ({ where: `audit ${a.action}`, text: a.d })),
      ...[...first.lines, ...second.lines, ...api.lines].map((text, i) => ({ where: `log ${i}`, text })),
    ],
    [...secrets, ...keys],
  );
  expect(describeHits(hits)).toBe('');
  await second.stop();
  await api.stop();
});

it('pepper rekey: SIGKILL the worker mid-way, a new worker finishes; every fingerprint is the key under the new pepper, none rewritten twice, counts add up', async () => {
  const env = { KEYPLANE_FINGERPRINT_KEY_CURRENT: String(NEW) };
  const prefix = uniquePrefix();
  const api = await api_(env);
  const first = await worker(prefix, 'worker-rekey-1', env);
  const { jobId } = await expectOk<{ jobId: string }>(
    api.gql('mutation { startPepperRekey(input: { reason: "e2e resume" }) { jobId userErrors { code } } }'),
    'startPepperRekey',
  );
  const movedOf = async () =>
    (await db.query('SELECT count(*)::int AS n FROM credential_versions WHERE tenant_id = $1 AND pepper_version = $2', [tenantId, NEW]))[0]
      .n as number;
  await waitFor('part of the fingerprints rekeyed', async () => (await movedOf()) >= 2_000, 120_000);
  expect((await first.kill()).signal).toBe('SIGKILL');
  await settleKilled();
  // xmin names the transaction that wrote a row's current version: a row written again gets a new
  // one, so an unchanged xmin proves a fingerprint moved before the kill was not rewritten (no trigger needed).
  const done: { id: string; x: string }[] = await db.query(
    'SELECT id, xmin::text AS x FROM credential_versions WHERE tenant_id = $1 AND pepper_version = $2',
    [tenantId, NEW],
  );
  expect(done.length).toBeLessThan(ROWS);
  const [{ n: leftAtKill }] = await db.query(
    'SELECT count(*)::int AS n FROM credential_versions WHERE fingerprint IS NOT NULL AND pepper_version <> $1',
    [NEW],
  );

  const second = await worker(prefix, 'worker-rekey-2', env);
  await second.waitForLine(/fingerprint rekey done/, 180_000);
  const q = queuesOn(redis?.url ?? null, prefix);
  const job = await waitFor('the rekey job to complete', async () => {
    const j = await q.queues.maintenance.getJob(jobId);
    return j?.returnvalue ? j : null;
  });
  await q.close();

  const pepper = parsePepperRing(PEPPERS, NEW);
  const rows: { id: string; o: string; f: Buffer; p: number; x: string }[] = await db.query(
    'SELECT id, credential_id AS o, fingerprint AS f, pepper_version AS p, xmin::text AS x FROM credential_versions WHERE tenant_id = $1',
    [tenantId],
  );
  expect(rows).toHaveLength(ROWS);
  expect(rows.filter((r) => r.p !== NEW || !r.f.equals(pepper.fingerprintUnder(NEW, keyOf(r.o)))).map((r) => r.id)).toEqual([]);
  const xmin = new Map(rows.map((r) => [r.id, r.x]));
  expect(done.filter((d) => xmin.get(d.id) !== d.x).map((d) => d.id)).toEqual([]);
  // The second attempt moved each fingerprint still under the old pepper once, or counted it as not opening (left where it is).
  const summary = job.returnvalue as { processed: number; rekeyed: number; failed: number; left: number };
  expect(summary.rekeyed + summary.failed).toBe(leftAtKill);
  expect(summary.left).toBe(summary.failed);
  expect(summary.processed).toBeLessThanOrEqual(leftAtKill);
  const finished = await db.query(`SELECT details FROM audit_events WHERE action = 'PEPPER_REKEY_FINISHED' AND target_id = $1`, [jobId]);
  expect(finished.length).toBeGreaterThanOrEqual(1);

  // Nothing the job wrote carries a key or a pepper: job data, progress and return value, audit rows, logs.
  const audit = await db.query(`SELECT action, details::text AS d FROM audit_events WHERE target_id = $1`, [jobId]);
  const hits = scanTexts(
    [
      { where: 'job', text: JSON.stringify({ data: job.data, progress: job.progress, returnvalue: job.returnvalue }) },
      ...audit.map((a: { action: string; d: string }) => ({ where: `audit ${a.action}`, text: a.d })),
      ...[...first.lines, ...second.lines, ...api.lines].map((text, i) => ({ where: `log ${i}`, text })),
    ],
    [...secrets, ...rows.slice(0, 200).map((r) => keyOf(r.o))],
  );
  expect(describeHits(hits)).toBe('');
  await second.stop();
  await api.stop();
});
