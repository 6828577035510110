import { Client } from 'pg';
import { loadConfig } from '../../../src/config';
import { runAuditCli } from '../../../src/cli/audit';
import { createCredential, createGateway, createToken, openaiKey, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_DATABASE_URL, TEST_ENV } from '../../helpers/test-env';

/*
 * Issue 16: hash-chained audit rows, verification, and what each kind of tampering looks like.
 * Tampering is done as an attacker with database rights would: in SQL, past the append-only
 * triggers (session_replication_role = replica turns ordinary triggers off for the transaction).
 */

let t: TestApp;
let openai: string;

beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
});
afterAll(() => t.close());

const INTEGRITY = `query($id: ID!) { auditIntegrity(tenantId: $id) {
  tenantId ok rowsChecked lastSeq lastHash checkpointsChecked lastCheckpoint { seq hash keyVersion signedAt }
  break { kind seq eventId message } } }`;

const q = <T = any>(sql: string, params: unknown[] = []): Promise<T[]> => t.app.db.query(sql, params);

async function tamper(...statements: [string, unknown[]?][]): Promise<void> {
  const c = new Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    for (const [sql, params] of statements) await c.query(sql, params ?? []);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}

/** A tenant with at least `n` audit rows (tenant and tokens created, then gateways). */
async function seeded(n = 6) {
  const w = await tenantWithTokens(t);
  let rows = await chain(w.tenant.id);
  while (rows.length < n) {
    await createGateway(t, w.admin, w.tenant.id);
    rows = await chain(w.tenant.id);
  }
  return { ...w, tenantId: w.tenant.id, rows };
}

const chain = (tenantId: string) =>
  q<{ id: string; seq: string; prev_hash: string; hash: string }>(
    'SELECT e.id, e.seq::text AS seq, e.prev_hash, e.hash FROM audit_events e WHERE e.tenant_id = $1 ORDER BY e.seq',
    [tenantId],
  );

const integrity = async (tenantId: string, token?: string) => {
  const res = await t.gql(INTEGRITY, { id: tenantId }, token);
  expect(res.errors).toBeUndefined();
  return res.data.auditIntegrity;
};

const breakOf = async (tenantId: string) => (await integrity(tenantId)).break;

describe('the chain', () => {
  it('links every row of a tenant, gap-free from 1, whatever wrote it (writer, group commit, fan-out)', async () => {
    const w = await seeded(4);
    await Promise.all([1, 2, 3].map(() => createCredential(t, w.admin, { tenantId: w.tenantId, providerId: openai })));
    const rows = await chain(w.tenantId);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => String(i + 1)));
    expect(rows[0].prev_hash).toBe('0'.repeat(64));
    rows.slice(1).forEach((r, i) => expect(r.prev_hash).toBe(rows[i].hash));
    const report = await integrity(w.tenantId, w.admin);
    expect(report).toMatchObject({ tenantId: w.tenantId, ok: true, rowsChecked: rows.length, lastSeq: String(rows.length), break: null });
    expect(report.lastHash).toBe(rows[rows.length - 1].hash);
  });

  it('is the same through GraphQL: seq, prevHash and hash on audit events', async () => {
    const w = await seeded(3);
    const res = await t.gql(
      'query($id: ID!) { auditEvents(tenantId: $id, first: 100) { nodes { id seq prevHash hash } } }',
      { id: w.tenantId },
      w.viewer,
    );
    const byId = new Map(w.rows.map((r) => [r.id, r]));
    for (const n of res.data.auditEvents.nodes)
      expect(n).toEqual({ id: n.id, seq: byId.get(n.id)!.seq, prevHash: byId.get(n.id)!.prev_hash, hash: byId.get(n.id)!.hash });
  });

  it('never forks under parallel writes from several API processes and raw concurrent transactions', async () => {
    const second = await startTestApp();
    try {
      const w = await seeded(3);
      const apps = [t, second];
      await Promise.all(Array.from({ length: 24 }, (_, i) => createGateway(apps[i % 2], w.admin, w.tenantId)));
      // Transactions that hold the chain a while: the others queue behind them, none skips or repeats.
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const c = new Client({ connectionString: TEST_DATABASE_URL });
          await c.connect();
          try {
            await c.query('BEGIN');
            await c.query(
              `INSERT INTO audit_events (tenant_id, actor_type, action, target_type, details) VALUES ($1, 'SYSTEM', 'TEST_PARALLEL', 'TEST', $2)`,
              [w.tenantId, JSON.stringify({ i })],
            );
            await c.query('SELECT pg_sleep(0.05)');
            await c.query(i % 3 === 0 ? 'ROLLBACK' : 'COMMIT');
          } finally {
            await c.end();
          }
        }),
      );
      const rows = await chain(w.tenantId);
      expect(rows.length).toBe(w.rows.length + 24 + 5); // 3 of the 8 rolled back, leaving no gap
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => String(i + 1)));
      expect(await breakOf(w.tenantId)).toBeNull();
    } finally {
      await second.close();
    }
  });

  it('is append-only for the application: UPDATE, DELETE and TRUNCATE raise', async () => {
    const w = await seeded(2);
    await expect(q('UPDATE audit_events SET action = $2 WHERE id = $1', [w.rows[0].id, 'X'])).rejects.toThrow(/append-only/);
    await expect(q('DELETE FROM audit_events WHERE id = $1', [w.rows[0].id])).rejects.toThrow(/append-only/);
    await expect(q('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  });
});

describe('auditIntegrity reports the first break', () => {
  const sql = {
    row: 'SELECT id, hash FROM audit_events WHERE tenant_id = $1 AND seq = $2',
    head: `UPDATE audit_chain_heads SET seq = $2, hash = (SELECT hash FROM audit_events WHERE tenant_id = $1::uuid AND seq = $2) WHERE chain = $1::text`,
  };

  it('a modified row: HASH_MISMATCH at its seq', async () => {
    const w = await seeded();
    await tamper([`UPDATE audit_events SET details = details || '{"note":"edited"}' WHERE tenant_id = $1 AND seq = 3`, [w.tenantId]]);
    expect(await breakOf(w.tenantId)).toEqual({ kind: 'HASH_MISMATCH', seq: '3', eventId: w.rows[2].id, message: 'row 3 was modified' });
  });

  it('a deleted row: SEQ_GAP naming the missing seq', async () => {
    const w = await seeded();
    await tamper(['DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 3', [w.tenantId]]);
    expect(await breakOf(w.tenantId)).toEqual({ kind: 'SEQ_GAP', seq: '3', eventId: null, message: 'row 3 is missing (the next row is 4)' });
  });

  it('an inserted row (correctly hashed, later rows renumbered): PREV_HASH_MISMATCH at the row after it', async () => {
    const w = await seeded();
    await tamper(
      ['UPDATE audit_events SET seq = seq + 1000 WHERE tenant_id = $1 AND seq >= 3', [w.tenantId]],
      ['UPDATE audit_events SET seq = seq - 999 WHERE tenant_id = $1 AND seq >= 1003', [w.tenantId]],
      [
        `INSERT INTO audit_events (tenant_id, actor_type, action, target_type, details, seq, prev_hash, hash)
         VALUES ($1, 'SYSTEM', 'FORGED', 'TENANT', '{}', 3, $2, 'x')`,
        [w.tenantId, w.rows[1].hash],
      ],
      ['UPDATE audit_events e SET hash = audit_event_hash(e.prev_hash, e) WHERE tenant_id = $1 AND seq = 3', [w.tenantId]],
    );
    expect(await breakOf(w.tenantId)).toEqual({
      kind: 'PREV_HASH_MISMATCH',
      seq: '4',
      eventId: w.rows[2].id,
      message: 'row 4 does not follow row 3',
    });
  });

  it('reordered rows: PREV_HASH_MISMATCH where the order changes', async () => {
    const w = await seeded();
    await tamper(
      ['UPDATE audit_events SET seq = -2 WHERE tenant_id = $1 AND seq = 2', [w.tenantId]],
      ['UPDATE audit_events SET seq = 2 WHERE tenant_id = $1 AND seq = 3', [w.tenantId]],
      ['UPDATE audit_events SET seq = 3 WHERE tenant_id = $1 AND seq = -2', [w.tenantId]],
    );
    expect(await breakOf(w.tenantId)).toEqual({
      kind: 'PREV_HASH_MISMATCH',
      seq: '2',
      eventId: w.rows[2].id,
      message: 'row 2 does not follow row 1',
    });
  });

  it('a cut tail with the head left as it was: HEAD_MISMATCH at the first missing seq', async () => {
    const w = await seeded();
    const n = w.rows.length;
    await tamper(['DELETE FROM audit_events WHERE tenant_id = $1 AND seq >= $2', [w.tenantId, n - 1]]);
    expect(await breakOf(w.tenantId)).toEqual({
      kind: 'HEAD_MISMATCH',
      seq: String(n - 1),
      eventId: null,
      message: `the chain head names row ${n}, the last row is ${n - 2}`,
    });
  });

  it('a cut tail with the head fixed too, after a checkpoint: TRUNCATED', async () => {
    const w = await seeded();
    const n = w.rows.length;
    await t.app.services.auditIntegrity.checkpoint();
    await tamper(['DELETE FROM audit_events WHERE tenant_id = $1 AND seq >= $2', [w.tenantId, n - 1]], [sql.head, [w.tenantId, n - 2]]);
    const report = await integrity(w.tenantId);
    expect(report.break).toEqual({
      kind: 'TRUNCATED',
      seq: String(n - 1),
      eventId: null,
      message: expect.stringMatching(`^rows ${n - 1} to ${n} are missing`),
    });
  });

  it('a chain rewritten from a modified row on: undetectable without a checkpoint, CHECKPOINT_MISMATCH with one', async () => {
    const rewrite = async (tenantId: string) =>
      tamper(
        [`UPDATE audit_events SET details = details || '{"note":"rewritten"}' WHERE tenant_id = $1 AND seq = 3`, [tenantId]],
        [
          `DO $$ DECLARE r audit_events; prev text; BEGIN
             SELECT hash INTO prev FROM audit_events WHERE tenant_id = '${tenantId}' AND seq = 2;
             FOR r IN SELECT * FROM audit_events WHERE tenant_id = '${tenantId}' AND seq >= 3 ORDER BY seq LOOP
               r.prev_hash := prev; prev := audit_event_hash(prev, r);
               UPDATE audit_events SET prev_hash = r.prev_hash, hash = prev WHERE id = r.id;
             END LOOP;
             UPDATE audit_chain_heads SET hash = prev WHERE chain = '${tenantId}';
           END $$`,
        ],
      );
    // The trust model (docs/audit.md): what no checkpoint covers, full database rights can rewrite.
    const early = await seeded();
    await rewrite(early.tenantId);
    expect(await breakOf(early.tenantId)).toBeNull();

    const w = await seeded();
    const n = w.rows.length;
    await t.app.services.auditIntegrity.checkpoint();
    await rewrite(w.tenantId);
    expect(await breakOf(w.tenantId)).toEqual({
      kind: 'CHECKPOINT_MISMATCH',
      seq: String(n),
      eventId: w.rows[n - 1].id,
      message: expect.stringMatching(`^row ${n} is not the row checkpointed at `),
    });
  });

  it('a forged checkpoint: CHECKPOINT_SIGNATURE_INVALID', async () => {
    const w = await seeded();
    await q(
      `INSERT INTO audit_checkpoints (chain, tenant_id, seq, hash, key_version, signature, signed_at) VALUES ($1::text, $1::uuid, 2, $2, 1, $3, now())`,
      [w.tenantId, w.rows[1].hash, Buffer.alloc(64, 1).toString('base64')],
    );
    expect(await breakOf(w.tenantId)).toMatchObject({ kind: 'CHECKPOINT_SIGNATURE_INVALID', seq: '2', eventId: w.rows[1].id });
  });

  it('a missing chain head: HEAD_MISSING, and every change of that tenant fails (SERVICE_UNAVAILABLE, nothing written)', async () => {
    const w = await seeded(3);
    await q('DELETE FROM audit_chain_heads WHERE chain = $1', [w.tenantId]);
    expect(await breakOf(w.tenantId)).toEqual({ kind: 'HEAD_MISSING', seq: null, eventId: null, message: 'the chain head is missing' });
    const counts = () =>
      q<{ n: number }>(
        `SELECT (SELECT count(*) FROM gateways WHERE tenant_id = $1) + (SELECT count(*) FROM credentials WHERE tenant_id = $1)
              + (SELECT count(*) FROM audit_events WHERE tenant_id = $1) AS n`,
        [w.tenantId],
      );
    const before = await counts();
    // One through the audit writer, one through the group-commit statement that writes its own audit row.
    const gateway = await t.gql(
      'mutation($input: CreateGatewayInput!) { createGateway(input: $input) { gateway { id } userErrors { code } } }',
      { input: { tenantId: w.tenantId, name: 'Edge', slug: uniqueSlug('gw') } },
      w.admin,
    );
    const credential = await t.gql(
      'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }',
      { input: { tenantId: w.tenantId, providerId: openai, label: uniqueSlug('k'), secret: openaiKey() } },
      w.admin,
    );
    for (const res of [gateway, credential]) {
      expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.retryAfter])).toEqual([['SERVICE_UNAVAILABLE', 5]]);
    }
    expect(await counts()).toEqual(before);
  });
});

describe('auditIntegrity access', () => {
  it('tenant admins for their own chain, platform admins for any; viewers FORBIDDEN; another tenant NOT_FOUND like a random id', async () => {
    const a = await seeded(2);
    const b = await seeded(2);
    expect((await integrity(a.tenantId, a.admin)).ok).toBe(true);
    expect((await integrity(a.tenantId)).ok).toBe(true);
    const viewer = await t.gql(INTEGRITY, { id: a.tenantId }, a.viewer);
    expect(viewer.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const other = await t.gql(INTEGRITY, { id: b.tenantId }, a.admin);
    const random = await t.gql(INTEGRITY, { id: '7d0c2a4e-0000-4000-8000-000000000000' }, a.admin);
    expect(other.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(other.raw).toBe(random.raw);
  });
});

describe('npm run audit', () => {
  const config = () => loadConfig({ ...process.env, ...TEST_ENV });

  it('verify --tenant: 0 and "ok" for an intact chain, 2 and the break for a broken one', async () => {
    const good = await seeded(3);
    const bad = await seeded(4);
    await tamper(['DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 2', [bad.tenantId]]);
    const out: string[] = [];
    expect(await runAuditCli(['verify', '--tenant', good.tenantId], config(), (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^ok ${good.tenantId}: ${good.rows.length} rows, head seq ${good.rows.length}`));
    out.length = 0;
    expect(await runAuditCli(['verify', '--tenant', bad.tenantId], config(), (l) => out.push(l))).toBe(2);
    expect(out[0]).toBe(`BROKEN ${bad.tenantId}: SEQ_GAP at seq 2: row 2 is missing (the next row is 3)`);
    expect(await runAuditCli(['verify', '--tenant', 'nope'], config(), () => undefined)).toBe(64);
  });

  it('checkpoint signs moved heads once; a broken chain is refused', async () => {
    const w = await seeded(3);
    const out: string[] = [];
    await runAuditCli(['checkpoint'], config(), (l) => out.push(l));
    expect(out).toContain(`signed ${w.tenantId} at seq ${w.rows.length} (key version 1)`);
    out.length = 0;
    await runAuditCli(['checkpoint'], config(), (l) => out.push(l));
    expect(out.some((l) => l.includes(w.tenantId))).toBe(false);
    await createToken(t, w.tenantId, 'VIEWER');
    await tamper([`UPDATE audit_events SET action = 'X' WHERE tenant_id = $1 AND seq = $2`, [w.tenantId, w.rows.length + 1]]);
    out.length = 0;
    expect(await runAuditCli(['checkpoint'], config(), (l) => out.push(l))).toBe(2);
    expect(out).toContain(
      `REFUSED BROKEN ${w.tenantId}: HASH_MISMATCH at seq ${w.rows.length + 1} (event ${(await chain(w.tenantId)).at(-1)!.id}): row ${w.rows.length + 1} was modified`,
    );
  });
});
