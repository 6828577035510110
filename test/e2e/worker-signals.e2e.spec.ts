import type { DataSource } from 'typeorm';
import { createCredential, openaiKey, tenantWithTokens } from '../factories';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import {
  asTestApp,
  credentialRow,
  fakeProviderVia,
  openDb,
  queueEnv,
  queueEventLog,
  queuesOn,
  requestsWith,
  settleForeignOutbox,
  uniquePrefix,
  waitFor,
} from './e2e-support';
import { onPostgresQueues } from '../helpers/queue-backend';

/*
 * Worker processes and signals: a worker killed with SIGKILL mid-job loses its lock and another
 * worker completes the job, once; SIGTERM lets the job in flight finish before the process exits 0.
 */
/** null on the postgres queue backend: the processes then use no Redis at all. */
let redis: PrivateRedis | null;
let db: DataSource;
let api: ApiProcess;
let fake: FakeProvider;
let providerId: string;
let t: ReturnType<typeof asTestApp>;
const started: KeyplaneProcess[] = [];

beforeAll(async () => {
  [redis, db, fake] = await Promise.all([onPostgresQueues ? null : startPrivateRedis(), openDb(), startFakeProvider()]);
  await settleForeignOutbox(db);
  api = await startApiProcess(await queueEnv(uniquePrefix(), redis?.url ?? null));
  providerId = await fakeProviderVia(api, fake);
  t = asTestApp(api);
}, 60_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.kill()));
});

afterAll(async () => {
  await killAllProcesses();
  await killAllPrivateRedis();
  await fake?.close();
  await db?.destroy();
});

async function worker(prefix: string, name: string, env: Record<string, string> = {}) {
  const w = await startWorkerProcess({ ...(await queueEnv(prefix, redis?.url ?? null)), ...env }, name);
  started.push(w);
  return w;
}

const modelsList = { object: 'list', data: [{ id: 'fake-model-a', object: 'model', created: 1700000000, owned_by: 'fake' }] };

it('a worker killed with SIGKILL mid-job: the job completes once on another worker', async () => {
  const prefix = uniquePrefix();
  // Short locks so the lost job is noticed in seconds rather than BullMQ's default 30 s; a long
  // provider timeout so the hung check is still in flight however slowly worker-2 starts.
  const fast = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', PROVIDER_TIMEOUT_MS: '30000' };
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.script(secret, fake.respond.hang()); // the first check never gets an answer
  fake.allow(secret);

  const first = await worker(prefix, 'worker-1', fast);
  const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
  await waitFor('worker-1 to call the provider', () => requestsWith(fake, secret).length === 1);
  const second = await worker(prefix, 'worker-2', fast);
  expect(requestsWith(fake, secret)).toHaveLength(1); // worker-1 still holds the job

  const killed = await first.kill();
  expect(killed.signal).toBe('SIGKILL');
  const row = await waitFor(
    'the credential to become ACTIVE',
    async () => {
      const r = await credentialRow(db, credential.id);
      return r.status === 'ACTIVE' && r;
    },
    20_000,
  );
  expect(row).toMatchObject({ current_version: 1, last_validation_outcome: 'VALID' });
  expect(second.exited).toBeNull();

  const q = queuesOn(redis?.url ?? null, prefix);
  try {
    // The row changes before the job is marked completed: read the job once it is.
    const job = await waitFor('the job to complete', async () => {
      const found = await q.queues.credentials.getJob(`validate-credential-${credential.id}-v1`);
      return found && (await found.getState()) === 'completed' ? found : null;
    });
    expect(job.returnvalue).toEqual({ outcome: 'VALID' });
    expect(job.stalledCounter).toBe(1); // recovered from the lost lock, not retried after a failure
    expect(job.attemptsMade).toBe(1);
    // The queue's event log: the job stalled once and completed once.
    const forJob = (await queueEventLog(redis?.url ?? null, prefix, 'credentials')).filter((e) => e.jobId === job.id);
    expect(forJob.filter((e) => e.event === 'stalled')).toHaveLength(1);
    expect(forJob.filter((e) => e.event === 'completed')).toHaveLength(1);
  } finally {
    await q.close();
  }
  // The hung request of the dead worker and the one that completed; one promotion, no extra work.
  expect(requestsWith(fake, secret)).toHaveLength(2);
  const versions = await db.query('SELECT version, state, activated_at IS NOT NULL AS activated FROM credential_versions WHERE credential_id = $1', [
    credential.id,
  ]);
  expect(versions).toEqual([{ version: 1, state: 'ACTIVE', activated: true }]);
  // The duplicate check is queued by the validation itself (issue 14): wait for the relay to take it.
  const outbox = await waitFor('the duplicate check to be relayed', async () => {
    const rows = await db.query(`SELECT job_name, attempts FROM outbox WHERE payload->>'credentialId' = $1 ORDER BY job_name`, [credential.id]);
    return rows.length === 2 && rows.every((r: any) => r.attempts > 0) && rows;
  });
  expect(outbox).toEqual([
    { job_name: 'fingerprint-credential', attempts: 1 },
    { job_name: 'validate-credential', attempts: 1 },
  ]);
}, 45_000);

it('SIGTERM: the job in flight finishes before the worker exits with code 0', async () => {
  const prefix = uniquePrefix();
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.script(secret, { status: 200, body: modelsList, delayMs: 1500 });

  const w = await worker(prefix, 'worker', {});
  const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
  await waitFor('the worker to call the provider', () => requestsWith(fake, secret).length === 1);
  expect((await credentialRow(db, credential.id)).status).toBe('PENDING_VALIDATION');

  const exit = await w.stop();
  expect(exit).toMatchObject({ code: 0, signal: null });
  expect(exit.ms).toBeGreaterThan(500); // it waited for the provider's answer
  expect(exit.ms).toBeLessThan(10_000);
  expect(w.lines.some((l) => /"msg":"shutting down"/.test(l))).toBe(true);
  // Already done when the process is gone: nothing was left for a stalled-job recovery.
  expect(await credentialRow(db, credential.id)).toMatchObject({ status: 'ACTIVE', last_validation_outcome: 'VALID' });
  const q = queuesOn(redis?.url ?? null, prefix);
  try {
    const job = (await q.queues.credentials.getJob(`validate-credential-${credential.id}-v1`))!;
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({ outcome: 'VALID' });
  } finally {
    await q.close();
  }
}, 30_000);
