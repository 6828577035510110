import { randomUUID } from 'node:crypto';
import type { LiveEventName } from '../../../src/events/types';
import { createCredential, createGateway, openaiKey, tenantWithTokens } from '../../factories';
import { attachCredential, rotateCredential } from '../../factories/credentials';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;
const published: { event: LiveEventName; credentialId: string }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, {
    env: { ROTATION_GRACE_HOURS: '24' },
    events: {
      publish: async (event, payload) => void published.push({ event, credentialId: (payload as { credentialId?: string }).credentialId ?? '' }),
    },
  });
});

afterAll(async () => {
  await w?.close();
  await fake?.close();
  await t?.close();
});

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);
const credentialRow = async (id: string) => (await q('SELECT * FROM credentials WHERE id = $1', [id]))[0];
const requestsFor = (key: string) => fake.requests.filter((r) => r.headers.authorization === `Bearer ${key}`).length;

async function create(token: string, tenantId: string, secret: string): Promise<string> {
  return (await createCredential(t, token, { tenantId, providerId, secret })).id;
}

/**
 * Runs one check of a version on the real worker with short retries, instead of the outbox's
 * production defaults (6 attempts, 2 s exponential backoff). The outbox rows of the credential
 * are marked sent so the API-queued check does not run as well.
 */
async function check(tenantId: string, credentialId: string, version: number, attempts = 3) {
  await q(`UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND payload->>'credentialId' = $1`, [credentialId]);
  return w.queues.credentials.add(
    'validate-credential',
    { tenantId, credentialId, version },
    { jobId: `test-${credentialId}-v${version}-${randomUUID().slice(0, 8)}`, attempts, backoff: { type: 'fixed', delay: 50 } },
  );
}

async function settled(id: string, predicate: (row: any) => boolean, timeoutMs = 8000): Promise<any> {
  return eventually(async () => {
    const row = await credentialRow(id);
    return predicate(row) ? row : null;
  }, timeoutMs);
}

/** A credential whose first key validated (status ACTIVE, version 1 current). */
async function activeCredential() {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const id = await create(admin, tenant.id, secret);
  await check(tenant.id, id, 1);
  await settled(id, (r) => r.status === 'ACTIVE');
  return { tenant, admin, id, secret };
}

describe('each outcome of the mapping is recorded', () => {
  it.each([
    ['VALID', (_k: string) => undefined, 'ACTIVE', 1],
    ['VALID_NO_QUOTA', (k: string) => fake.script(k, fake.respond.noQuota()), 'ACTIVE', 1],
    ['VALID_RESTRICTED', (k: string) => fake.script(k, fake.respond.forbidden()), 'ACTIVE', 1],
    ['INVALID', (k: string) => fake.script(k, fake.respond.json(401, { error: { code: 'invalid_api_key' } })), 'INVALID', null],
  ])('%s', async (outcome, arrange, status, current) => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    if (outcome === 'VALID') fake.allow(secret, ['m-1']);
    arrange(secret);
    const id = await create(admin, tenant.id, secret);
    await check(tenant.id, id, 1);
    const row = await settled(id, (r) => r.last_validation_outcome !== null);
    expect(row).toMatchObject({ status, last_validation_outcome: outcome, current_version: current });
    expect(row.last_validated_at).toBeInstanceOf(Date);
    const [version] = await q('SELECT state, ciphertext FROM credential_versions WHERE credential_id = $1', [id]);
    if (outcome === 'INVALID') expect(version).toEqual({ state: 'REJECTED', ciphertext: null });
    else expect(version.state).toBe('ACTIVE');
    const api = await t.gql('query($id: ID!) { credential(id: $id) { status lastValidation { outcome } } }', { id }, admin);
    expect(api.data.credential).toEqual({ status, lastValidation: { outcome } });
  });

  it.each([
    ['RATE_LIMITED', () => fake.respond.rateLimited()],
    ['PROVIDER_UNAVAILABLE', () => fake.respond.unavailable(503)],
    ['PROVIDER_UNAVAILABLE', () => fake.respond.unavailable(529)],
  ])('%s is retried, then stored after the last attempt with the status unchanged', async (outcome, response) => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.script(secret, response(), response());
    const id = await create(admin, tenant.id, secret);
    await check(tenant.id, id, 1, 2);
    const row = await settled(id, (r) => r.last_validation_outcome !== null);
    expect(row).toMatchObject({ status: 'PENDING_VALIDATION', last_validation_outcome: outcome, current_version: null });
    expect(requestsFor(secret)).toBe(2);
    const [version] = await q('SELECT state FROM credential_versions WHERE credential_id = $1', [id]);
    expect(version.state).toBe('PENDING');
  });

  it('a provider that keeps answering 429 with retry-after cannot keep the job alive: RATE_LIMITED is stored', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.script(secret, fake.respond.rateLimited(0.1), fake.respond.rateLimited(0.1), fake.respond.rateLimited(0.1));
    const id = await create(admin, tenant.id, secret);
    await check(tenant.id, id, 1, 2);
    const row = await settled(id, (r) => r.last_validation_outcome !== null);
    expect(row).toMatchObject({ status: 'PENDING_VALIDATION', last_validation_outcome: 'RATE_LIMITED' });
    expect(requestsFor(secret)).toBe(2);
  });

  it('UNKNOWN is stored at once (no retry) and leaves the status as it was', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.script(secret, fake.respond.json(418, { what: 'teapot' }));
    const id = await create(admin, tenant.id, secret);
    await check(tenant.id, id, 1, 3);
    const row = await settled(id, (r) => r.last_validation_outcome !== null);
    expect(row).toMatchObject({ status: 'PENDING_VALIDATION', last_validation_outcome: 'UNKNOWN' });
    expect(requestsFor(secret)).toBe(1);
  });
});

describe('retries', () => {
  it('429 with retry-after: the check waits at least that long, then succeeds (production job options)', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.script(secret, fake.respond.rateLimited(1));
    fake.allow(secret);
    const started = Date.now();
    const id = await create(admin, tenant.id, secret);
    await w.relay();
    const row = await settled(id, (r) => r.status === 'ACTIVE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(row.last_validation_outcome).toBe('VALID');
    expect(requestsFor(secret)).toBe(2);
    // The wait was a delay of this job, not a failed attempt: two starts, one (successful) attempt.
    // The row changes before the job is marked completed: read the job once it is.
    const job = await eventually(async () => {
      const found = await w.queues.credentials.getJob(`validate-credential-${id}-v1`);
      return found && (await found.getState()) === 'completed' ? found : null;
    });
    expect(job).toMatchObject({ attemptsStarted: 2, attemptsMade: 1, stacktrace: [] });
  });

  it('a hung provider times out, the check is retried and succeeds', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    fake.script(secret, fake.respond.hang());
    fake.allow(secret);
    const id = await create(admin, tenant.id, secret);
    await check(tenant.id, id, 1, 3);
    const row = await settled(id, (r) => r.status === 'ACTIVE');
    expect(row.last_validation_outcome).toBe('VALID');
    expect(requestsFor(secret)).toBe(2);
  });
});

describe('a working key that stops working', () => {
  it('becomes INVALID once: audited as SYSTEM, gateways reload, settings pages hear of it', async () => {
    const { tenant, admin, id, secret } = await activeCredential();
    const { gateway } = await createGateway(t, admin, tenant.id);
    await attachCredential(t, admin, { gatewayId: gateway.id, credentialId: id });
    const [before] = await q('SELECT config_version FROM gateways WHERE id = $1', [gateway.id]);
    published.length = 0;
    const invalid = () => fake.respond.json(401, { error: { code: 'invalid_api_key' } });
    fake.script(secret, invalid(), invalid());
    await check(tenant.id, id, 1);
    const row = await settled(id, (r) => r.status === 'INVALID');
    expect(row).toMatchObject({ current_version: 1, last_validation_outcome: 'INVALID' });

    const [after] = await q('SELECT config_version FROM gateways WHERE id = $1', [gateway.id]);
    expect(after.config_version).toBe(before.config_version + 1);
    const reloads = await q(
      `SELECT payload FROM outbox WHERE job_name = 'gateway-reload' AND payload->>'gatewayId' = $1 AND payload->>'reason' = 'CREDENTIAL_INVALID'`,
      [gateway.id],
    );
    expect(reloads).toHaveLength(1);
    expect(reloads[0].payload.configVersion).toBe(after.config_version);
    const audit = await q(`SELECT actor_type, actor_id, details FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_INVALIDATED'`, [id]);
    expect(audit).toEqual([
      { actor_type: 'SYSTEM', actor_id: null, details: expect.objectContaining({ version: 1, outcome: 'INVALID', previousStatus: 'ACTIVE' }) },
    ]);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(-12));
    expect(published).toContainEqual({ event: 'CREDENTIAL_CHANGED', credentialId: id });

    // Still invalid on the next check: no second alert, no second reload.
    const again = await check(tenant.id, id, 1);
    await eventually(async () => requestsFor(secret) >= 3);
    // Its outcome is recorded once the job has finished.
    await eventually(async () => ['completed', 'failed'].includes(await again.getState()));
    expect(await q(`SELECT 1 FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_INVALIDATED'`, [id])).toHaveLength(1);
    const [still] = await q('SELECT config_version FROM gateways WHERE id = $1', [gateway.id]);
    expect(still.config_version).toBe(after.config_version);

    // The serving key works again: ACTIVE, and the gateways reload onto it.
    await check(tenant.id, id, 1);
    await settled(id, (r) => r.status === 'ACTIVE');
    const [recovered] = await q('SELECT config_version FROM gateways WHERE id = $1', [gateway.id]);
    expect(recovered.config_version).toBe(after.config_version + 1);
  });

  it('a failing new key never replaces a working one, and a failing check of the working key still invalidates it', async () => {
    const { tenant, admin, id } = await activeCredential();
    await rotateCredential(t, admin, id, openaiKey());
    await check(tenant.id, id, 2);
    // The rejection queues a re-check of the serving key (outbox); relay it and let it decide.
    await eventually(
      async () => (await q(`SELECT 1 FROM credential_versions WHERE credential_id = $1 AND version = 2 AND state = 'REJECTED'`, [id])).length > 0,
    );
    await w.relay();
    const row = await settled(id, (r) => r.status !== 'PENDING_VALIDATION');
    expect(row).toMatchObject({ status: 'ACTIVE', current_version: 1, latest_version: 2 });
    const versions = await q(
      'SELECT version, state, ciphertext IS NULL AS wiped FROM credential_versions WHERE credential_id = $1 ORDER BY version',
      [id],
    );
    expect(versions).toEqual([
      { version: 1, state: 'ACTIVE', wiped: false },
      { version: 2, state: 'REJECTED', wiped: true },
    ]);
  });
});

describe('staged rotation', () => {
  it('the new key serves first, the old one stays PREVIOUS for ROTATION_GRACE_HOURS, gateways reload', async () => {
    const { tenant, admin, id } = await activeCredential();
    const { gateway } = await createGateway(t, admin, tenant.id);
    await attachCredential(t, admin, { gatewayId: gateway.id, credentialId: id });
    const second = openaiKey();
    fake.allow(second);
    await rotateCredential(t, admin, id, second);
    await check(tenant.id, id, 2);
    await settled(id, (r) => r.current_version === 2 && r.status === 'ACTIVE');
    const [v1, v2] = await q(
      `SELECT version, state, ciphertext IS NULL AS wiped, EXTRACT(EPOCH FROM retire_after - now()) / 3600 AS hours_left
         FROM credential_versions WHERE credential_id = $1 ORDER BY version`,
      [id],
    );
    expect(v1).toMatchObject({ version: 1, state: 'PREVIOUS', wiped: false });
    expect(Number(v1.hours_left)).toBeGreaterThan(23.9);
    expect(Number(v1.hours_left)).toBeLessThanOrEqual(24);
    expect(v2).toMatchObject({ version: 2, state: 'ACTIVE', hours_left: null });
    const reloads = await q(
      `SELECT 1 FROM outbox WHERE job_name = 'gateway-reload' AND payload->>'gatewayId' = $1 AND payload->>'reason' = 'CREDENTIAL_ROTATED'`,
      [gateway.id],
    );
    expect(reloads).toHaveLength(1);

    // A third key: only one PREVIOUS is kept, the oldest retires at once.
    const third = openaiKey();
    fake.allow(third);
    await rotateCredential(t, admin, id, third);
    await check(tenant.id, id, 3);
    await settled(id, (r) => r.current_version === 3);
    const states = await q('SELECT version, state, ciphertext IS NULL AS wiped FROM credential_versions WHERE credential_id = $1 ORDER BY version', [
      id,
    ]);
    expect(states).toEqual([
      { version: 1, state: 'RETIRED', wiped: true },
      { version: 2, state: 'PREVIOUS', wiped: false },
      { version: 3, state: 'ACTIVE', wiped: false },
    ]);
  });

  it('with ROTATION_GRACE_HOURS=0 the old key retires (material destroyed) the moment the new one validates', async () => {
    const w0 = await startTestWorkers(t, { env: { ROTATION_GRACE_HOURS: '0' } });
    try {
      const { tenant, admin } = await tenantWithTokens(t);
      const [first, second] = [openaiKey(), openaiKey()];
      fake.allow(first);
      fake.allow(second);
      const id = await create(admin, tenant.id, first);
      await w0.relay();
      await settled(id, (r) => r.status === 'ACTIVE');
      await rotateCredential(t, admin, id, second);
      await w0.relay();
      await settled(id, (r) => r.current_version === 2);
      const states = await q(
        'SELECT version, state, ciphertext IS NULL AS wiped, retire_after FROM credential_versions WHERE credential_id = $1 ORDER BY version',
        [id],
      );
      expect(states).toEqual([
        { version: 1, state: 'RETIRED', wiped: true, retire_after: null },
        { version: 2, state: 'ACTIVE', wiped: false, retire_after: null },
      ]);
    } finally {
      await w0.close();
    }
  });
});
