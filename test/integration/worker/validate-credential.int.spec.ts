import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { createRedis } from '../../../src/queue/connection';
import { closeQueues, createQueues, type Queues } from '../../../src/queue/queues';
import { createLogger } from '../../../src/logger';
import { relayOnce } from '../../../workers/relay';
import { startWorkers } from '../../../workers/worker';
import { expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
let fake: FakeProvider;
let queues: Queues;
let workers: Worker[];
const prefix = `kp-test-${randomUUID().slice(0, 8)}`;
const producer = createRedis('redis://127.0.0.1:6379', 'producer');
const workerRedis = createRedis('redis://127.0.0.1:6379', 'worker');
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  // A custom OpenAI-shaped provider on the fake server, so the built-in catalog stays untouched.
  const res = await expectOk<any>(
    t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
      input: { slug: uniqueSlug('fake'), name: 'Fake OpenAI', baseUrl: fake.baseUrl, authScheme: 'BEARER', apiShape: 'OPENAI', keyPrefixes: ['sk-proj-'], keyPattern: '^sk-' },
    }),
    'upsertProvider',
  );
  providerId = res.provider.id;
  // Work queued by other suites in this database is not this suite's to run.
  await t.app.db.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  queues = createQueues(producer, prefix);
  workers = startWorkers(workerRedis, { db: t.app.db, box: t.app.services.box, timeoutMs: 1000 }, createLogger('silent'), { prefix });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true })));
  await closeQueues(queues);
  producer.disconnect();
  workerRedis.disconnect();
  await fake.close();
  await t.close();
});

async function relayAndWait(credentialId: string, predicate: (row: any) => boolean): Promise<any> {
  await relayOnce(t.app.db, queues);
  for (let i = 0; i < 100; i++) {
    const [row] = await t.app.db.query('SELECT * FROM credentials WHERE id = $1', [credentialId]);
    if (predicate(row)) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('credential never reached the expected state');
}

async function create(token: string, tenantId: string, secret: string) {
  const res = await expectOk<any>(
    t.gql('mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }', {
      input: { tenantId, providerId, label: uniqueSlug('k'), secret },
    }, token),
    'createCredential',
  );
  return res.credential.id as string;
}

it('a valid new key becomes ACTIVE with its models recorded', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret, ['gpt-test-1', 'gpt-test-2']);
  const id = await create(admin, tenant.id, secret);
  const row = await relayAndWait(id, (r) => r.status !== 'PENDING_VALIDATION');
  expect(row).toMatchObject({ status: 'ACTIVE', current_version: 1, last_validation_outcome: 'VALID' });
  expect(row.last_validation_models).toEqual(['gpt-test-1', 'gpt-test-2']);
});

it('an invalid new key is marked INVALID and never becomes active', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const id = await create(admin, tenant.id, openaiKey());
  const row = await relayAndWait(id, (r) => r.status !== 'PENDING_VALIDATION');
  expect(row).toMatchObject({ status: 'INVALID', current_version: null, last_validation_outcome: 'INVALID' });
});

it('staged rotation: a failing new key keeps the old one serving', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const good = openaiKey();
  fake.allow(good);
  const id = await create(admin, tenant.id, good);
  await relayAndWait(id, (r) => r.status === 'ACTIVE');
  await expectOk(
    t.gql('mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { userErrors { code } } }', { input: { id, secret: openaiKey() } }, admin),
    'rotateCredential',
  );
  const row = await relayAndWait(id, (r) => r.status !== 'PENDING_VALIDATION');
  expect(row).toMatchObject({ status: 'ACTIVE', current_version: 1, latest_version: 2, last_validation_outcome: 'INVALID' });
  const versions = await t.app.db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1 ORDER BY version', [id]);
  expect(versions).toEqual([{ version: 1, state: 'ACTIVE' }, { version: 2, state: 'REJECTED' }]);
});

it('staged rotation: a working new key becomes active and the old one stays as PREVIOUS', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const [first, second] = [openaiKey(), openaiKey()];
  fake.allow(first);
  fake.allow(second);
  const id = await create(admin, tenant.id, first);
  await relayAndWait(id, (r) => r.status === 'ACTIVE');
  await expectOk(
    t.gql('mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { userErrors { code } } }', { input: { id, secret: second } }, admin),
    'rotateCredential',
  );
  const row = await relayAndWait(id, (r) => r.current_version === 2);
  expect(row.status).toBe('ACTIVE');
  const versions = await t.app.db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1 ORDER BY version', [id]);
  expect(versions).toEqual([{ version: 1, state: 'PREVIOUS' }, { version: 2, state: 'ACTIVE' }]);
});

it('relays each outbox row once and leaves only ids in Redis job data', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const id = await create(admin, tenant.id, secret);
  const moved = await relayOnce(t.app.db, queues);
  expect(moved).toBe(2);
  expect(await relayOnce(t.app.db, queues)).toBe(0);
  const job = await queues.credentials.getJob(`validate-credential-${id}-v1`);
  expect(job?.data).toEqual({ tenantId: tenant.id, credentialId: id, version: 1 });
  expect(JSON.stringify(job?.data)).not.toContain(secret.slice(-12));
});
