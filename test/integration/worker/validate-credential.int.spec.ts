import { relayOnce } from '../../../workers/relay';
import { createCredential, expectOk, openaiKey, tenantWithTokens } from '../../factories';
import { rotateCredential } from '../../factories/credentials';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { createFakeOpenAIProvider } from '../../factories/providers';

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t);
});

afterAll(async () => {
  await w.close();
  await fake.close();
  await t.close();
});

async function relayAndWait(credentialId: string, predicate: (row: any) => boolean): Promise<any> {
  return eventually(async () => {
    // Outcomes can queue follow-up work (a re-check after a rejected rotation): keep relaying.
    await w.relay();
    const [row] = await t.app.db.query('SELECT * FROM credentials WHERE id = $1', [credentialId]);
    return predicate(row) ? row : null;
  }, 10_000);
}

async function create(token: string, tenantId: string, secret: string) {
  return (await createCredential(t, token, { tenantId, providerId, secret })).id;
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
  await rotateCredential(t, admin, id);
  const row = await relayAndWait(id, (r) => r.status !== 'PENDING_VALIDATION');
  // The rejected key is dropped and the serving key is checked again, which decides the status.
  expect(row).toMatchObject({ status: 'ACTIVE', current_version: 1, latest_version: 2, last_validation_outcome: 'VALID' });
  const versions = await t.app.db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1 ORDER BY version', [id]);
  expect(versions).toEqual([
    { version: 1, state: 'ACTIVE' },
    { version: 2, state: 'REJECTED' },
  ]);
});

it('a rejected rotation of a key that stopped working leaves the credential INVALID, not ACTIVE', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const old = openaiKey();
  fake.allow(old);
  const id = await create(admin, tenant.id, old);
  await relayAndWait(id, (r) => r.status === 'ACTIVE');
  fake.reset(); // the old key is no longer accepted by the provider
  await t.app.db.query(`UPDATE credentials SET status = 'INVALID' WHERE id = $1`, [id]);
  const rotateByBefore = (await t.app.db.query('SELECT rotate_by FROM credentials WHERE id = $1', [id]))[0].rotate_by;
  await rotateCredential(t, admin, id);
  const row = await relayAndWait(id, (r) => r.status !== 'PENDING_VALIDATION');
  expect(row).toMatchObject({ status: 'INVALID', current_version: 1, latest_version: 2 });
  // A rejected key does not restart the rotation clock of the key still in place.
  expect(row.rotate_by).toEqual(rotateByBefore);
});

it('staged rotation: a working new key becomes active and the old one stays as PREVIOUS', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const [first, second] = [openaiKey(), openaiKey()];
  fake.allow(first);
  fake.allow(second);
  const id = await create(admin, tenant.id, first);
  await relayAndWait(id, (r) => r.status === 'ACTIVE');
  await rotateCredential(t, admin, id, second);
  const row = await relayAndWait(id, (r) => r.current_version === 2);
  expect(row.status).toBe('ACTIVE');
  const versions = await t.app.db.query('SELECT version, state FROM credential_versions WHERE credential_id = $1 ORDER BY version', [id]);
  expect(versions).toEqual([
    { version: 1, state: 'PREVIOUS' },
    { version: 2, state: 'ACTIVE' },
  ]);
});

it('relays each outbox row once and leaves only ids in Redis job data', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const id = await create(admin, tenant.id, secret);
  const moved = await relayOnce(t.app.db, w.queues);
  expect(moved).toBe(1); // the validation; the duplicate check is queued only once the key validated
  expect(await relayOnce(t.app.db, w.queues)).toBe(0);
  const job = await w.queues.credentials.getJob(`validate-credential-${id}-v1`);
  expect(job?.data).toEqual({ tenantId: tenant.id, credentialId: id, version: 1 });
  expect(JSON.stringify(job?.data)).not.toContain(secret.slice(-12));
});

it('revalidateCredential checks the serving key again now: a key that stopped working becomes INVALID', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const id = await create(admin, tenant.id, secret);
  await relayAndWait(id, (r) => r.status === 'ACTIVE');
  fake.reset(); // the provider no longer accepts the key
  const res = await expectOk<any>(
    t.gql(
      'mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { credential { id status } userErrors { code } } }',
      { input: { id } },
      admin,
    ),
    'revalidateCredential',
  );
  expect(res.credential).toEqual({ id, status: 'ACTIVE' });
  const audit = await t.app.db.query(`SELECT details FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_VALIDATION_REQUESTED'`, [id]);
  expect(audit).toEqual([
    {
      details: {
        versions: [1],
        redactedKey: expect.stringMatching(/^sk-proj-…/),
        keyRefs: [{ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 }],
      },
    },
  ]);
  const row = await relayAndWait(id, (r) => r.status === 'INVALID');
  expect(row).toMatchObject({ current_version: 1, last_validation_outcome: 'INVALID' });
  // A second request is a separate check, not swallowed by the first job's id.
  await expectOk(
    t.gql('mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { userErrors { code } } }', { input: { id } }, admin),
    'revalidateCredential',
  );
  const before = fake.requests.length;
  await relayAndWait(id, () => fake.requests.length > before);
});
