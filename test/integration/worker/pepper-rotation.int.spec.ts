import type { Job } from 'bullmq';
import { parsePepperRing, SecretBox, parseKeyring } from '../../../src/crypto';
import { createLogger } from '../../../src/logger';
import { pepperVersionsInUse } from '../../../src/modules/alert/pepper-remap';
import { assertKeyCustody, KeyCustodyError } from '../../../src/modules/key-custody/startup-check';
import { JOBS } from '../../../src/queue/registry';
import { fingerprintRekey } from '../../../workers/processors/fingerprint-rekey.processor';
import { createCredential, expectOk, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { settleChecks } from '../../helpers/settle-checks';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * Fingerprint pepper rotation (issue 15 item 4): a key stored before the rotation, the same key
 * added during it (before the rekey job ran) and after it are all one duplicate group; the rekey
 * moves every stored fingerprint to the current version; the start-up check refuses a ring that
 * lacks a version still in use. At the end every fingerprint is moved back to version 1, so later
 * suites (which run with the plain pepper) start.
 */

const P1 = TEST_ENV.KEYPLANE_FINGERPRINT_KEY;
const P2 = 'second-test-pepper-for-rotation-0123456789';
const RING = `1:${P1},2:${P2}`;

let fake: FakeProvider;
let providerId: string;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

const job = <T>(data: T, id: string) => ({ data, id, attemptsMade: 0, opts: {}, updateProgress: async () => undefined }) as unknown as Job<T>;

async function phase(env: Record<string, string>, run: (t: TestApp, w: TestWorkers) => Promise<void>): Promise<void> {
  const t = await startTestApp(env);
  const w = await startTestWorkers(t, { env });
  try {
    await run(t, w);
  } finally {
    await w.close();
    await t.close();
  }
}

function key(): string {
  const secret = openaiKey();
  fake.allow(secret);
  return secret;
}

async function add(t: TestApp, w: TestWorkers, who: { admin: string; tenant: { id: string } }, secret: string): Promise<string> {
  const id = (await createCredential(t, who.admin, { tenantId: who.tenant.id, providerId, secret })).id;
  await settleChecks(w, [[id, 1]]);
  return id;
}

const pepperOf = async (t: TestApp, credentialId: string): Promise<number> =>
  (await t.app.db.query('SELECT pepper_version FROM credential_versions WHERE credential_id = $1', [credentialId]))[0].pepper_version;
const alertsOf = (t: TestApp, credentialId: string) =>
  t.app.db.query('SELECT scope, status, pepper_version FROM key_reuse_alerts WHERE credential_id = $1 ORDER BY scope', [credentialId]);

it('a key stored before, during and after a pepper rotation is one duplicate group; the rekey moves every fingerprint', async () => {
  const K = key(); // stored before, added again during and after the rotation
  const L = key(); // stored before, added again only after the rekey
  const ids: Record<string, string> = {};
  let A!: Awaited<ReturnType<typeof tenantWithTokens>>;
  let B!: typeof A;
  let C!: typeof A;

  // Before: the plain pepper (version 1), as every deployment before rotation existed.
  await phase({}, async (t, w) => {
    providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
    [A, B, C] = [await tenantWithTokens(t), await tenantWithTokens(t), await tenantWithTokens(t)];
    ids.before = await add(t, w, A, K);
    ids.lBefore = await add(t, w, A, L);
    expect(await pepperOf(t, ids.before)).toBe(1);
    expect(await alertsOf(t, ids.before)).toEqual([]);
  });

  // During: version 2 is current, nothing rekeyed yet. The same key in tenant B is caught.
  await phase({ KEYPLANE_FINGERPRINT_KEY: RING }, async (t, w) => {
    ids.during = await add(t, w, B, K);
    expect(await pepperOf(t, ids.during)).toBe(2);
    for (const id of [ids.before, ids.during]) {
      expect(await alertsOf(t, id)).toEqual([{ scope: 'OTHER_TENANT', status: 'OPEN', pepper_version: 2 }]);
    }
    // The older holder moved to the current pepper with its group; L has not.
    expect(await pepperOf(t, ids.before)).toBe(2);
    expect(await pepperOf(t, ids.lBefore)).toBe(1);

    // Custody shows both versions; the rekey (platform admin) moves the rest.
    const custody = await expectOk<any>(
      t.gql('{ keyCustody { currentPepperVersion pepperVersions { version current inKeyring records } } }'),
      'keyCustody',
    );
    expect(custody.currentPepperVersion).toBe(2);
    expect(custody.pepperVersions.find((v: any) => v.version === 1)).toEqual(expect.objectContaining({ current: false, inKeyring: true }));
    expect(custody.pepperVersions.find((v: any) => v.version === 1).records).toBeGreaterThan(0);

    const started = await expectOk<any>(
      t.gql('mutation { startPepperRekey(input: { reason: "rotate the pepper" }) { jobId userErrors { code } } }'),
      'startPepperRekey',
    );
    const jobId: string = started.jobId;
    expect(jobId).toMatch(/^fingerprint-rekey-\d+$/);
    expect((await expectOk<any>(t.gql('query($id: ID!) { pepperRekey(jobId: $id) { state } }', { id: jobId }), 'pepperRekey')).state).toBe('QUEUED');
    // The test workers run under a queue prefix of their own: the job's progress is read there.
    const done = await eventually(async () => {
      await w.relay();
      const job = await w.queues[JOBS['fingerprint-rekey'].queue].getJob(jobId);
      return job && (await job.getState()) === 'completed' && job;
    }, 20_000);
    // Keys that do not open (other suites leave tampered rows) stay under their version, counted.
    const result = done.returnvalue as { processed: number; failed: number; left: number };
    expect(result.processed).toBeGreaterThan(0);
    expect(result.left).toBe(result.failed);
    expect(done.progress).toEqual(expect.objectContaining({ failed: result.failed }));
    expect(await pepperOf(t, ids.lBefore)).toBe(2);
    const audit = await t.app.db.query(`SELECT action, details FROM audit_events WHERE target_id = $1 ORDER BY created_at`, [jobId]);
    expect(audit.map((a: any) => a.action)).toEqual(['PEPPER_REKEY_STARTED', 'PEPPER_REKEY_FINISHED']);

    // A ring without version 2 no longer starts: the check names the version and the count.
    const err = await assertKeyCustody(t.app.db, new SecretBox(parseKeyring(TEST_ENV.KEYPLANE_MASTER_KEYS)), createLogger('silent'), {
      fingerprinter: parsePepperRing(P1),
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyCustodyError);
    expect((err as Error).message).toMatch(/KEYPLANE_FINGERPRINT_KEY lacks pepper version\(s\) 2,.*credential_versions \d+/);
    expect((err as Error).message).not.toContain(P1);
    expect((err as Error).message).not.toContain(P2);
  });

  // After the rekey (version 1 stays in the ring while anything still uses it). K and L in tenant C are caught.
  await phase({ KEYPLANE_FINGERPRINT_KEY: RING }, async (t, w) => {
    ids.after = await add(t, w, C, K);
    ids.lAfter = await add(t, w, C, L);
    for (const id of [ids.before, ids.during, ids.after, ids.lBefore, ids.lAfter]) {
      expect(await alertsOf(t, id)).toEqual([{ scope: 'OTHER_TENANT', status: 'OPEN', pepper_version: 2 }]);
    }
    // A tenant still sees only its own alert, never who else holds the key.
    const mine = await expectOk<any>(
      t.gql('query($id: ID!) { keyReuseAlerts(tenantId: $id) { nodes { credential { id } scope } } }', { id: C.tenant.id }, C.admin),
      'keyReuseAlerts',
    );
    expect(mine.nodes.map((n: any) => n.credential.id).sort()).toEqual([ids.after, ids.lAfter].sort());

    // Back to version 1 for the suites that follow (and a rotation the other way round).
    const back = await startTestWorkers(t, { env: { KEYPLANE_FINGERPRINT_KEY: RING, KEYPLANE_FINGERPRINT_KEY_CURRENT: '1' } });
    try {
      const deps = { ...back.deps, fingerprinter: parsePepperRing(RING, 1) };
      const result = await fingerprintRekey(deps, job({ requestedAt: new Date().toISOString() }, 'fingerprint-rekey-1'));
      expect(result.failed).toBe(0);
    } finally {
      await back.close();
    }
    expect(await pepperVersionsInUse(t.app.db)).toEqual([1]);
    for (const id of [ids.before, ids.during, ids.after, ids.lAfter]) expect(await pepperOf(t, id)).toBe(1);
    for (const id of [ids.before, ids.during, ids.after]) {
      expect(await alertsOf(t, id)).toEqual([{ scope: 'OTHER_TENANT', status: 'OPEN', pepper_version: 1 }]);
    }
  });
});
