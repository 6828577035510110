import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/db/data-source';
import { createQueueBackend, type QueueBackend } from '../../../src/queue/backend';
import { closeQueues, createQueues, type Queues } from '../../../src/queue/queues';
import { relayOnce } from '../../../workers/relay';
import { replicaAcks, ReplicationNotConfirmed } from '../../../workers/replica-acks';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { TEST_DATABASE_URL } from '../../helpers/test-env';

/*
 * QUEUE_REPLICA_ACKS: the relay marks an outbox row sent only once a Redis replica holds its job, so
 * a master lost before replicating cannot take a job whose row already says sent. A private master
 * and replica; the replica is stopped to make WAIT come back short.
 */
let master: PrivateRedis;
let replica: PrivateRedis;
let db: DataSource;
let backend: QueueBackend;
let queues: Queues;

/** Makes `replica` follow `master`; a first full sync waits out repl-diskless-sync-delay (5 s by default). */
async function follow(): Promise<void> {
  const r = new Redis(replica.url);
  const m = new Redis(master.url);
  try {
    await r.replicaof('127.0.0.1', String(master.port));
    // Up on both sides: the replica's link, and the master counting it online (WAIT asks only those).
    const up = async () => /master_link_status:up/.test(await r.info('replication')) && /slave0:.*state=online/.test(await m.info('replication'));
    for (let i = 0; i < 600 && !(await up()); i++) await new Promise((ok) => setTimeout(ok, 25));
  } finally {
    r.disconnect();
    m.disconnect();
  }
}

async function outboxRow(): Promise<{ id: string; jobId: string }> {
  const jobId = `idempotency-sweep-acks-${randomUUID().slice(0, 8)}`;
  const [row] = await db.query(
    `INSERT INTO outbox (queue, job_name, job_id, payload) VALUES ('maintenance', 'idempotency-sweep', $1, '{}') RETURNING id`,
    [jobId],
  );
  return { id: String(row.id), jobId };
}
const sent = async (id: string) => (await db.query('SELECT sent_at FROM outbox WHERE id = $1', [id]))[0].sent_at !== null;

beforeAll(async () => {
  [master, replica] = await Promise.all([startPrivateRedis(), startPrivateRedis()]);
  await follow();
  db = createDataSource(TEST_DATABASE_URL, 2);
  await db.initialize();
  // Rows of other suites are theirs: this relay must move only its own.
  await db.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  backend = createQueueBackend({
    queue: { backend: 'redis', prefix: `acks-${randomUUID().slice(0, 8)}` },
    redisUrl: master.url,
    databaseUrl: TEST_DATABASE_URL,
  });
  queues = createQueues(backend);
});
afterAll(async () => {
  await closeQueues(queues);
  await backend.close();
  await db.destroy();
  await killAllPrivateRedis();
});

// Generous: WAIT answers as soon as the replica acknowledges; only the stopped-replica case waits it out.
const confirm = () => replicaAcks(backend, { replicas: 1, timeoutMs: 2000 });

it('a row is marked sent once a replica holds its job', async () => {
  const row = await outboxRow();
  expect(await relayOnce(db, queues, 200, confirm())).toBe(1);
  expect(await sent(row.id)).toBe(true);
  const onReplica = new Redis(replica.url);
  try {
    expect(await onReplica.exists(`${(await queues.maintenance.getJob(row.jobId))!.queueQualifiedName}:${row.jobId}`)).toBe(1);
  } finally {
    onReplica.disconnect();
  }
});

it('with no replica acknowledging, the row stays unsent and is relayed again (once) when one does', async () => {
  await replica.stop();
  const row = await outboxRow();
  await expect(relayOnce(db, queues, 200, confirm())).rejects.toBeInstanceOf(ReplicationNotConfirmed);
  expect(await sent(row.id)).toBe(false);
  await replica.start();
  await follow();
  expect(await relayOnce(db, queues, 200, confirm())).toBe(1);
  expect(await sent(row.id)).toBe(true);
  const jobs = await queues.maintenance.getJobs(['wait', 'delayed', 'prioritized']);
  expect(jobs.filter((j) => j.id === row.jobId)).toHaveLength(1);
});
