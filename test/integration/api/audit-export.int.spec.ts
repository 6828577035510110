import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { encodeCursor } from '../../../src/db/pagination';
import { createGateway, tenantWithTokens } from '../../factories';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_DATABASE_URL } from '../../helpers/test-env';
import { contractFetch } from '../../helpers/contracts';

/* GET /v1/audit/export and /v1/audit/keys, checked by the standalone offline verifier. */

const run = promisify(execFile);
const VERIFIER = join(__dirname, '../../../scripts/verify-audit-export.mjs');
let t: TestApp;
let dir: string;

beforeAll(async () => {
  t = await startTestApp();
  dir = mkdtempSync(join(tmpdir(), 'kp-audit-export-'));
});
afterAll(() => t.close());

/** A GET whose answer is checked against schema/openapi.json (status, headers, every NDJSON line); read it from `text`. */
async function get(path: string, token?: string | null) {
  const res = await contractFetch(`${t.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, text: async () => res.text, json: async () => JSON.parse(res.text) };
}

/** Every page, following the next-cursor header; returns the concatenated NDJSON and the page count. */
async function exportAll(token: string, limit: number): Promise<{ body: string; pages: number }> {
  let body = '';
  let pages = 0;
  let after: string | null = null;
  do {
    const res = await get(`/v1/audit/export?limit=${limit}${after ? `&after=${after}` : ''}`, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    body += await res.text();
    pages++;
    after = res.headers.get('keyplane-next-cursor');
  } while (after);
  return { body, pages };
}

async function verifyOffline(body: string, withKeys = true): Promise<{ code: number; out: string }> {
  const file = join(dir, `export-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, body);
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, await (await get('/v1/audit/keys')).text());
  try {
    const { stdout } = await run(process.execPath, [VERIFIER, file, ...(withKeys ? ['--keys', keys] : [])]);
    return { code: 0, out: stdout.trim() };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, out: e.stdout.trim() };
  }
}

async function world(gateways = 4) {
  const w = await tenantWithTokens(t);
  for (let i = 0; i < gateways; i++) await createGateway(t, w.admin, w.tenant.id);
  return { ...w, tenantId: w.tenant.id };
}

it('GET /v1/audit/keys serves the Ed25519 public keys, no token needed', async () => {
  const res = await get('/v1/audit/keys');
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body).toEqual({
    algorithm: 'Ed25519',
    keys: [{ version: 1, algorithm: 'Ed25519', publicKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) }],
  });
});

it('exports the whole chain in pages, with checkpoints, and the offline verifier accepts it', async () => {
  const w = await world();
  await t.app.services.auditIntegrity.checkpoint();
  await createGateway(t, w.admin, w.tenantId); // a row after the checkpoint
  const { body, pages } = await exportAll(w.admin, 2);
  const lines = body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const events = lines.filter((l) => l.type === 'event');
  expect(pages).toBe(Math.ceil(events.length / 2));
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => String(i + 1)));
  expect(events.every((e) => e.tenantId === w.tenantId && typeof e.details === 'string')).toBe(true);
  expect(lines.filter((l) => l.type === 'checkpoint')).toEqual([expect.objectContaining({ seq: String(events.length - 1), keyVersion: 1 })]);
  const offline = await verifyOffline(body);
  expect(offline).toEqual({ code: 0, out: `ok: ${events.length} events, seq 1..${events.length}; 1 checkpoints, signatures verified` });
});

it('the offline verifier finds a modified row, a cut tail and a forged checkpoint in an export', async () => {
  const w = await world();
  await t.app.services.auditIntegrity.checkpoint();
  const { body } = await exportAll(w.admin, 1000);
  const lines = body.trim().split('\n');
  const modified = lines.map((l) => (JSON.parse(l).seq === '3' && JSON.parse(l).type === 'event' ? l.replace('"action":"', '"action":"X') : l));
  expect(await verifyOffline(modified.join('\n'))).toEqual({ code: 2, out: 'BROKEN: HASH_MISMATCH at seq 3: row 3 was modified' });
  // The last event dropped, its checkpoint kept: a cut tail.
  const events = lines.filter((l) => JSON.parse(l).type === 'event');
  const cut = lines.filter((l) => l !== events[events.length - 1]);
  expect((await verifyOffline(cut.join('\n'))).out).toMatch(new RegExp(`^BROKEN: TRUNCATED at seq ${events.length}: `));
  const forged = lines.map((l) =>
    JSON.parse(l).type === 'checkpoint' ? l.replace(/"signature":"[^"]+"/, `"signature":"${Buffer.alloc(64).toString('base64')}"`) : l,
  );
  expect((await verifyOffline(forged.join('\n'))).out).toMatch(/^BROKEN: CHECKPOINT_SIGNATURE_INVALID/);
  expect((await verifyOffline(forged.join('\n'), false)).out).toMatch(/signatures NOT checked/);
});

it('an export of a chain tampered in the database fails offline too', async () => {
  const w = await world();
  const c = new Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 2`, [w.tenantId]);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
  expect(await verifyOffline((await exportAll(w.admin, 1000)).body)).toEqual({
    code: 2,
    out: 'BROKEN: SEQ_GAP at seq 2: row 2 is missing (the next row is 3)',
  });
});

it("a forged cursor and another tenant's cursor are NOT_FOUND, byte-identical to a random one", async () => {
  const a = await world(1);
  const b = await world(1);
  const bFirst = (await (await get('/v1/audit/export?limit=1', b.admin)).headers.get('keyplane-next-cursor'))!;
  expect(bFirst).toBeTruthy();
  const answers = [];
  for (const cursor of [bFirst, encodeCursor('7d0c2a4e-0000-4000-8000-000000000000'), 'forged-cursor', encodeCursor('not-a-uuid')]) {
    const res = await get(`/v1/audit/export?after=${encodeURIComponent(cursor)}`, a.admin);
    answers.push({ status: res.status, body: await res.text() });
  }
  expect(answers[0]).toEqual({ status: 404, body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Cursor not found.' } }) });
  expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
  // The same cursor works for its own tenant.
  expect((await get(`/v1/audit/export?after=${bFirst}`, b.admin)).status).toBe(200);
});

it('needs a tenant API token; refuses a bad limit', async () => {
  expect((await get('/v1/audit/export')).status).toBe(401);
  expect((await get('/v1/audit/export', `kp_${'x'.repeat(40)}`)).status).toBe(401);
  expect((await get('/v1/audit/export', ADMIN_TOKEN)).status).toBe(403);
  const w = await world(0);
  expect((await get('/v1/audit/export?limit=0', w.admin)).status).toBe(400);
  expect((await get('/v1/audit/export?limit=5001', w.admin)).status).toBe(400);
  expect((await get('/v1/audit/export', w.viewer)).status).toBe(200);
});
