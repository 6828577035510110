import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createCredential, createGateway, createTenant, expectOk, openaiKey, tenantWithTokens } from '../factories';
import { describeHits, dumpDatabase, scanTexts } from '../helpers/leak-scan';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess, type KeyplaneProcess } from '../helpers/processes';
import { JOBS, type JobName, type JobPayloads } from '../../src/queue/registry';
import { PROCESSORS } from '../../workers/processors';
import {
  asTestApp,
  credentialRow,
  dumpRedis,
  fakeProviderVia,
  openDb,
  queueEnv,
  queuesOn,
  settled,
  settleForeignOutbox,
  startCapture,
  tenantSnapshot,
  uniquePrefix,
  waitFor,
  type Capture,
} from './e2e-support';
import { attachCredential, revokeCredential, rotateCredential } from '../factories/credentials';
import { dropQueueNamespace, onPostgresQueues, prepareQueueNamespace } from '../helpers/queue-backend';
import { queueSchemaOf } from '../../src/config-values';

/*
 * What the queue holds and what the processes print, with the real API and worker processes:
 * - job data is clear text in the queue store (Redis, or BullMQ's tables on PostgreSQL), so anyone
 *   who can write there can forge a job. A job naming
 *   one tenant and another tenant's object must do nothing: processors scope reads by the job's tenant;
 * - the canary scan extended past the database: every Redis key and value, or every row of BullMQ's
 *   schema (job data, return values, failure reasons, event logs), every line the API and worker
 *   printed, and webhook bodies.
 */
/** null on the postgres queue backend: the processes then use no Redis at all. */
let redis: PrivateRedis | null;
let db: DataSource;
let api: ApiProcess;
let fake: FakeProvider;
let hooks: Capture;
let providerId: string;
let worker: KeyplaneProcess;
const prefix = uniquePrefix();

beforeAll(async () => {
  [redis, db, fake, hooks] = await Promise.all([onPostgresQueues ? null : startPrivateRedis(), openDb(), startFakeProvider(), startCapture()]);
  await settleForeignOutbox(db);
  const env = await queueEnv(prefix, redis?.url ?? null);
  [api, worker] = await Promise.all([startApiProcess(env), startWorkerProcess(env)]);
  providerId = await fakeProviderVia(api, fake);
}, 60_000);

afterAll(async () => {
  await killAllProcesses();
  await killAllPrivateRedis();
  await Promise.all([fake?.close(), hooks?.close()]);
  await db?.destroy();
});

it('a job naming tenant B and tenant A objects has no effect', async () => {
  const t = asTestApp(api);
  const a = await tenantWithTokens(t);
  const b = await createTenant(t);
  const secret = openaiKey();
  fake.allow(secret);
  const credential = await createCredential(t, a.admin, { tenantId: a.tenant.id, providerId, secret });
  const gw = await createGateway(t, a.admin, a.tenant.id, { webhookUrl: hooks.url });
  await attachCredential(t, a.admin, { gatewayId: gw.gateway.id, credentialId: credential.id });
  await waitFor('the credential to become ACTIVE', async () => (await credentialRow(db, credential.id)).status === 'ACTIVE');

  const q = queuesOn(redis?.url ?? null, prefix);
  try {
    await settled(q.queues, db);
    const [{ config_version: configVersion }] = await db.query('SELECT config_version FROM gateways WHERE id = $1', [gw.gateway.id]);
    const [delivery] = await db.query('SELECT id FROM webhook_deliveries WHERE tenant_id = $1 LIMIT 1', [a.tenant.id]);
    const before = await tenantSnapshot(db, [a.tenant.id, b.id]);
    const [requestsBefore, hooksBefore] = [fake.requests.length, hooks.received.length];

    const forged: { [N in JobName]?: JobPayloads[N] } = {
      'validate-credential': { tenantId: b.id, credentialId: credential.id, version: 1 },
      'fingerprint-credential': { tenantId: b.id, credentialId: credential.id, version: 1 },
      'gateway-reload': { tenantId: b.id, gatewayId: gw.gateway.id, configVersion, reason: 'CREDENTIAL_ATTACHED' },
      // Only when tenant A has a stored delivery to point at.
      ...(delivery ? { 'deliver-webhook': { tenantId: b.id, deliveryId: delivery.id, replay: 1 } } : {}),
    };
    // Ids of their own: the real jobs' deterministic ids already exist and would make these no-ops.
    // Jobs whose processor is not written yet (null) are not forged: nothing would run them.
    const ids = new Map<JobName, string>();
    const runnable = (Object.entries(forged) as [JobName, object][]).filter(([name]) => PROCESSORS[name]);
    expect(runnable.map(([name]) => name)).toContain('validate-credential');
    for (const [name, payload] of runnable) {
      const id = `forged-${name}-${randomUUID()}`;
      ids.set(name, id);
      await q.queues[JOBS[name].queue].add(name, payload, { jobId: id });
    }
    // Each forged job has had its first (or only) attempt.
    const fetchForged = () => Promise.all([...ids].map(([name, id]) => q.queues[JOBS[name].queue].getJob(id)));
    await waitFor('the forged jobs to run', async () => (await fetchForged()).every((j) => j && (j.finishedOn || j.attemptsMade > 0)));
    await settled(q.queues, db);
    const jobs = (await fetchForged()).map((j) => j!);

    const validate = jobs.find((j) => j.name === 'validate-credential')!;
    expect(await validate.getState()).toBe('failed');
    expect(validate.failedReason).toBe('stale or foreign job: nothing to validate');
    expect(validate.attemptsMade).toBe(1); // UnrecoverableError: no retries
    for (const job of jobs) {
      // Failing for good or completing as a no-op are both fine; retrying something foreign is not.
      expect([job.name, await job.getState()]).toEqual([job.name, expect.stringMatching(/^(completed|failed)$/)]);
    }
    // Nothing changed but the security events, written to the owner's (A's) trail, never B's.
    const after = await tenantSnapshot(db, [a.tenant.id, b.id]);
    const events = after.audit_events.map((j) => JSON.parse(j)).filter((e) => e.action === 'SECURITY_FORGED_JOB');
    after.audit_events = after.audit_events.filter((j) => JSON.parse(j).action !== 'SECURITY_FORGED_JOB');
    expect(after).toEqual(before);
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const e of events)
      expect({ tenant: e.tenant_id, jobId: [...ids.values()].includes(e.details.jobId) }).toEqual({ tenant: a.tenant.id, jobId: true });
    expect(events.map((e) => e.details.job)).toContain('validate-credential');
    expect(fake.requests.length).toBe(requestsBefore);
    expect(hooks.received.length).toBe(hooksBefore);
  } finally {
    await q.close();
  }
}, 45_000);

describe('canary keys never reach the queue store, process output or webhooks', () => {
  const alnum = (n: number) =>
    randomBytes(n * 2)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, n);
  const canaries: string[] = [];
  const canary = (n: number) => {
    const value = `sk-proj-CANARY${n}x${alnum(40)}`;
    canaries.push(value);
    return value;
  };
  const current = (id: string, version: number) => async () => {
    const r = await credentialRow(db, id);
    return r.current_version === version && r.status === 'ACTIVE' && r;
  };

  it('runs the secret paths through the queue, then scans everything', async () => {
    const t = asTestApp(api);
    const { tenant, admin, viewer } = await tenantWithTokens(t);
    const other = await createTenant(t);
    const otherSecrets: string[] = [admin, viewer];

    // 1. create (check passes), rotate (first check fails transiently, with the key in the provider's
    //    answer, and is retried), revoke
    const [c1, c2] = [canary(1), canary(2)];
    fake.allow(c1);
    fake.script(c2, { status: 503, body: { error: { message: `upstream failed for ${c2}` } } });
    fake.allow(c2);
    const first = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: c1, label: 'canary' });
    await waitFor('v1 ACTIVE', current(first.id, 1));
    await rotateCredential(t, admin, first.id, c2);
    await waitFor('v2 ACTIVE after a retry', current(first.id, 2), 20_000);
    await revokeCredential(t, admin, first.id);

    // 2. another key left active, attached to a gateway that gets signed reload webhooks
    const c3 = canary(3);
    fake.allow(c3);
    const live = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: c3, label: 'live' });
    await waitFor('the live key ACTIVE', current(live.id, 1));
    const gw = await createGateway(t, admin, tenant.id, { webhookUrl: hooks.url });
    otherSecrets.push(gw.gatewayKey, gw.signingSecret);
    await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: live.id });

    // 3. a key the provider rejects, echoing the whole key back in its 401
    const c4 = canary(4);
    fake.script(c4, { status: 401, body: { error: { message: `Incorrect API key provided: ${c4}`, code: 'invalid_api_key' } } });
    const rejected = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: c4, label: 'rejected' });
    await waitFor('the rejected key INVALID', async () => (await credentialRow(db, rejected.id)).status === 'INVALID');

    // 4. testProviderKey through the API process (never stored, never queued)
    const tested = await expectOk<any>(
      t.gql(
        'mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) { result { outcome } userErrors { code } } }',
        {
          input: { providerId, secret: canary(5) },
        },
        admin,
      ),
      'testProviderKey',
    );
    expect(tested.result.outcome).toBe('INVALID');

    // 5. jobs forced to end without work: a foreign tenant (fails), a version that does not exist (skipped)
    const q = queuesOn(redis?.url ?? null, prefix);
    try {
      await q.queues.credentials.add(
        'validate-credential',
        { tenantId: other.id, credentialId: live.id, version: 1 },
        { jobId: `forced-foreign-${live.id}` },
      );
      await q.queues.credentials.add(
        'validate-credential',
        { tenantId: tenant.id, credentialId: live.id, version: 7 },
        { jobId: `forced-stale-${live.id}` },
      );
      await settled(q.queues, db, 20_000);
      const forced = await Promise.all([`forced-foreign-${live.id}`, `forced-stale-${live.id}`].map((id) => q.queues.credentials.getJob(id)));
      // The foreign one fails for good; the stale one (a version that never existed) completes as skipped.
      expect(await Promise.all(forced.map((j) => j!.getState()))).toEqual(['failed', 'completed']);
      expect(forced[1]!.returnvalue).toEqual({ skipped: 'STALE', reason: 'nothing to validate' });
    } finally {
      await q.close();
    }
    if (PROCESSORS['gateway-reload']) {
      await waitFor('the reload webhook', () => hooks.received.some((r) => r.body.includes(gw.gateway.id)));
    }

    // The dump really holds the queue: job data, a return value, failure reasons, event logs.
    const redisDump = onPostgresQueues ? await dumpDatabase(db, [queueSchemaOf(prefix)]) : await dumpRedis(redis!.url);
    const dumpText = redisDump.map((s) => s.text).join('\n');
    for (const id of [first.id, live.id, rejected.id]) expect(dumpText).toContain(id);
    if (onPostgresQueues) {
      expect(dumpText).toMatch(/"return_value":\{"outcome": ?"VALID"\}/);
      expect(dumpText).toMatch(/"failed_reason":"[^"]*PROVIDER_UNAVAILABLE/);
      expect(dumpText).toMatch(/"failed_reason":"stale or foreign job/);
      expect(redisDump.some((s) => /^table [a-z0-9_]+_queues\.event /.test(s.where))).toBe(true);
    } else {
      expect(dumpText).toMatch(/returnvalue=\{"outcome":"VALID"\}/);
      expect(dumpText).toMatch(/failedReason=[^\n]*PROVIDER_UNAVAILABLE/);
      expect(dumpText).toMatch(/failedReason=stale or foreign job/);
      expect(redisDump.some((s) => /^redis stream .*:events /.test(s.where))).toBe(true);
    }
    // And the worker logged its failures.
    expect(worker.lines.some((l) => /"msg":"job failed"/.test(l))).toBe(true);

    const everywhere = [...canaries, ...otherSecrets];
    const sources = [
      ...redisDump,
      ...worker.lines.map((text, i) => ({ where: `worker output line ${i}`, text })),
      ...api.lines.map((text, i) => ({ where: `api output line ${i}`, text })),
      ...hooks.received.map((r, i) => ({ where: `webhook ${i}`, text: `${JSON.stringify(r.headers)}\n${r.body}` })),
      ...(await dumpDatabase(db)),
    ];
    expect(describeHits(scanTexts(sources, everywhere))).toBe('');
    // Tokens and gateway secrets are returned once by design; keys never are.
    const responses = api.responses.map((text, i) => ({ where: `api response ${i}`, text }));
    expect(describeHits(scanTexts(responses, canaries))).toBe('');
    expect(canaries).toHaveLength(5);

    // The same dump and scan do find a key that reached the store: as job data (hex) and in plain.
    const planted = canary(6);
    await prepareQueueNamespace(`${prefix}-probe`);
    const probe = queuesOn(redis?.url ?? null, `${prefix}-probe`);
    try {
      await probe.queues.maintenance.add('fingerprint-rescan', { requestedAt: Buffer.from(planted).toString('hex') }, { delay: 3_600_000 });
      await probe.queues.maintenance.add('fingerprint-rescan', { requestedAt: `x${planted.slice(20, 33)}x` }, { delay: 3_600_000 });
      const dump = onPostgresQueues ? await dumpDatabase(db, [queueSchemaOf(`${prefix}-probe`)]) : await dumpRedis(redis!.url);
      const hits = scanTexts(dump, [planted]).map((h) => `${h.where.replace(/ \(.*$/, '')} ${h.encoding}`);
      const table = `table ${queueSchemaOf(`${prefix}-probe`)}.job`;
      expect(hits).toEqual(
        expect.arrayContaining(
          onPostgresQueues
            ? [
                expect.stringMatching(new RegExp(`^${table.replace('.', '\\.')} row \\d+ hex$`)),
                expect.stringMatching(new RegExp(`^${table.replace('.', '\\.')} row \\d+ plain$`)),
              ]
            : [
                expect.stringMatching(/^redis hash .*-probe:maintenance:1 field data hex$/),
                expect.stringMatching(/^redis hash .*-probe:maintenance:2 field data plain$/),
              ],
        ),
      );
    } finally {
      // The planted canary must not outlive this test: later leak scans read the whole store.
      await Promise.all(Object.values(probe.queues).map((q) => q.obliterate({ force: true })));
      await probe.close();
      await dropQueueNamespace(`${prefix}-probe`);
    }
  }, 60_000);
});
