import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { createLogger } from '../../../src/logger';
import { closeQueues, createQueues, enqueue, type Queues } from '../../../src/queue/queues';
import type { QueueBackend } from '../../../src/queue/backend';
import type { ProcessorDeps } from '../../../workers/processors';
import { DatabaseGate } from '../../../workers/database-gate';
import { startWorkers } from '../../../workers/worker';
import { createCredential, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { dropQueueNamespace, prepareQueueNamespace, testQueueBackend } from '../../helpers/queue-backend';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * The job dispatcher (workers/worker.ts) when PostgreSQL is unreachable: the job waits and is
 * tried again without using a try, fetching pauses meanwhile, and no driver text (the database's
 * address) reaches the job's failure reason. PostgreSQL's absence is simulated at the processor's
 * first read and at the gate's probe; the queue store is the real test backend (either one).
 */
let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  // Only for its processor deps; its own workers see none of this suite's jobs (another prefix).
  w = await startTestWorkers(t);
});

afterAll(async () => {
  await w?.close();
  await fake?.close();
  await t?.close();
});

const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.9.8.7:5432'), { code: 'ECONNREFUSED', address: '10.9.8.7', port: 5432 });
const adminShutdown = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });

interface Rig {
  queues: Queues;
  workers: Worker[];
  gate: DatabaseGate;
  logs: string[];
  close(): Promise<void>;
}

/** Real workers on their own prefix, whose database reads fail while `down()` says so. */
async function rig(down: () => boolean, failure: () => Error): Promise<Rig> {
  const prefix = `kp-dbgate-${randomUUID().slice(0, 8)}`;
  await prepareQueueNamespace(prefix);
  const backend: QueueBackend = testQueueBackend(prefix);
  const queues = createQueues(backend, { defaultJobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 50 } } });
  const logs: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void logs.push(line) } as never);
  const probeDb = {
    query: async (sql: string, params?: unknown[]) => {
      if (down()) throw refused();
      return t.app.db.query(sql, params);
    },
  };
  const versions = {
    read: async (key: Parameters<ProcessorDeps['versions']['read']>[0]) => {
      if (down()) throw failure();
      return w.deps.versions.read(key);
    },
  } as unknown as ProcessorDeps['versions'];
  const gate = new DatabaseGate(probeDb, log);
  const workers = startWorkers(backend, { ...w.deps, queues, versions, log }, log, { concurrency: 2, database: gate });
  return {
    queues,
    workers,
    gate,
    logs,
    async close() {
      gate.stop();
      await Promise.all(workers.map((x) => x.close()));
      await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true })));
      await closeQueues(queues);
      await backend.close();
      await dropQueueNamespace(prefix);
    },
  };
}

async function pendingKey() {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const { id } = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
  return { tenantId: tenant.id, credentialId: id, secret };
}

const statusOf = async (id: string) => (await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [id]))[0].status as string;
const checksOf = (secret: string) => fake.requests.filter((r) => r.headers.authorization === `Bearer ${secret}`).length;

describe('job dispatcher while PostgreSQL is unreachable', () => {
  it('holds the job, pauses fetching, and retries it once the database answers, without using a try', async () => {
    let down = true;
    const r = await rig(() => down, refused);
    try {
      const key = await pendingKey();
      await enqueue(r.queues, 'validate-credential', { tenantId: key.tenantId, credentialId: key.credentialId, version: 1 });
      await eventually(async () => r.gate.isDown, 10_000);
      const credentialsWorker = r.workers.find((x) => x.name === 'credentials')!;
      expect(credentialsWorker.isPaused()).toBe(true);
      // Far longer than three fixed 50 ms backoffs: a failing job would have used all its tries by now.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await statusOf(key.credentialId)).toBe('PENDING_VALIDATION');
      down = false;
      await eventually(async () => (await statusOf(key.credentialId)) === 'ACTIVE', 20_000);
      expect(credentialsWorker.isPaused()).toBe(false);
      // The row changes before the job is marked completed (a separate step on either backend).
      const job = await eventually(async () => {
        const found = (await r.queues.credentials.getJob(`validate-credential-${key.credentialId}-v1`)) as Job | undefined;
        return found && (await found.getState()) === 'completed' ? found : null;
      }, 10_000);
      // BullMQ counts the finished try: the one that worked is the only one counted.
      expect(job.attemptsMade).toBe(1);
      expect(job.data.dbDeferrals).toBeGreaterThanOrEqual(1);
      expect(job.failedReason ?? '').toBe('');
      // The provider was asked once, after the outage: nothing ran twice.
      expect(checksOf(key.secret)).toBe(1);
      expect(r.logs.join('\n')).not.toMatch(/10\.9\.8\.7|5432/);
    } finally {
      await r.close();
    }
  });

  it('treats a session ended by an administrator (57P01) the same way, with the database still answering', async () => {
    const r = await rig(() => false, adminShutdown);
    let failures = 1;
    const original = w.deps.versions.read.bind(w.deps.versions);
    jest.spyOn(w.deps.versions, 'read').mockImplementation(async (k) => {
      if (failures-- > 0) throw adminShutdown();
      return original(k);
    });
    try {
      const key = await pendingKey();
      await enqueue(r.queues, 'validate-credential', { tenantId: key.tenantId, credentialId: key.credentialId, version: 1 });
      await eventually(async () => (await statusOf(key.credentialId)) === 'ACTIVE', 20_000);
      const job = await eventually(async () => {
        const found = (await r.queues.credentials.getJob(`validate-credential-${key.credentialId}-v1`)) as Job | undefined;
        return found && (await found.getState()) === 'completed' ? found : null;
      }, 10_000);
      expect(job.attemptsMade).toBe(1);
      expect(job.data.dbDeferrals).toBe(1);
      expect(checksOf(key.secret)).toBe(1);
    } finally {
      jest.restoreAllMocks();
      await r.close();
    }
  });

  it('fails an ordinary error as before (a try used), and a connection error never stores its address', async () => {
    const r = await rig(() => false, refused);
    try {
      const spy = jest.spyOn(w.deps.versions, 'read');
      // The database answers the probe, so these are the job's own failures: tries are used.
      spy.mockImplementation(async () => {
        throw refused();
      });
      const key = await pendingKey();
      const job = await r.queues.credentials.add(
        'validate-credential',
        { tenantId: key.tenantId, credentialId: key.credentialId, version: 1 },
        { jobId: `refused-${randomUUID()}`, attempts: 1 },
      );
      await eventually(async () => (await job.getState()) === 'failed', 10_000);
      const failed = (await r.queues.credentials.getJob(job.id!)) as Job;
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toBe('connection failed (ECONNREFUSED)');
      expect(JSON.stringify(failed.stacktrace)).not.toMatch(/10\.9\.8\.7|5432/);
    } finally {
      jest.restoreAllMocks();
      await r.close();
    }
  });
});
