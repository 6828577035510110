import { randomBytes } from 'node:crypto';
import { escapeIdentifier as ident } from 'pg';
import { loadConfig } from '../../../src/config';
import { parseKeyring, SEAL_KINDS, SEALS, SecretBox } from '../../../src/crypto';
import { createLogger } from '../../../src/logger';
import { runKeysCli } from '../../../src/cli/keys';
import { SYSTEM_ACTOR } from '../../../src/modules/auth/actor';
import { runRewrap } from '../../../src/modules/key-custody/rewrap-run';
import { KeyCustodyError, assertKeyCustody } from '../../../src/modules/key-custody/startup-check';
import { createCredential, createGateway, expectOk, openaiKey, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { activeCredential, attachCredential, revokeCredential } from '../../factories/credentials';
import { createPlatformKey, createProvider } from '../../factories/providers';
import { pullConfig } from '../../helpers/gateway-feed';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';
import { drain, eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/*
 * Key custody (issue 15 items 1, 2, 6) against the real database, Redis and worker processor. The
 * rewrap covers the whole shared database, so this suite moves everything to version 90 and back
 * to version 1 before it ends (later suites run with keyring 1 only, and would rightly refuse to start).
 */
const K1 = TEST_ENV.KEYPLANE_MASTER_KEYS.replace(/^1:/, '');
const K90 = randomBytes(32).toString('base64');
const RING = `1:${K1},90:${K90}`;
const secrets: string[] = [K1, K90];

let t: TestApp; // keyring 1 only
let t90: TestApp; // keyring 1 and 90, current 90
let w: TestWorkers; // workers of t90
let tenant: { id: string; admin: string; viewer: string };
let gw: { id: string; key: string };
let good: { id: string; secret: string };
let tampered: { id: string; versionId: string };
let platformKeyId: string;
let forwardJob = '';

const STATUS = `query($id: ID!) { keyRewrap(jobId: $id) {
  jobId state targetVersion startedAt finishedAt failuresTotal reason
  counts { kind kekVersion scanned rewrapped alreadyCurrent failed changed }
  failures { kind id kekVersion reason } } }`;

/** Every sealed row of every catalogue kind: which open with `box`, by KEK version. */
async function openAll(box: SecretBox) {
  const out = { opened: 0, failed: [] as { kind: string; id: string; kek: number }[], versions: new Map<string, number>() };
  for (const kind of SEAL_KINDS) {
    const tenantCol = 'column' in kind.tenant ? `${ident(kind.tenant.column)}::text` : 'NULL';
    const version = 'column' in kind.version ? ident(kind.version.column) : 'NULL';
    const rows = await t.app.db.query(
      `SELECT ${ident(kind.primaryKey)}::text AS id, ${ident(kind.objectColumn)}::text AS o, ${tenantCol} AS t, ${version} AS v,
              ${ident(kind.columns.kekVersion)} AS kek, ${ident(kind.columns.wrappedKey)} AS w, ${ident(kind.columns.ciphertext)} AS c
         FROM ${ident(kind.table)} WHERE ${ident(kind.columns.kekVersion)} IS NOT NULL`,
    );
    for (const r of rows) {
      const key = `${kind.kind}@${r.kek}`;
      out.versions.set(key, (out.versions.get(key) ?? 0) + 1);
      try {
        await box.open(
          { kekVersion: r.kek, wrappedKey: r.w, ciphertext: r.c },
          kind.context({ objectId: r.o, tenantId: r.t ?? undefined, version: r.v ?? undefined } as never),
        );
        out.opened++;
      } catch {
        out.failed.push({ kind: kind.kind, id: r.id, kek: r.kek });
      }
    }
  }
  return out;
}

const kekOf = async (table: string, column: string, id: string) =>
  (await t.app.db.query(`SELECT ${ident(column)} AS k FROM ${ident(table)} WHERE id = $1`, [id]))[0]?.k as number | null | undefined;

beforeAll(async () => {
  t = await startTestApp();
  t90 = await startTestApp({ KEYPLANE_MASTER_KEYS: RING });
  w = await startTestWorkers(t90, { captureLogs: true, env: { KEYPLANE_MASTER_KEYS: RING } });
  const created = await tenantWithTokens(t);
  tenant = { id: created.tenant.id, admin: created.admin, viewer: created.viewer };
  const openai = await providerId(t, 'openai');
  good = await activeCredential(t, tenant.admin, { tenantId: tenant.id, providerId: openai });
  secrets.push(good.secret);
  const g = await createGateway(t, tenant.admin, tenant.id);
  secrets.push(g.signingSecret, g.gatewayKey);
  gw = { id: g.gateway.id, key: g.gatewayKey };
  await attachCredential(t, tenant.admin, { gatewayId: gw.id, credentialId: good.id });
  const notify = await expectOk<{ notificationSigningSecret: string }>(
    t.gql(
      'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { notificationSigningSecret userErrors { code } } }',
      { input: { id: tenant.id, notificationWebhookUrl: 'https://hooks.example.test/custody' } },
      tenant.admin,
    ),
    'updateTenant',
  );
  secrets.push(notify.notificationSigningSecret);
  // Rotations with an overlap: the replaced secrets are sealed catalogue kinds of their own (issue 15 item 5).
  const rotatedGw = await expectOk<{ signingSecret: string }>(
    t.gql(
      'mutation($input: RotateGatewayWebhookSecretInput!) { rotateGatewayWebhookSecret(input: $input) { signingSecret userErrors { code } } }',
      { input: { gatewayId: gw.id } },
      tenant.admin,
    ),
    'rotateGatewayWebhookSecret',
  );
  const rotatedTenant = await expectOk<{ notificationSigningSecret: string }>(
    t.gql(
      'mutation($input: RotateTenantNotificationSecretInput!) { rotateTenantNotificationSecret(input: $input) { notificationSigningSecret userErrors { code } } }',
      { input: { tenantId: tenant.id } },
      tenant.admin,
    ),
    'rotateTenantNotificationSecret',
  );
  secrets.push(rotatedGw.signingSecret, rotatedTenant.notificationSigningSecret);
  // A provider of our own: this platform key reaches no other suite's gateways.
  const provider = await createProvider(t, { slug: uniqueSlug('custody') });
  const pk = await createPlatformKey(t, provider.id);
  platformKeyId = pk.id;
  secrets.push(pk.secret);
  const broken = await createCredential(t, tenant.admin, { tenantId: tenant.id, providerId: openai, secret: openaiKey() });
  const [row] = await t.app.db.query('SELECT id FROM credential_versions WHERE credential_id = $1', [broken.id]);
  tampered = { id: broken.id, versionId: row.id };
  await t.app.db.query('UPDATE credential_versions SET wrapped_key = set_byte(wrapped_key, 20, get_byte(wrapped_key, 20) # 1) WHERE id = $1', [
    row.id,
  ]);
});

afterAll(async () => {
  await t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', {
    input: { id: platformKeyId },
  });
  await w?.close();
  await t90?.close();
  await t?.close();
});

jest.setTimeout(90_000);

describe('online rewrap', () => {
  it('moves every catalogue kind to the current version through the worker; every record still opens; a tampered one is counted and listed', async () => {
    const started = await t90.gql('mutation { startKeyRewrap(input: { reason: "rotate to 90" }) { jobId userErrors { code message } } }');
    expect(started.data.startKeyRewrap.userErrors).toEqual([]);
    forwardJob = started.data.startKeyRewrap.jobId;
    expect(forwardJob).toMatch(/^key-rewrap-\d+$/);
    // Never two at once: a second start is refused with a typed error naming the running job.
    const second = await t90.gql('mutation { startKeyRewrap { jobId userErrors { code message } } }');
    expect(second.data.startKeyRewrap).toEqual({
      jobId: null,
      userErrors: [{ code: 'KEY_REWRAP_RUNNING', message: expect.stringContaining(forwardJob) }],
    });

    await drain(w, { queues: ['maintenance'], timeoutMs: 30_000 });
    const status = (await t90.gql(STATUS, { id: forwardJob })).data.keyRewrap;
    expect(status).toMatchObject({
      jobId: forwardJob,
      state: 'COMPLETED',
      targetVersion: 90,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    // Every kind of the catalogue was scanned, by the version its records had.
    expect(new Set(status.counts.map((c: { kind: string }) => c.kind))).toEqual(new Set(SEAL_KINDS.map((k) => k.kind)));
    expect(status.failures).toContainEqual({ kind: 'credential-version', id: tampered.versionId, kekVersion: 1, reason: 'UNREADABLE' });

    const after = await openAll(new SecretBox(parseKeyring(`90:${K90}`)));
    // Only what did not open stayed behind, and each of those is counted (other suites tamper rows too).
    expect(after.failed.length).toBe(status.failuresTotal);
    expect(after.failed).toContainEqual({ kind: 'credential-version', id: tampered.versionId, kek: 1 });
    expect(
      await kekOf(
        'credential_versions',
        'kek_version',
        (await t.app.db.query('SELECT id FROM credential_versions WHERE credential_id = $1', [good.id]))[0].id,
      ),
    ).toBe(90);
    expect(await kekOf('gateways', 'signing_kek_version', gw.id)).toBe(90);
    expect(await kekOf('tenants', 'notification_kek_version', tenant.id)).toBe(90);
    expect(await kekOf('platform_keys', 'kek_version', platformKeyId)).toBe(90);
    const sum = (f: string) => status.counts.reduce((n: number, c: Record<string, number>) => n + c[f], 0);
    expect(sum('scanned')).toBe(sum('rewrapped') + sum('alreadyCurrent') + sum('failed') + sum('changed'));
    expect(sum('failed')).toBe(status.failuresTotal);

    // The tampered credential is visibly UNREADABLE, its tenant hears of it, and it is a security event.
    await t90.app.services.security.flush();
    expect((await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [tampered.id]))[0].status).toBe('UNREADABLE');
    const creds = await t.gql('query($t: ID!) { credentials(tenantId: $t, first: 50) { nodes { id status } } }', { t: tenant.id }, tenant.viewer);
    expect(creds.data.credentials.nodes).toContainEqual({ id: tampered.id, status: 'UNREADABLE' });
    const trail = await t.app.db.query('SELECT action, tenant_id FROM audit_events WHERE target_id = $1 ORDER BY action, tenant_id NULLS FIRST', [
      tampered.id,
    ]);
    expect(trail).toEqual(
      expect.arrayContaining([
        { action: 'CREDENTIAL_UNREADABLE', tenant_id: tenant.id },
        { action: 'SECURITY_DECRYPT_FAILED', tenant_id: null },
        { action: 'SECURITY_DECRYPT_FAILED', tenant_id: tenant.id },
      ]),
    );
    // Audited at start and finish, platform rows only, with the counts.
    const audit = await t.app.db.query(`SELECT action, tenant_id, details FROM audit_events WHERE target_id = $1 ORDER BY created_at`, [forwardJob]);
    expect(audit).toEqual([
      { action: 'KEY_REWRAP_STARTED', tenant_id: null, details: { source: 'graphql', currentVersion: 90, reason: 'rotate to 90' } },
      {
        action: 'KEY_REWRAP_FINISHED',
        tenant_id: null,
        details: expect.objectContaining({ state: 'COMPLETED', targetVersion: 90, rewrapped: sum('rewrapped'), failuresTotal: status.failuresTotal }),
      },
    ]);

    // Custody view and the gauge.
    const custody = (
      await t90.gql('{ keyCustody { currentVersion versions { version current inKeyring records byKind { kind count } } runningRewraps { jobId } } }')
    ).data.keyCustody;
    expect(custody.currentVersion).toBe(90);
    expect(custody.runningRewraps).toEqual([]);
    expect(custody.versions.find((v: { version: number }) => v.version === 90)).toMatchObject({ current: true, inKeyring: true });
    expect(custody.versions.find((v: { version: number }) => v.version === 1)).toMatchObject({
      current: false,
      inKeyring: true,
      records: status.failuresTotal,
    });
    const metrics = await (await fetch(`${t90.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toMatch(/keyplane_sealed_records\{kind="credential-version",kek_version="90"\} [1-9]/);
  });

  it('a process without version 90: gateway pull answers 503 with Retry-After, workers fail at once, start-up names the missing version', async () => {
    const pulled = await pullConfig(t.url, gw.key);
    expect(pulled.status).toBe(503);
    expect(pulled.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    expect((await fetch(`${t.url}/v1/gateway/config`, { headers: { authorization: `Bearer ${gw.key}` } })).headers.get('retry-after')).toBe('30');
    // With the key, the same pull serves the key.
    const served = await pullConfig(t90.url, gw.key);
    expect(served.status).toBe(200);
    expect(served.text).toContain(good.secret);

    // A worker lacking version 90 does not burn attempts, and the credential is not blamed.
    const w1 = await startTestWorkers(t);
    try {
      const job = await w1.queues.credentials.add('validate-credential', { tenantId: tenant.id, credentialId: good.id, version: 1 }, { attempts: 4 });
      await eventually(async () => (await job.getState()) === 'failed', 10_000);
      const failed = await w1.queues.credentials.getJob(job.id!);
      expect(failed!.attemptsMade).toBe(1);
      expect(failed!.failedReason).toMatch(/key version 90/);
      expect((await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [good.id]))[0].status).toBe('ACTIVE');
    } finally {
      await w1.close();
    }

    const log = createLogger('silent');
    const err = await assertKeyCustody(t.app.db, new SecretBox(parseKeyring(`1:${K1}`)), log).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyCustodyError);
    expect((err as Error).message).toMatch(/lacks key version\(s\) 90.*version 90: credential-version \d+/);
    expect((err as Error).message).not.toContain(K1.slice(0, 12));
    await expect(startTestApp()).rejects.toThrow(/lacks key version\(s\) 90/);

    // retire refuses while records are sealed under a version, naming the count per kind.
    const lines: string[] = [];
    const cfg = loadConfig({ ...process.env, ...TEST_ENV, KEYPLANE_MASTER_KEYS: RING });
    expect(await runKeysCli(['retire', '--version', '1'], cfg, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toMatch(/refused: records are still sealed under version 1 \(version 1: credential-version \d+/);
    expect(await runKeysCli(['retire', '--version', '90'], cfg, (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toMatch(/version 90 is the current key version/);
  });

  it('a wrong master key is refused at start, naming the version (and a generated development key says so)', async () => {
    const wrong = randomBytes(32).toString('base64');
    await expect(startTestApp({ KEYPLANE_MASTER_KEYS: `1:${wrong},90:${K90}` })).rejects.toThrow(
      /key given for version\(s\) 1 is not the key this database was sealed with/,
    );
    const err = await assertKeyCustody(t.app.db, new SecretBox(parseKeyring(`1:${wrong},90:${K90}`)), createLogger('silent'), {
      generatedKeys: true,
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/development key was generated/);
    expect((err as Error).message).not.toContain(wrong.slice(0, 12));
  });

  it('back to version 1: a rewrap interrupted mid-page resumes and wraps none twice; rotate, revoke and delete racing it are never overwritten', async () => {
    const back = await startTestApp({ KEYPLANE_MASTER_KEYS: RING, KEYPLANE_MASTER_KEY_CURRENT: '1' });
    try {
      // Records sealed under 90 by t90, for the race.
      const openai = await providerId(t, 'openai');
      const toRevoke = await createCredential(t90, tenant.admin, { tenantId: tenant.id, providerId: openai });
      const toReseal = await createCredential(t90, tenant.admin, { tenantId: tenant.id, providerId: openai });
      const toDelete = await createGateway(t90, tenant.admin, tenant.id);
      const versionId = async (credentialId: string) =>
        (await t.app.db.query('SELECT id FROM credential_versions WHERE credential_id = $1', [credentialId]))[0].id;
      const [revokeRow, resealRow] = [await versionId(toRevoke.id), await versionId(toReseal.id)];
      const racingSecret = openaiKey();
      secrets.push(racingSecret);
      const before = new Map<string, Buffer>(
        (await t.app.db.query('SELECT id::text, wrapped_key FROM credential_versions WHERE kek_version = 90')).map(
          (r: { id: string; wrapped_key: Buffer }) => [r.id, r.wrapped_key],
        ),
      );

      const { jobId } = await back.app.services.keyCustody.startRewrap(SYSTEM_ACTOR, 'back to 1', 'cli');
      await t.app.db.query('UPDATE outbox SET sent_at = now() WHERE job_id = $1', [jobId]); // run here, not by a worker
      const raced = new Set<string>();
      let pages = 0;
      const race = async (kind: string, ids: string[]) => {
        // Between the read and the compare-and-set, on other connections: the writes a live system makes.
        if (kind === 'credential-version' && ids.includes(revokeRow) && !raced.has('revoke')) {
          raced.add('revoke');
          await revokeCredential(t, tenant.admin, toRevoke.id);
        }
        if (kind === 'credential-version' && ids.includes(resealRow) && !raced.has('reseal')) {
          raced.add('reseal');
          const sealed = await t90.app.services.box.seal(
            racingSecret,
            SEALS.credentialVersion.context({ tenantId: tenant.id, objectId: toReseal.id, version: 1 }),
          );
          await t.app.db.query('UPDATE credential_versions SET kek_version = $2, wrapped_key = $3, ciphertext = $4 WHERE id = $1', [
            resealRow,
            sealed.kekVersion,
            sealed.wrappedKey,
            sealed.ciphertext,
          ]);
        }
        if (kind === 'gateway-signing-secret' && ids.includes(toDelete.gateway.id) && !raced.has('delete')) {
          raced.add('delete');
          await t.app.db.query('DELETE FROM gateways WHERE id = $1', [toDelete.gateway.id]);
        }
      };
      const deps = { db: back.app.db, box: back.app.services.box };
      // First run: dies inside its fourth page, before that page commits (a SIGKILL mid-page).
      await expect(
        runRewrap(
          deps,
          jobId,
          {
            beforeWrite: async (kind, ids) => {
              if (++pages === 4) throw new Error('simulated crash mid-page');
              await race(kind, ids);
            },
          },
          2,
        ),
      ).rejects.toThrow('simulated crash mid-page');
      const mid = (await t.app.db.query('SELECT progress FROM key_rewrap_runs WHERE id = $1', [jobId]))[0].progress;
      expect(mid.pages).toBe(3);
      const firstRun = new Map<string, Buffer>(
        (
          await t.app.db.query('SELECT id::text, wrapped_key FROM credential_versions WHERE kek_version = 1 AND id = ANY($1::uuid[])', [
            [...before.keys()],
          ])
        ).map((r: { id: string; wrapped_key: Buffer }) => [r.id, r.wrapped_key]),
      );
      // Second run: resumes from the committed cursors.
      const done = await runRewrap(deps, jobId, { beforeWrite: race }, 2);
      expect(done).not.toBeNull();
      // Rows moved by the first run were not wrapped again.
      for (const [id, wrapped] of firstRun) {
        const [now] = await t.app.db.query('SELECT wrapped_key FROM credential_versions WHERE id = $1', [id]);
        expect(now.wrapped_key.equals(wrapped)).toBe(true);
      }
      const status = await back.app.services.keyCustody.rewrapStatus(jobId);
      expect(status.state).toBe('COMPLETED');
      const cv = status.counts.filter((c) => c.kind === 'credential-version' && c.kekVersion === 90);
      // Each row sealed under 90 at the start was counted once: rewrapped, or changed by a racing writer.
      expect(cv.reduce((n, c) => n + c.scanned, 0)).toBe(before.size);
      expect(raced).toEqual(new Set(['revoke', 'reseal', 'delete']));

      // Revoked: its wiped material was not brought back. Re-sealed: the racing writer's material stands.
      expect((await t.app.db.query('SELECT kek_version, wrapped_key FROM credential_versions WHERE id = $1', [revokeRow]))[0]).toEqual({
        kek_version: null,
        wrapped_key: null,
      });
      const [resealed] = await t.app.db.query('SELECT kek_version, wrapped_key, ciphertext FROM credential_versions WHERE id = $1', [resealRow]);
      expect(resealed.kek_version).toBe(90);
      expect(
        await t90.app.services.box.open(
          { kekVersion: resealed.kek_version, wrappedKey: resealed.wrapped_key, ciphertext: resealed.ciphertext },
          SEALS.credentialVersion.context({ tenantId: tenant.id, objectId: toReseal.id, version: 1 }),
        ),
      ).toBe(racingSecret);
      expect(cv.reduce((n, c) => n + c.changed, 0)).toBeGreaterThanOrEqual(2);
      expect(await t.app.db.query('SELECT id FROM gateways WHERE id = $1', [toDelete.gateway.id])).toEqual([]);

      // A later run picks up what the race left under 90; then version 90 may be retired.
      const again = await back.app.services.keyCustody.startRewrap(SYSTEM_ACTOR, 'finish', 'cli');
      await t.app.db.query('UPDATE outbox SET sent_at = now() WHERE job_id = $1', [again.jobId]);
      await runRewrap(deps, again.jobId);
      const final = await openAll(new SecretBox(parseKeyring(`1:${K1}`)));
      expect([...final.versions.keys()].filter((k) => !k.endsWith('@1'))).toEqual([]);
      const lines: string[] = [];
      const cfg = loadConfig({ ...process.env, ...TEST_ENV, KEYPLANE_MASTER_KEYS: RING, KEYPLANE_MASTER_KEY_CURRENT: '1' });
      expect(await runKeysCli(['retire', '--version', '90'], cfg, (l) => lines.push(l))).toBe(0);
      expect(lines.join('\n')).toMatch(/ok: no record is sealed under version 90/);
      expect(lines.join('\n')).not.toContain(K90.slice(0, 12));
    } finally {
      await back.close();
      await t.app.db.query('DELETE FROM kek_check_values WHERE key_version = 90');
    }
  });
});

describe('access and leaks', () => {
  it('a tenant token cannot start or read key custody', async () => {
    for (const token of [tenant.admin, tenant.viewer]) {
      const start = await t.gql('mutation { startKeyRewrap { jobId userErrors { code } } }', {}, token);
      expect(start.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const read = await t.gql(STATUS, { id: forwardJob }, token);
      expect(read.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const custody = await t.gql('{ keyCustody { currentVersion } }', {}, token);
      expect(custody.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    // Other ids are not rewrap jobs: a lookup of an unknown id answers null.
    const other = await t.gql(STATUS, { id: 'fingerprint-rescan-1' });
    expect(other).toMatchObject({ errors: undefined, data: { keyRewrap: null } });
  });

  it('no key material in audit rows, job data and progress in Redis, or logs', async () => {
    const audit = await t.app.db.query(
      `SELECT action, details::text AS d FROM audit_events WHERE action LIKE 'KEY_REWRAP%' OR action IN ('CREDENTIAL_UNREADABLE', 'SECURITY_DECRYPT_FAILED')`,
    );
    const runs = await t.app.db.query('SELECT id, progress::text AS p FROM key_rewrap_runs');
    const job = await w.queues.maintenance.getJob(forwardJob);
    expect(job).toBeDefined();
    const sources = [
      ...audit.map((a: { action: string; d: string }, i: number) => ({ where: `audit ${i} ${a.action}`, text: a.d })),
      ...runs.map((r: { id: string; p: string }) => ({ where: `run ${r.id}`, text: r.p })),
      { where: 'job', text: JSON.stringify({ data: job!.data, progress: job!.progress, returnvalue: job!.returnvalue }) },
      ...[...t90.logs, ...w.logs, ...t.logs].map((text, i) => ({ where: `log ${i}`, text })),
    ];
    const hits = scanTexts(sources, secrets);
    expect(describeHits(hits)).toBe('');
  });
});
