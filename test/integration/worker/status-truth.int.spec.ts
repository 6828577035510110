import { randomUUID } from 'node:crypto';
import { createCredential, createGateway, openaiKey, tenantWithTokens } from '../../factories';
import { attachCredential, rotateCredential } from '../../factories/credentials';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { pullConfig } from '../../helpers/gateway-feed';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/*
 * Issue 10 item 4: what a credential shows is its serving version's truth, a PREVIOUS key found
 * invalid stops being served at once, and a check that gives up raises an alert. Real API, real
 * validate-credential processor on real BullMQ, fake provider over HTTP.
 */

let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t, { env: { ROTATION_GRACE_HOURS: '24' } });
});

afterAll(async () => {
  await w?.close();
  await fake?.close();
  await t?.close();
});

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);

const CREDENTIAL = `query($id: ID!) { credential(id: $id) {
  status activeVersion lastValidation { outcome }
  versions { version state lastValidation { outcome } } } }`;

const ALERTS = `query($tenantId: ID!, $status: CredentialCheckAlertStatus) {
  credentialCheckAlerts(tenantId: $tenantId, status: $status) {
    nodes { id version kind outcome status occurrences message credential { id } } } }`;

/** One check of a version on the real worker, with short retries; the API-queued checks are left unsent. */
async function check(tenantId: string, credentialId: string, version: number, attempts = 1) {
  await q(`UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND job_name = 'validate-credential' AND payload->>'credentialId' = $1`, [
    credentialId,
  ]);
  const job = await w.queues.credentials.add(
    'validate-credential',
    { tenantId, credentialId, version },
    { jobId: `test-${credentialId}-v${version}-${randomUUID().slice(0, 8)}`, attempts, backoff: { type: 'fixed', delay: 50 } },
  );
  await eventually(async () => ['completed', 'failed'].includes(await job.getState()), 10_000);
}

/** A credential whose version 1 validated on the worker and serves. */
async function servingCredential() {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  const { id } = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
  await check(tenant.id, id, 1);
  expect((await q('SELECT status FROM credentials WHERE id = $1', [id]))[0].status).toBe('ACTIVE');
  return { tenant, admin, id, secret };
}

/** ... rotated to a second key that validated too: version 2 serves, version 1 is PREVIOUS. */
async function rotatedCredential() {
  const c = await servingCredential();
  const second = openaiKey();
  fake.allow(second);
  await rotateCredential(t, c.admin, c.id, second);
  await check(c.tenant.id, c.id, 2);
  const versions = await q('SELECT version, state FROM credential_versions WHERE credential_id = $1 ORDER BY version', [c.id]);
  expect(versions).toEqual([
    { version: 1, state: 'PREVIOUS' },
    { version: 2, state: 'ACTIVE' },
  ]);
  return { ...c, first: c.secret, second };
}

describe('the credential shows its serving version', () => {
  it('a late INVALID for a pending rotation stays on that version; the credential still shows the serving key VALID', async () => {
    const c = await servingCredential();
    const bad = openaiKey(); // the fake provider answers 401 for keys it was not told to allow
    await rotateCredential(t, c.admin, c.id, bad);
    await check(c.tenant.id, c.id, 2);
    const res = await t.gql(CREDENTIAL, { id: c.id }, c.admin);
    expect(res.data.credential).toMatchObject({
      activeVersion: 1,
      lastValidation: { outcome: 'VALID' },
      versions: [
        { version: 2, state: 'REJECTED', lastValidation: { outcome: 'INVALID' } },
        { version: 1, state: 'ACTIVE', lastValidation: { outcome: 'VALID' } },
      ],
    });
    expect((await q('SELECT last_validation_outcome FROM credentials WHERE id = $1', [c.id]))[0].last_validation_outcome).toBe('VALID');
  });

  it('a late transient result for an old version does not change what the credential shows', async () => {
    const c = await rotatedCredential();
    fake.script(c.first, fake.respond.unavailable(503));
    await check(c.tenant.id, c.id, 1);
    const res = await t.gql(CREDENTIAL, { id: c.id }, c.admin);
    expect(res.data.credential).toMatchObject({
      status: 'ACTIVE',
      activeVersion: 2,
      lastValidation: { outcome: 'VALID' },
      versions: [
        { version: 2, state: 'ACTIVE', lastValidation: { outcome: 'VALID' } },
        { version: 1, state: 'PREVIOUS', lastValidation: { outcome: 'PROVIDER_UNAVAILABLE' } },
      ],
    });
  });
});

describe('a PREVIOUS key found INVALID', () => {
  it('is retired at once: out of the gateway config pull, a reload queued, audited, the credential still ACTIVE and VALID', async () => {
    const c = await rotatedCredential();
    const gw = await createGateway(t, c.admin, c.tenant.id);
    await attachCredential(t, c.admin, { gatewayId: gw.gateway.id, credentialId: c.id });
    const before = await pullConfig(t.url, gw.gatewayKey);
    expect(before.status).toBe(200);
    expect(before.text).toContain(c.first);
    expect(before.text).toContain(c.second);
    const [{ config_version: versionBefore }] = await q('SELECT config_version FROM gateways WHERE id = $1', [gw.gateway.id]);

    fake.script(c.first, fake.respond.json(401, { error: { code: 'invalid_api_key' } }));
    await check(c.tenant.id, c.id, 1);

    const [v1] = await q(
      'SELECT state, ciphertext, wrapped_key, fingerprint, retired_at FROM credential_versions WHERE credential_id = $1 AND version = 1',
      [c.id],
    );
    expect(v1).toMatchObject({ state: 'RETIRED', ciphertext: null, wrapped_key: null, fingerprint: null });
    expect(v1.retired_at).toBeInstanceOf(Date);
    const [{ config_version: versionAfter }] = await q('SELECT config_version FROM gateways WHERE id = $1', [gw.gateway.id]);
    expect(versionAfter).toBe(versionBefore + 1);
    const reloads = await q(
      `SELECT payload FROM outbox WHERE job_name = 'gateway-reload' AND payload->>'gatewayId' = $1 AND payload->>'reason' = 'CREDENTIAL_INVALID'`,
      [gw.gateway.id],
    );
    expect(reloads).toEqual([{ payload: expect.objectContaining({ configVersion: versionAfter }) }]);
    const audit = await q(`SELECT actor_type, details FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_VERSION_RETIRED'`, [c.id]);
    expect(audit).toEqual([
      {
        actor_type: 'SYSTEM',
        details: {
          version: 1,
          reason: 'found invalid during grace period',
          outcome: 'INVALID',
          reloadedGateways: 1,
          keyRefs: [{ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 }],
        },
      },
    ]);

    await t.app.services.invalidations.sync();
    const after = await eventually(async () => {
      const pulled = await pullConfig(t.url, gw.gatewayKey);
      return pulled.text.includes(c.first) ? null : pulled;
    });
    expect(after.status).toBe(200);
    expect(after.text).toContain(c.second);

    const res = await t.gql(CREDENTIAL, { id: c.id }, c.admin);
    expect(res.data.credential).toMatchObject({
      status: 'ACTIVE',
      activeVersion: 2,
      lastValidation: { outcome: 'VALID' },
      versions: [
        { version: 2, state: 'ACTIVE' },
        { version: 1, state: 'RETIRED', lastValidation: { outcome: 'INVALID' } },
      ],
    });
  });
  it('revalidateCredential checks the PREVIOUS key too, and retires it when the provider no longer takes it', async () => {
    const c = await rotatedCredential();
    fake.script(c.first, fake.respond.json(401, { error: { code: 'invalid_api_key' } }));
    const res = await t.gql(
      'mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { userErrors { code } } }',
      { input: { id: c.id } },
      c.admin,
    );
    expect(res.data.revalidateCredential.userErrors).toEqual([]);
    const [audit] = await q(`SELECT details FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_VALIDATION_REQUESTED'`, [c.id]);
    expect(audit.details.versions).toEqual([2, 1]);
    await eventually(async () => {
      await w.relay();
      const [v1] = await q('SELECT state FROM credential_versions WHERE credential_id = $1 AND version = 1', [c.id]);
      return v1.state === 'RETIRED';
    }, 10_000);
    expect((await q('SELECT status, current_version FROM credentials WHERE id = $1', [c.id]))[0]).toEqual({ status: 'ACTIVE', current_version: 2 });
  });
});

describe('a check that gives up after its last retry', () => {
  it('raises one alert per credential version, counts repeats, and a decisive check resolves it', async () => {
    const c = await servingCredential();
    const next = openaiKey();
    await rotateCredential(t, c.admin, c.id, next);
    fake.script(next, fake.respond.unavailable(503), fake.respond.unavailable(503));
    await check(c.tenant.id, c.id, 2, 2);

    const first = await t.gql(ALERTS, { tenantId: c.tenant.id }, c.admin);
    expect(first.data.credentialCheckAlerts.nodes).toEqual([
      {
        id: expect.any(String),
        version: 2,
        kind: 'CHECK_EXHAUSTED',
        outcome: 'PROVIDER_UNAVAILABLE',
        status: 'OPEN',
        occurrences: 1,
        message: expect.stringContaining('could not be checked'),
        credential: { id: c.id },
      },
    ]);
    // The serving key's result is what the credential shows; the pending one's stays on its version.
    expect((await t.gql(CREDENTIAL, { id: c.id }, c.admin)).data.credential).toMatchObject({
      lastValidation: { outcome: 'VALID' },
      versions: [{ version: 2, state: 'PENDING', lastValidation: { outcome: 'PROVIDER_UNAVAILABLE' } }, { version: 1 }],
    });

    fake.script(next, fake.respond.rateLimited(), fake.respond.rateLimited());
    await check(c.tenant.id, c.id, 2, 2);
    const again = await t.gql(ALERTS, { tenantId: c.tenant.id }, c.admin);
    expect(again.data.credentialCheckAlerts.nodes).toEqual([
      expect.objectContaining({ id: first.data.credentialCheckAlerts.nodes[0].id, outcome: 'RATE_LIMITED', occurrences: 2, status: 'OPEN' }),
    ]);
    expect((await q('SELECT count(*)::int AS n FROM credential_check_alerts WHERE credential_id = $1', [c.id]))[0].n).toBe(1);

    fake.allow(next);
    await check(c.tenant.id, c.id, 2);
    const resolved = await t.gql(ALERTS, { tenantId: c.tenant.id, status: 'RESOLVED' }, c.admin);
    expect(resolved.data.credentialCheckAlerts.nodes).toEqual([expect.objectContaining({ version: 2, status: 'RESOLVED' })]);
    expect((await t.gql(ALERTS, { tenantId: c.tenant.id, status: 'OPEN' }, c.admin)).data.credentialCheckAlerts.nodes).toEqual([]);
  });

  it('a transient outcome that is retried, or an UNKNOWN one, raises no alert; another tenant sees none', async () => {
    const c = await servingCredential();
    fake.script(c.secret, fake.respond.unavailable(503));
    await check(c.tenant.id, c.id, 1, 2); // 503, then VALID on the retry
    fake.script(c.secret, fake.respond.json(418, { what: 'teapot' }));
    await check(c.tenant.id, c.id, 1, 2);
    expect((await q('SELECT count(*)::int AS n FROM credential_check_alerts WHERE credential_id = $1', [c.id]))[0].n).toBe(0);

    const other = await tenantWithTokens(t);
    const foreign = await t.gql(ALERTS, { tenantId: c.tenant.id }, other.admin);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
