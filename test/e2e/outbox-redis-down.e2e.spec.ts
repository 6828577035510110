import type { DataSource } from 'typeorm';
import { createCredential, openaiKey, tenantWithTokens } from '../factories';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { asTestApp, credentialRow, fakeProviderVia, openDb, queuesOn, requestsWith, settleForeignOutbox, uniquePrefix, waitFor } from './e2e-support';
import { letTimePass } from '../helpers/time';
import { onPostgresQueues } from '../helpers/queue-backend';

/*
 * Enqueue after commit, with real processes: the API writes the change and its outbox row in one
 * transaction and never needs Redis; two worker processes relay the outbox (SKIP LOCKED) once
 * Redis is back, and the work is delivered exactly once.
 */
// Redis-only: on the postgres queue backend the outbox and the queue share one database, so there
// is no separate store for the API to outlive (a PostgreSQL outage is the whole system's).
(onPostgresQueues ? describe.skip : describe)('outbox while Redis is down', () => {
  let redis: PrivateRedis;
  let db: DataSource;
  let api: ApiProcess;
  let workers: KeyplaneProcess[];
  let fake: FakeProvider;
  let providerId: string;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    [redis, db, fake] = await Promise.all([startPrivateRedis(), openDb(), startFakeProvider()]);
    await settleForeignOutbox(db);
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
    [api, ...workers] = await Promise.all([startApiProcess(env), startWorkerProcess(env, 'worker-1'), startWorkerProcess(env, 'worker-2')]);
    providerId = await fakeProviderVia(api, fake);
  }, 60_000);

  afterAll(async () => {
    await killAllProcesses();
    await killAllPrivateRedis();
    await fake?.close();
    await db?.destroy();
  });

  it('a mutation succeeds while Redis is down; the relay delivers it once when Redis is back', async () => {
    const t = asTestApp(api);
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.allow(secret);

    await redis.stop();
    const started = Date.now();
    const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
    expect(Date.now() - started).toBeLessThan(5_000); // no waiting on Redis (ioredis would retry for ~10 s)
    expect(credential.status).toBe('PENDING_VALIDATION');

    const outbox = () =>
      db.query(`SELECT job_name, job_id, sent_at, attempts FROM outbox WHERE payload->>'credentialId' = $1 ORDER BY job_name`, [credential.id]);
    // Both relays tried while Redis was down and gave the rows back untouched.
    await Promise.all(workers.map((w) => w.waitForLine(/outbox relay failed/, 10_000)));
    const pending = await outbox();
    expect(pending.map((r: any) => [r.job_name, r.sent_at, r.attempts])).toEqual([['validate-credential', null, 0]]);
    expect(requestsWith(fake, secret)).toHaveLength(0);

    await redis.start();
    const row = await waitFor(
      'the credential to become ACTIVE',
      async () => {
        const r = await credentialRow(db, credential.id);
        return r.status === 'ACTIVE' && r;
      },
      25_000,
    );
    expect(row).toMatchObject({ current_version: 1, last_validation_outcome: 'VALID' });

    // Sent once: one relay took each row, once, even with two relays polling.
    const sent = await outbox();
    // The duplicate check is queued by the validation, once the key worked (issue 14).
    const rows = await waitFor('the duplicate check to be relayed', async () => {
      const r = await outbox();
      return r.length === 2 && r.every((x: any) => x.sent_at) && r;
    });
    expect(rows.map((r: any) => [r.job_name, r.sent_at instanceof Date, r.attempts])).toEqual([
      ['fingerprint-credential', true, 1],
      ['validate-credential', true, 1],
    ]);
    const q = queuesOn(redis.url, prefix);
    try {
      const jobId = `validate-credential-${credential.id}-v1`;
      const job = await waitFor('the job to finish', async () => {
        const j = await q.queues.credentials.getJob(jobId);
        return j?.finishedOn ? j : null;
      });
      expect(job.id).toBe(sent.find((r: any) => r.job_name === 'validate-credential').job_id);
      expect(job.returnvalue).toEqual({ outcome: 'VALID' });
      expect(job.attemptsMade).toBe(1);
      const validations = (await q.queues.credentials.getJobs()).filter(
        (j) => j.name === 'validate-credential' && j.data.credentialId === credential.id,
      );
      expect(validations).toHaveLength(1);
    } finally {
      await q.close();
    }
    // Proof that nothing happens within a window: a duplicate check would show up in this time.
    await letTimePass(500);
    expect(requestsWith(fake, secret)).toHaveLength(1);
    const versions = await db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1', [credential.id]);
    expect(versions).toEqual([{ version: 1, state: 'ACTIVE' }]);
  }, 60_000);
});
