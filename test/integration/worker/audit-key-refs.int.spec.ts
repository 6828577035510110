import { createCredential, openaiKey, tenantWithTokens } from '../../factories';
import { revokeCredential, rotateCredential } from '../../factories/credentials';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/*
 * Issue 16 items 5 and 6 through the real worker: one keyRef follows a key from create through
 * its first check (activation), a rotation that validates, a rejected rotation and revocation; the
 * worker writes one line per job run; a canary key appears in no log line and no audit row.
 */

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, { captureLogs: true });
});

afterAll(async () => {
  await w.close();
  await fake.close();
  await t.close();
});

type Row = { action: string; details: { keyRefs?: { ref: string | null; version: number }[] } };
const trail = (tenantId: string, credentialId: string): Promise<Row[]> =>
  t.app.db.query(`SELECT action, details FROM audit_events WHERE tenant_id = $1 AND target_id = $2 ORDER BY seq`, [tenantId, credentialId]);

async function until(tenantId: string, credentialId: string, action: string, count = 1): Promise<Row[]> {
  return eventually(async () => {
    await w.relay();
    const rows = await trail(tenantId, credentialId);
    return rows.filter((r) => r.action === action).length >= count ? rows : null;
  }, 10_000);
}

it('one keyRef per key across create, activation, rotation, rejection and revocation', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const first = openaiKey();
  const second = openaiKey();
  const rejected = openaiKey();
  fake.allow(first);
  fake.allow(second);
  const from = w.logs.length;
  const { id } = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: first });
  await until(tenant.id, id, 'CREDENTIAL_VERSION_ACTIVATED');
  await rotateCredential(t, admin, id, second);
  await until(tenant.id, id, 'CREDENTIAL_VERSION_ACTIVATED', 2);
  await rotateCredential(t, admin, id, rejected); // the fake provider does not know it: INVALID
  await until(tenant.id, id, 'CREDENTIAL_VERSION_REJECTED');
  await revokeCredential(t, admin, id);

  const rows = await trail(tenant.id, id);
  const refs = (action: string, n = 0) => rows.filter((r) => r.action === action)[n].details.keyRefs;
  const [v1] = refs('CREDENTIAL_CREATED')!;
  expect(v1).toEqual({ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 });
  expect(refs('CREDENTIAL_VERSION_ACTIVATED', 0)).toEqual([v1]);
  const [v2, replaced] = refs('CREDENTIAL_ROTATED', 0)!;
  expect(replaced).toEqual(v1);
  expect(v2.version).toBe(2);
  expect(refs('CREDENTIAL_VERSION_ACTIVATED', 1)).toEqual([v2]);
  const [v3] = refs('CREDENTIAL_ROTATED', 1)!;
  expect(refs('CREDENTIAL_VERSION_REJECTED')).toEqual([v3]);
  expect(new Set([v1.ref, v2.ref, v3.ref]).size).toBe(3);
  // Revocation names every version's reference, though their material is gone by then.
  expect(refs('CREDENTIAL_REVOKED')).toEqual([v1, v2, v3]);

  // The chain still verifies with the new details (they are part of the hashed row).
  expect((await t.app.services.auditIntegrity.verify(tenant.id)).ok).toBe(true);

  // Job log lines: queue, job id, outcome, duration, attempt, stall recovery; never a key.
  const jobs = w.logs
    .slice(from)
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'job completed');
  const validations = jobs.filter((l) => l.job === 'validate-credential');
  expect(validations.length).toBeGreaterThanOrEqual(3);
  expect(validations[0]).toMatchObject({
    queue: expect.any(String),
    jobId: expect.any(String),
    outcome: 'completed',
    durationMs: expect.any(Number),
    attempt: 1,
    stallRecovered: false,
  });
  const text = [...w.logs.slice(from), ...t.logs].join('');
  const stored = JSON.stringify(await t.app.db.query('SELECT * FROM audit_events WHERE tenant_id = $1', [tenant.id]));
  const hits = scanTexts(
    [
      { where: 'worker and API log lines', text },
      { where: 'audit rows', text: stored },
    ],
    [first, second, rejected, admin],
  );
  expect(describeHits(hits)).toBe('');
});
