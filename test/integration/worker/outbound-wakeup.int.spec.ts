import { createCredential, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/**
 * A job put back for want of a slot waits for a freed slot, not for its timer (issue 10, the bulk
 * validation regression): one tenant's key checks, one slot for the tenant, and a put-back timer of
 * 20-60 s. Through the real processor and worker on the backend under test, every check finishes
 * in seconds only because each release wakes (promotes) the oldest job waiting for that slot.
 */
const KEYS = 8;

let t: TestApp;
let w: TestWorkers;
let fake: FakeProvider;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  w = await startTestWorkers(t, {
    concurrency: 4,
    env: { OUTBOUND_PROVIDER_MAX_PER_TENANT: '1', OUTBOUND_DEFER_MS: '40000' },
  });
});
afterAll(async () => {
  await w?.close();
  await fake?.close();
  await t?.close();
});

const metric = async (name: string, labels: Record<string, string>) =>
  (await w.metrics.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

it("runs one tenant's checks back to back through a one-slot limit, each woken by the release before it", async () => {
  const A = await tenantWithTokens(t);
  const providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  const ids: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const secret = openaiKey();
    fake.allow(secret);
    ids.push((await createCredential(t, A.admin, { tenantId: A.tenant.id, providerId, secret })).id);
  }
  const started = Date.now();
  await eventually(async () => {
    await w.relay();
    const rows = await t.app.db.query("SELECT count(*)::int AS n FROM credentials WHERE id = ANY($1) AND status = 'ACTIVE'", [ids]);
    return rows[0].n === KEYS;
  }, 15_000);
  // The shortest put-back timer is 20 s (40 s x0.5 jitter): anything faster was a wake-up.
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(await metric('keyplane_outbound_putbacks_total', { pool: 'provider', reason: 'TENANT' })).toBeGreaterThan(0);
  expect(await metric('keyplane_outbound_wakeups_total', { pool: 'provider' })).toBeGreaterThan(0);
  // Waiting was no try: every check took one attempt of its own.
  const jobs = await Promise.all(ids.map((id) => w.queues.credentials.getJob(`validate-credential-${id}-v1`)));
  for (const job of jobs) if (job) expect(job.attemptsMade).toBeLessThanOrEqual(1);
}, 60_000);
