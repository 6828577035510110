import { randomUUID } from 'node:crypto';
import { createLogger } from '../../../src/logger';
import { startWorkerMetrics, type WorkerMetrics } from '../../../workers/metrics';
import { createCredential, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { letTimePass } from '../../helpers/time';
import { dropQueueNamespace, onPostgresQueues } from '../../helpers/queue-backend';
import { contractFetch } from '../../helpers/contracts';

const OPS_TOKEN = 'test-ops-readonly-token-0123456789abcdef';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ KEYPLANE_OPS_READONLY_TOKEN: OPS_TOKEN, QUEUE_PREFIX: `kp-metrics-${randomUUID().slice(0, 8)}` });
});

afterAll(async () => {
  await t?.close();
});

async function scrape(url: string, token: string | null = ADMIN_TOKEN) {
  const res = await contractFetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, text: res.text };
}

/** The value of one sample line, e.g. `keyplane_queue_jobs{queue="credentials",state="waiting"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('API /metrics', () => {
  it('needs the platform admin or ops token; tenant tokens get 403', async () => {
    const none = await scrape(t.url, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="keyplane"/);
    const { admin, viewer } = await tenantWithTokens(t);
    expect((await scrape(t.url, admin)).status).toBe(403);
    expect((await scrape(t.url, viewer)).status).toBe(403);
    expect((await scrape(t.url, OPS_TOKEN)).status).toBe(200);
  });

  it('reports queue depth per state, outbox lag, HTTP and GraphQL counters and process metrics', async () => {
    await t.gql('{ viewer { __typename } }');
    const { status, headers, text } = await scrape(t.url);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/text\/plain/);
    for (const queue of ['credentials', 'gateways', 'notifications', 'maintenance']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(sample(text, `keyplane_queue_jobs{queue="${queue}",state="${state}"}`)).toBe(0);
      }
    }
    expect(sample(text, 'keyplane_queue_metrics_up')).toBe(1);
    expect(sample(text, 'keyplane_outbox_pending')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'keyplane_outbox_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/keyplane_http_request_duration_seconds_count\{method="POST",route="\/graphql",status_code="200"\} \d+/);
    expect(text).toMatch(/keyplane_graphql_operations_total\{type="query",result="success"\} \d+/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('counts pending outbox work and its age', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const providerId = (await t.app.db.query("SELECT id FROM providers WHERE slug = 'openai'"))[0].id;
    await createCredential(t, admin, { tenantId: tenant.id, providerId });
    await t.app.db.query("UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE tenant_id = $1", [tenant.id]);
    const { text } = await scrape(t.url);
    expect(sample(text, 'keyplane_outbox_pending')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'keyplane_outbox_lag_seconds')).toBeGreaterThanOrEqual(89);
  });

  it('never carries tenant ids, object ids, names, tokens or keys', async () => {
    const { tenant, admin, adminTokenId } = await tenantWithTokens(t);
    const canaryKey = `sk-proj-canary${randomUUID().replace(/-/g, '')}`;
    const providerId = (await t.app.db.query("SELECT id FROM providers WHERE slug = 'openai'"))[0].id;
    const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: canaryKey, label: 'canary-label' });
    // Requests whose URLs and bodies hold ids, to see that none become label values.
    await t.gql('query($id: ID!) { credential(id: $id) { id } }', { id: credential.id }, admin);
    await fetch(`${t.url}/admin/queues/api/queues/credentials/${credential.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await fetch(`${t.url}/no-such-route/${tenant.id}`);
    const { text } = await scrape(t.url);
    for (const value of [tenant.id, credential.id, adminTokenId, 'canary-label', tenant.slug]) expect(text).not.toContain(value);
    const hits = scanTexts([{ where: 'metrics', text }], [canaryKey, admin, ADMIN_TOKEN, OPS_TOKEN]);
    expect(describeHits(hits)).toBe('');
    expect(text).toMatch(/route="\/admin\/queues\/api\/queues\/:queueName\/:jobId"/);
    expect(text).toMatch(/route="unmatched",status_code="404"/);
  });
});

describe('/healthz and /readyz', () => {
  // The queue check is named after the backend's engine: `redis`, or `queue` (BullMQ's schema).
  const queueCheck = onPostgresQueues ? 'queue' : 'redis';

  it('are open and ready when PostgreSQL and the queue store answer', async () => {
    expect((await contractFetch(`${t.url}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await eventually(async () => {
      const res = await contractFetch(`${t.url}/readyz`);
      return res.status === 200 ? res.body : null;
    });
    expect(ready).toEqual({ status: 'ok', checks: { postgres: 'ok', [queueCheck]: 'ok' } });
  });

  it('answers 503 quickly, naming the queue store, when it cannot serve; metrics still answer', async () => {
    // Redis: nothing listens at the address. PostgreSQL: the database answers but BullMQ's schema is gone.
    const prefix = `kp-down-${randomUUID().slice(0, 8)}`;
    const down = await startTestApp(
      onPostgresQueues
        ? { QUEUE_PREFIX: prefix, KEYPLANE_OPS_READONLY_TOKEN: OPS_TOKEN }
        : { REDIS_URL: 'redis://127.0.0.1:1', KEYPLANE_OPS_READONLY_TOKEN: OPS_TOKEN },
    );
    if (onPostgresQueues) await dropQueueNamespace(prefix);
    try {
      const started = Date.now();
      const res = await contractFetch(`${down.url}/readyz`);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'unavailable', checks: { postgres: 'ok', [queueCheck]: 'failed' } });
      expect((await contractFetch(`${down.url}/healthz`)).status).toBe(200);
      const scrapeStarted = Date.now();
      const metrics = await scrape(down.url, OPS_TOKEN);
      expect(Date.now() - scrapeStarted).toBeLessThan(1500);
      expect(metrics.status).toBe(200);
      expect(sample(metrics.text, 'keyplane_queue_metrics_up')).toBe(0);
    } finally {
      await down.close();
      // ioredis keeps a 2 s timer (disconnectTimeout) for a socket that already failed, which nothing
      // observable ends early: let it run out, so no handle outlives the test.
      await letTimePass(2100);
    }
  });
});

describe('worker /metrics', () => {
  let fake: FakeProvider;
  let w: TestWorkers;
  let m: WorkerMetrics;

  beforeAll(async () => {
    fake = await startFakeProvider();
    w = await startTestWorkers(t);
    m = await startWorkerMetrics({ port: 0, host: '127.0.0.1', workers: w.workers, queues: w.queues, log: createLogger('silent') });
  });

  afterAll(async () => {
    await m?.close();
    await w?.close();
    await fake?.close();
  });

  it('times jobs and counts validation outcomes, with bounded labels only', async () => {
    const provider = await expectOk<any>(
      t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
        input: {
          slug: uniqueSlug('fake'),
          name: 'Fake OpenAI',
          baseUrl: fake.baseUrl,
          authScheme: 'BEARER',
          apiShape: 'OPENAI',
          keyPrefixes: ['sk-proj-'],
          keyPattern: '^sk-',
        },
      }),
      'upsertProvider',
    );
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.allow(secret);
    const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId: provider.provider.id, secret });
    await w.relay();
    const url = `http://127.0.0.1:${m.port}`;
    const text = await eventually(async () => {
      const body = await (await fetch(`${url}/metrics`)).text();
      return /keyplane_validation_outcomes_total\{outcome="VALID"\} 1/.test(body) ? body : null;
    }, 10_000);
    expect(text).toMatch(/keyplane_job_duration_seconds_count\{queue="credentials",name="validate-credential",result="completed"\} 1/);
    expect(text).toMatch(/keyplane_job_duration_seconds_bucket\{le="\+Inf",queue="credentials",name="validate-credential",result="completed"\} 1/);
    expect(text).toMatch(/keyplane_queue_jobs\{queue="credentials",state="completed"\} \d+/);
    expect(text).toContain('keyplane_webhook_results_total');
    for (const value of [tenant.id, credential.id]) expect(text).not.toContain(value);
    expect(describeHits(scanTexts([{ where: 'worker metrics', text }], [secret, admin]))).toBe('');
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${url}/anything-else`)).status).toBe(404);
  });
});
