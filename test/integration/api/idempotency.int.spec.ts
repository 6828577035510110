import { randomUUID } from 'node:crypto';
import { createGateway, openaiKey, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { attachCredential, markActive, revokeCredential } from '../../factories/credentials';
import { describeHits, dumpDatabase, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { createLogger } from '../../../src/logger';
import { idempotencySweep } from '../../../workers/processors/idempotency-sweep.processor';
import { contractFetch } from '../../helpers/contracts';

/*
 * Idempotency keys on key-material mutations (README: Idempotency keys), through the real GraphQL
 * endpoint and PostgreSQL: a replay answers as the first request did and writes nothing.
 */

let t: TestApp;
let openai: string;
const secrets: string[] = [];
beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
});
afterAll(() => t.close());

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);
const key = () => `retry-${randomUUID()}`;
const remember = (secret = openaiKey()) => (secrets.push(secret), secret);

const CREDENTIAL_FIELDS = 'id tenantId label kind status redactedKey version activeVersion rotationPeriodDays rotateBy createdAt updatedAt';
const CREATE = `mutation($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { ${CREDENTIAL_FIELDS} } userErrors { field code message } } }`;
const ROTATE = `mutation($input: RotateCredentialInput!) {
  rotateCredential(input: $input) { credential { ${CREDENTIAL_FIELDS} } userErrors { field code message } } }`;
const ROTATE_GATEWAY = `mutation($input: RotateGatewayKeyInput!) {
  rotateGatewayKey(input: $input) { gateway { id redactedKey keyRotatedAt } gatewayKey userErrors { field code message } } }`;

/** Everything a mutation of this tenant could have written. */
async function footprint(tenantId: string) {
  const [row] = await q(
    `SELECT (SELECT count(*)::int FROM credentials WHERE tenant_id = $1) AS credentials,
            (SELECT count(*)::int FROM credential_versions WHERE tenant_id = $1) AS versions,
            (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1) AS audit,
            (SELECT count(*)::int FROM outbox WHERE tenant_id = $1) AS outbox,
            (SELECT count(*)::int FROM idempotency_keys WHERE tenant_id = $1) AS idempotency,
            (SELECT COALESCE(sum(config_version), 0)::int FROM gateways WHERE tenant_id = $1) AS gateway_versions`,
    [tenantId],
  );
  return row;
}

async function create(token: string, input: Record<string, unknown>) {
  const res = await t.gql(CREATE, { input: { providerId: openai, label: uniqueSlug('key'), ...input } }, token);
  expect(res.errors).toBeUndefined();
  return res.data.createCredential;
}

async function rotate(token: string, input: Record<string, unknown>) {
  const res = await t.gql(ROTATE, { input }, token);
  expect(res.errors).toBeUndefined();
  return res.data.rotateCredential;
}

describe('createCredential', () => {
  it('a replay returns the first answer and writes nothing: no row, no audit, no outbox', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const input = { tenantId: tenant.id, label: 'prod', secret: remember(), idempotencyKey: key() };
    const first = await create(admin, input);
    expect(first.userErrors).toEqual([]);
    const before = await footprint(tenant.id);
    expect(before).toMatchObject({ credentials: 1, versions: 1, idempotency: 1 });

    const replay = await create(admin, input);
    // Field order in the input does not matter: the request is compared in canonical form.
    const reordered = await create(admin, { idempotencyKey: input.idempotencyKey, secret: input.secret, label: 'prod', tenantId: tenant.id });
    expect(replay).toEqual(first);
    expect(reordered).toEqual(first);
    expect(await footprint(tenant.id)).toEqual(before);
  });

  it('the same key with a different request is IDEMPOTENCY_KEY_REUSED, and nothing is written', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const idempotencyKey = key();
    const secret = remember();
    await create(admin, { tenantId: tenant.id, label: 'prod', secret, idempotencyKey });
    const before = await footprint(tenant.id);
    for (const changed of [
      { label: 'other', secret },
      { label: 'prod', secret: remember() },
      { label: 'prod', secret, rotationPeriodDays: 30 },
    ]) {
      const res = await create(admin, { tenantId: tenant.id, idempotencyKey, ...changed });
      expect(res).toEqual({
        credential: null,
        userErrors: [{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) }],
      });
    }
    expect(await footprint(tenant.id)).toEqual(before);
  });

  it('concurrent requests with the same key do the work once and all get the same answer', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const input = { tenantId: tenant.id, label: 'prod', secret: remember(), idempotencyKey: key() };
    const answers = await Promise.all(Array.from({ length: 8 }, () => create(admin, input)));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0].userErrors).toEqual([]);
    expect(await footprint(tenant.id)).toMatchObject({ credentials: 1, versions: 1, idempotency: 1 });
    const audit = await q(`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1 AND action = 'CREDENTIAL_CREATED'`, [tenant.id]);
    expect(audit[0].n).toBe(1);
  });

  it("keys are per tenant: tenant B using tenant A's key string is independent and learns nothing", async () => {
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    const idempotencyKey = key();
    const fromA = await create(a.admin, { tenantId: a.tenant.id, label: 'prod', secret: remember(), idempotencyKey });
    const aBefore = await footprint(a.tenant.id);
    // A different request under the same string in B: not an error, a new credential of B's own.
    const fromB = await create(b.admin, { tenantId: b.tenant.id, label: 'other', secret: remember(), idempotencyKey });
    expect(fromB.userErrors).toEqual([]);
    expect(fromB.credential.id).not.toBe(fromA.credential.id);
    expect(fromB.credential.tenantId).toBe(b.tenant.id);
    // And B's replay is B's answer, A's is A's.
    expect((await create(b.admin, { tenantId: b.tenant.id, label: 'other', secret: secrets.at(-1), idempotencyKey })).credential.id).toBe(
      fromB.credential.id,
    );
    expect(await footprint(a.tenant.id)).toEqual(aBefore);
    const stored = await q('SELECT tenant_id, key_hash FROM idempotency_keys WHERE tenant_id = ANY($1)', [[a.tenant.id, b.tenant.id]]);
    expect(stored).toHaveLength(2);
    expect(stored[0].key_hash.equals(stored[1].key_hash)).toBe(false);
  });

  it('refuses an empty, blank, too long or control-character key without echoing it', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    for (const bad of ['', '   ', 'x'.repeat(256), 'a\nb', 'a\u0000b']) {
      const res = await create(admin, { tenantId: tenant.id, secret: remember(), idempotencyKey: bad });
      expect(res.userErrors).toEqual([{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_INVALID', message: expect.any(String) }]);
      if (bad.trim()) expect(res.userErrors[0].message).not.toContain(bad);
    }
    expect(await footprint(tenant.id)).toMatchObject({ credentials: 0, idempotency: 0 });
    expect((await create(admin, { tenantId: tenant.id, secret: remember(), idempotencyKey: 'é'.repeat(255) })).userErrors).toEqual([]);
  });

  it('an answer expires after 24 hours: the key then does new work, and the sweep deletes expired answers', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const input = { tenantId: tenant.id, label: 'prod', secret: remember(), idempotencyKey: key() };
    const first = await create(admin, input);
    const [stored] = await q('SELECT extract(epoch FROM expires_at - created_at)::int AS ttl FROM idempotency_keys WHERE tenant_id = $1', [
      tenant.id,
    ]);
    expect(stored.ttl).toBe(24 * 3600);
    await q(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1`, [tenant.id]);
    const later = await create(admin, { ...input, label: 'prod-2' });
    expect(later.userErrors).toEqual([]);
    expect(later.credential.id).not.toBe(first.credential.id);
    expect(await footprint(tenant.id)).toMatchObject({ credentials: 2, idempotency: 1 });

    await q(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1`, [tenant.id]);
    const result = await idempotencySweep({ db: t.app.db, log: createLogger('silent') }, {
      name: 'idempotency-sweep',
      id: 'test',
      data: {},
    } as never);
    expect(result.deleted).toBeGreaterThanOrEqual(1);
    expect(await footprint(tenant.id)).toMatchObject({ idempotency: 0 });
  });
});

describe('rotateCredential', () => {
  async function liveCredential(admin: string, tenantId: string) {
    const created = await create(admin, { tenantId, secret: remember() });
    await markActive(t, created.credential.id);
    return created.credential.id as string;
  }

  it('a retry after a timeout rotates once: same answer, no second version, audit, outbox row or reload', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const id = await liveCredential(admin, tenant.id);
    const gw = await createGateway(t, admin, tenant.id);
    await attachCredential(t, admin, { gatewayId: gw.gateway.id, credentialId: id });
    const input = { id, secret: remember(), idempotencyKey: key() };
    const first = await rotate(admin, input);
    expect(first.credential).toMatchObject({ version: 2, status: 'PENDING_VALIDATION' });
    const before = await footprint(tenant.id);
    const replay = await rotate(admin, input);
    expect(replay).toEqual(first);
    expect(await footprint(tenant.id)).toEqual(before);
    expect((await q('SELECT latest_version FROM credentials WHERE id = $1', [id]))[0].latest_version).toBe(2);
  });

  it('concurrent rotations with the same key rotate once', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const id = await liveCredential(admin, tenant.id);
    const input = { id, secret: remember(), idempotencyKey: key() };
    const answers = await Promise.all(Array.from({ length: 6 }, () => rotate(admin, input)));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0].credential.version).toBe(2);
    const audit = await q(`SELECT count(*)::int AS n FROM audit_events WHERE target_id = $1 AND action = 'CREDENTIAL_ROTATED'`, [id]);
    expect(audit[0].n).toBe(1);
    expect(await q('SELECT version FROM credential_versions WHERE credential_id = $1 ORDER BY version', [id])).toEqual([
      { version: 1 },
      { version: 2 },
    ]);
  });

  it('a different secret, or another operation, under the same key is IDEMPOTENCY_KEY_REUSED', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const id = await liveCredential(admin, tenant.id);
    const idempotencyKey = key();
    await rotate(admin, { id, secret: remember(), idempotencyKey });
    const before = await footprint(tenant.id);
    const other = await rotate(admin, { id, secret: remember(), idempotencyKey });
    expect(other.userErrors).toEqual([{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) }]);
    const asCreate = await create(admin, { tenantId: tenant.id, secret: remember(), idempotencyKey });
    expect(asCreate.userErrors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await footprint(tenant.id)).toEqual(before);
  });

  it('revoking the credential erases what was derived from its keys; the key still replays the first answer', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const id = await liveCredential(admin, tenant.id);
    const input = { id, secret: remember(), idempotencyKey: key() };
    const first = await rotate(admin, input);
    await revokeCredential(t, admin, id);
    const rows = await q('SELECT operation, request_hash FROM idempotency_keys WHERE tenant_id = $1 ORDER BY operation', [tenant.id]);
    expect(rows).toEqual([{ operation: 'ROTATE_CREDENTIAL', request_hash: null }]);
    const before = await footprint(tenant.id);
    expect(await rotate(admin, input)).toEqual(first);
    expect(await footprint(tenant.id)).toEqual(before);
  });
});

describe('rotateGatewayKey', () => {
  it('a replay returns the same gateway and no key (it was shown once), and leaves the first new key working', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const gw = await createGateway(t, admin, tenant.id);
    const input = { id: gw.gateway.id, idempotencyKey: key() };
    const first = await t.gql(ROTATE_GATEWAY, { input }, admin);
    expect(first.data.rotateGatewayKey.gatewayKey).toMatch(/^kpg_/);
    secrets.push(first.data.rotateGatewayKey.gatewayKey);
    const before = await footprint(tenant.id);
    const replay = await t.gql(ROTATE_GATEWAY, { input }, admin);
    expect(replay.data.rotateGatewayKey).toEqual({ ...first.data.rotateGatewayKey, gatewayKey: null });
    expect(await footprint(tenant.id)).toEqual(before);
    const pulled = await contractFetch(`${t.url}/v1/gateway/config`, {
      headers: { authorization: `Bearer ${first.data.rotateGatewayKey.gatewayKey}` },
    });
    expect(pulled.status).toBe(200);
  });
});

it('the idempotency store holds no plaintext key, nor any other trace of the keys sent (leak scan)', async () => {
  expect(secrets.length).toBeGreaterThan(10);
  const stored = await q('SELECT count(*)::int AS n FROM idempotency_keys');
  expect(stored[0].n).toBeGreaterThan(5);
  const db = await dumpDatabase(t.app.db);
  const idempotencyRows = db.filter((d) => d.where.startsWith('table idempotency_keys '));
  expect(idempotencyRows.length).toBeGreaterThan(5);
  expect(describeHits(scanTexts(idempotencyRows, secrets))).toBe('');
  // Nor anywhere else: the database, the API's logs and every response body.
  const everywhere = [
    ...db,
    ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
    ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
  ];
  // The new gateway key is shown once, in its own response; everything else must not hold it.
  const gatewayKeys = secrets.filter((s) => s.startsWith('kpg_'));
  const firstShown = t.responses.findIndex((r) => gatewayKeys.some((k) => r.includes(k)));
  expect(
    describeHits(
      scanTexts(
        everywhere.filter((e) => e.where !== `response ${firstShown}`),
        secrets,
      ),
    ),
  ).toBe('');
});
