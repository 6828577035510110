import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { closeQueues, createQueues, type Queues } from '../../../src/queue/queues';
import { revalidationSweep } from '../../../workers/processors/revalidation-sweep.processor';
import { upsertSchedulers } from '../../../workers/schedulers';
import { createGateway, openaiKey, tenantWithTokens } from '../../factories';
import { attachCredential, rotateCredential, validatedCredential } from '../../factories/credentials';
import { respond, startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { dropQueueNamespace, prepareQueueNamespace, testQueueBackend } from '../../helpers/queue-backend';
import type { QueueBackend } from '../../../src/queue/backend';
import { createFakeOpenAIProvider } from '../../factories/providers';

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;
const spare: { queues: Queues; backend: QueueBackend; prefix: string }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, { env: { ROTATION_GRACE_HOURS: '24', VALIDATION_MAX_AGE_HOURS: '24' } });
});

afterAll(async () => {
  for (const { queues, backend, prefix } of spare) {
    await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true })));
    await closeQueues(queues);
    await backend.close();
    await dropQueueNamespace(prefix);
  }
  await w?.close();
  await fake?.close();
  await t?.close();
});

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);

/** Queues under a prefix no worker listens on: what a sweep fans out stays there to be counted. */
async function idleQueues(): Promise<Queues> {
  const prefix = `kp-idle-${randomUUID().slice(0, 8)}`;
  await prepareQueueNamespace(prefix);
  const backend = testQueueBackend(prefix);
  const queues = createQueues(backend);
  spare.push({ queues, backend, prefix });
  return queues;
}

/** Runs one sweep on the real maintenance worker, as its scheduler would, and returns its result. */
async function runSweep(name: 'revalidation-sweep' | 'rotation-sweep' | 'retire-previous-sweep'): Promise<any> {
  const job = await w.queues.maintenance.add(name, {}, { jobId: `test-${name}-${randomUUID().slice(0, 8)}`, attempts: 1 });
  return eventually(async () => {
    const state = await job.getState();
    if (state === 'failed') throw new Error(`${name} failed: ${(await w.queues.maintenance.getJob(job.id!))?.failedReason}`);
    return state === 'completed' ? ((await w.queues.maintenance.getJob(job.id!))?.returnvalue ?? true) : null;
  }, 10_000);
}

/** A credential whose first key validated on the real worker. */
const activeCredential = (token: string, tenantId: string) => validatedCredential(t, w, fake, token, { tenantId, providerId });

const AUDIT = { signingKeys: '', checkpointCron: '*/15 * * * *' };

describe('schedulers', () => {
  it('upserting at every start-up (here twice, and with a new cron) keeps exactly five, in UTC', async () => {
    const queues = await idleQueues();
    await upsertSchedulers(queues, { sweepCron: '0 3 * * *', audit: AUDIT });
    await upsertSchedulers(queues, { sweepCron: '0 3 * * *', audit: AUDIT });
    await upsertSchedulers(queues, { sweepCron: '30 2 * * *', audit: { ...AUDIT, checkpointCron: '*/5 * * * *' } });
    const schedulers = await queues.maintenance.getJobSchedulers();
    const summary = schedulers
      .map((s) => ({ id: s.key, name: s.name, pattern: s.pattern ?? null, tz: s.tz ?? null, every: s.every ? Number(s.every) : null }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(summary).toEqual([
      { id: 'audit-checkpoint', name: 'audit-checkpoint', pattern: '*/5 * * * *', tz: 'UTC', every: null },
      { id: 'daily-revalidation', name: 'revalidation-sweep', pattern: '30 2 * * *', tz: 'UTC', every: null },
      { id: 'daily-rotation-reminders', name: 'rotation-sweep', pattern: '30 2 * * *', tz: 'UTC', every: null },
      { id: 'hourly-idempotency', name: 'idempotency-sweep', pattern: '30 * * * *', tz: 'UTC', every: null },
      { id: 'hourly-retire-previous', name: 'retire-previous-sweep', pattern: '0 * * * *', tz: 'UTC', every: null },
      { id: 'reconcile-queues', name: 'reconcile-queues', pattern: null, tz: null, every: 120_000 },
    ]);
    // One next run per scheduler, not one per upsert (the reconciler's first run is due at once).
    expect(await queues.maintenance.getJobCountByTypes('delayed', 'waiting', 'prioritized')).toBe(6);
  });
});

describe('revalidation sweep', () => {
  it('re-checks only keys whose last check is older than VALIDATION_MAX_AGE_HOURS (or never ran)', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const fresh = await activeCredential(admin, tenant.id);
    const old = await activeCredential(admin, tenant.id);
    const never = await activeCredential(admin, tenant.id);
    const revoked = await activeCredential(admin, tenant.id);
    await q(`UPDATE credentials SET last_validated_at = now() - interval '25 hours' WHERE id = ANY($1)`, [[old.id, revoked.id]]);
    await q('UPDATE credentials SET last_validated_at = NULL WHERE id = $1', [never.id]);
    await q(`UPDATE credentials SET revoked_at = now(), status = 'REVOKED' WHERE id = $1`, [revoked.id]);
    const requests = (key: string) => fake.requests.filter((r) => r.headers.authorization === `Bearer ${key}`).length;
    const before = Object.fromEntries([fresh, old, never, revoked].map((c) => [c.id, requests(c.secret)]));

    await runSweep('revalidation-sweep');
    await eventually(async () => {
      const rows = await q(`SELECT 1 FROM credentials WHERE id = ANY($1) AND last_validated_at > now() - interval '1 minute'`, [[old.id, never.id]]);
      return rows.length === 2;
    });
    expect(requests(old.secret)).toBe(before[old.id] + 1);
    expect(requests(never.secret)).toBe(before[never.id] + 1);
    expect(requests(fresh.secret)).toBe(before[fresh.id]);
    expect(requests(revoked.secret)).toBe(before[revoked.id]);
    // The re-check has its own job id: the create-time job is still retained in Redis.
    expect(await w.queues.credentials.getJob(`validate-credential-${old.id}-v1`)).toBeDefined();
  });

  it('pages through more than one page and enqueues each stale key exactly once, even when run again', async () => {
    const { tenant } = await tenantWithTokens(t);
    // 1,200 keys by SQL: every third fresh, the rest never checked or checked 2 days ago.
    const seeded: { id: string; stale: boolean }[] = await q(
      `INSERT INTO credentials (tenant_id, provider_id, label, kind, status, current_version, latest_version, redacted_key, rotate_by, last_validated_at)
       SELECT $1, $2, 'seed-' || g, 'API_KEY', 'ACTIVE', 1, 1, 'sk-proj-…seed', now() + interval '90 days',
              CASE g % 3 WHEN 0 THEN now() WHEN 1 THEN NULL ELSE now() - interval '2 days' END
         FROM generate_series(1, 1200) g
       RETURNING id, last_validated_at IS NULL OR last_validated_at < now() - interval '1 day' AS stale`,
      [tenant.id, providerId],
    );
    // As createCredential does: the tenant confirmed the provider's host with its first key.
    await q(`INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url) SELECT $1, id, base_url FROM providers WHERE id = $2`, [
      tenant.id,
      providerId,
    ]);
    const stale = new Set(seeded.filter((r) => r.stale).map((r) => r.id));
    expect(stale.size).toBe(800);
    const queues = await idleQueues();
    const deps = { db: t.app.db, queues, log: w.deps.log, config: { validationMaxAgeHours: 24 } };
    const job = { name: 'revalidation-sweep', id: 'manual', timestamp: Date.now(), data: {} } as Job<Record<string, never>>;
    await revalidationSweep(deps, job);
    await revalidationSweep(deps, job); // a retried sweep run adds nothing
    const jobs = await queues.credentials.getJobs(['waiting', 'prioritized', 'delayed'], 0, -1);
    const mine = jobs.filter((j) => j.data.tenantId === tenant.id);
    expect(mine).toHaveLength(800);
    expect(new Set(mine.map((j) => j.data.credentialId))).toEqual(stale);
    expect(mine.every((j) => j.id === `validate-credential-${j.data.credentialId}-v1-s${job.timestamp}`)).toBe(true);
    expect(mine[0].data).toEqual({ tenantId: tenant.id, credentialId: expect.any(String), version: 1, sweep: String(job.timestamp) });
    await q('DELETE FROM credentials WHERE tenant_id = $1', [tenant.id]);
  });

  it('skips keys held for a host confirmation: the confirmation queues their checks, not the sweep', async () => {
    const { tenant } = await tenantWithTokens(t);
    await q(
      `INSERT INTO credentials (tenant_id, provider_id, label, kind, status, current_version, latest_version, redacted_key, rotate_by)
       SELECT $1, $2, 'held-' || g, 'API_KEY', 'ACTIVE', 1, 1, 'sk-proj-…held', now() + interval '90 days' FROM generate_series(1, 3) g`,
      [tenant.id, providerId],
    );
    // Confirmed for a host the provider has since left.
    await q(`INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url) VALUES ($1, $2, 'https://previous-host.example')`, [
      tenant.id,
      providerId,
    ]);
    const queues = await idleQueues();
    const deps = { db: t.app.db, queues, log: w.deps.log, config: { validationMaxAgeHours: 24 } };
    const job = { name: 'revalidation-sweep', id: 'manual', timestamp: Date.now(), data: {} } as Job<Record<string, never>>;
    const held = async () =>
      (await queues.credentials.getJobs(['waiting', 'prioritized', 'delayed'], 0, -1)).filter((j) => j.data.tenantId === tenant.id);
    await revalidationSweep(deps, job);
    expect(await held()).toHaveLength(0);
    await q(`UPDATE provider_host_confirmations SET base_url = (SELECT base_url FROM providers WHERE id = $2) WHERE tenant_id = $1`, [
      tenant.id,
      providerId,
    ]);
    await revalidationSweep(deps, { ...job, timestamp: job.timestamp + 1 } as typeof job);
    expect(await held()).toHaveLength(3);
    await q('DELETE FROM credentials WHERE tenant_id = $1', [tenant.id]);
  });

  it('also re-checks a rotation left PENDING for over an hour by an inconclusive check', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const { id } = await activeCredential(admin, tenant.id);
    await rotateCredential(t, admin, id);
    await q(`UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND payload->>'credentialId' = $1`, [id]);
    await q(`UPDATE credential_versions SET created_at = now() - interval '2 hours' WHERE credential_id = $1 AND version = 2`, [id]);
    const queues = await idleQueues();
    const job = { name: 'revalidation-sweep', id: 'manual', timestamp: Date.now(), data: {} } as Job<Record<string, never>>;
    await revalidationSweep({ db: t.app.db, queues, log: w.deps.log, config: { validationMaxAgeHours: 24 } }, job);
    const mine = (await queues.credentials.getJobs(['waiting'], 0, -1)).filter((j) => j.data.credentialId === id);
    expect(mine.map((j) => j.data.version)).toEqual([2]); // the current key was just checked
  });
});

describe('revalidation sweep: PREVIOUS versions in their grace period', () => {
  it('re-checks a PREVIOUS version whose own last check is stale, and one found INVALID stops being served at once', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const { id, secret: first } = await activeCredential(admin, tenant.id);
    const second = openaiKey();
    fake.allow(second);
    await rotateCredential(t, admin, id, second);
    await w.relay();
    await eventually(async () => (await q('SELECT current_version FROM credentials WHERE id = $1', [id]))[0].current_version === 2);
    const state = async (v: number) => (await q('SELECT state FROM credential_versions WHERE credential_id = $1 AND version = $2', [id, v]))[0].state;
    expect(await state(1)).toBe('PREVIOUS');

    // Fresh checks everywhere: nothing to do for this credential.
    const sweep = async (timestamp: number) => {
      const queues = await idleQueues();
      const job = { name: 'revalidation-sweep', id: 'manual', timestamp, data: {} } as Job<Record<string, never>>;
      await revalidationSweep({ db: t.app.db, queues, log: w.deps.log, config: { validationMaxAgeHours: 24 } }, job);
      return (await queues.credentials.getJobs(['waiting'], 0, -1)).filter((j) => j.data.credentialId === id).map((j) => j.data.version);
    };
    await q(`UPDATE credential_versions SET last_validated_at = now() WHERE credential_id = $1`, [id]);
    expect(await sweep(Date.now())).toEqual([]);
    // The PREVIOUS version's own check is stale (the serving one's is not): it alone is re-checked.
    await q(`UPDATE credential_versions SET last_validated_at = now() - interval '25 hours' WHERE credential_id = $1 AND version = 1`, [id]);
    expect(await sweep(Date.now() + 1)).toEqual([1]);
    // Past its grace period it is the retire sweep's, not a check's.
    await q(`UPDATE credential_versions SET retire_after = now() - interval '1 minute' WHERE credential_id = $1 AND version = 1`, [id]);
    expect(await sweep(Date.now() + 2)).toEqual([]);
    await q(`UPDATE credential_versions SET retire_after = now() + interval '1 day' WHERE credential_id = $1 AND version = 1`, [id]);

    // Through the real worker: the provider revoked the old key meanwhile; the sweep's check finds
    // it INVALID and it stops being served (retired) before its grace period ends.
    fake.script(first, respond.json(401, { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } }));
    await runSweep('revalidation-sweep');
    await eventually(async () => (await state(1)) === 'RETIRED', 15_000);
    expect(await state(2)).toBe('ACTIVE');
  });
});

describe('rotation sweep', () => {
  it('runs on the maintenance worker: one reminder per key version and threshold, none on a second run', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const { id } = await activeCredential(admin, tenant.id);
    await q(`UPDATE credentials SET rotate_by = now() + interval '12 hours' WHERE id = $1`, [id]);
    await runSweep('rotation-sweep');
    await runSweep('rotation-sweep');
    const reminders = await q('SELECT credential_version, threshold, delivery_id FROM rotation_reminders WHERE credential_id = $1', [id]);
    expect(reminders).toEqual([{ credential_version: 1, threshold: 'DAYS_1', delivery_id: null }]);
  });
});

describe('retire-previous sweep', () => {
  it('retires PREVIOUS versions whose grace period ended: material destroyed, gateways reload, once', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const { id } = await activeCredential(admin, tenant.id);
    const { gateway } = await createGateway(t, admin, tenant.id);
    await attachCredential(t, admin, { gatewayId: gateway.id, credentialId: id });
    const second = openaiKey();
    fake.allow(second);
    await rotateCredential(t, admin, id, second);
    await w.relay();
    await eventually(async () => (await q('SELECT current_version FROM credentials WHERE id = $1', [id]))[0].current_version === 2);
    const versions = () =>
      q(
        'SELECT version, state, ciphertext IS NULL AS wiped, fingerprint IS NULL AS unfingerprinted FROM credential_versions WHERE credential_id = $1 ORDER BY version',
        [id],
      );
    const configVersion = async () => (await q('SELECT config_version FROM gateways WHERE id = $1', [gateway.id]))[0].config_version;

    await runSweep('retire-previous-sweep'); // grace not over yet: nothing happens
    expect((await versions())[0]).toMatchObject({ state: 'PREVIOUS', wiped: false });
    const beforeRetire = await configVersion();

    await q(`UPDATE credential_versions SET retire_after = now() - interval '1 minute' WHERE credential_id = $1 AND version = 1`, [id]);
    await runSweep('retire-previous-sweep');
    expect(await versions()).toEqual([
      { version: 1, state: 'RETIRED', wiped: true, unfingerprinted: true },
      { version: 2, state: 'ACTIVE', wiped: false, unfingerprinted: expect.any(Boolean) },
    ]);
    expect(await configVersion()).toBe(beforeRetire + 1);
    const audit = await q(`SELECT actor_type, details FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_VERSION_RETIRED'`, [id]);
    expect(audit).toEqual([{ actor_type: 'SYSTEM', details: expect.objectContaining({ version: 1, reloadedGateways: 1 }) }]);

    await runSweep('retire-previous-sweep'); // idempotent
    expect(await configVersion()).toBe(beforeRetire + 1);
    expect(await q(`SELECT 1 FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_VERSION_RETIRED'`, [id])).toHaveLength(1);
  });
});
