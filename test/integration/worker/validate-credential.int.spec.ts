import { relayOnce } from '../../../workers/relay';
import { expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
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
  w = await startTestWorkers(t);
});

afterAll(async () => {
  await w.close();
  await fake.close();
  await t.close();
});

async function relayAndWait(credentialId: string, predicate: (row: any) => boolean): Promise<any> {
  await w.relay();
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
  const moved = await relayOnce(t.app.db, w.queues);
  expect(moved).toBe(2);
  expect(await relayOnce(t.app.db, w.queues)).toBe(0);
  const job = await w.queues.credentials.getJob(`validate-credential-${id}-v1`);
  expect(job?.data).toEqual({ tenantId: tenant.id, credentialId: id, version: 1 });
  expect(JSON.stringify(job?.data)).not.toContain(secret.slice(-12));
});
