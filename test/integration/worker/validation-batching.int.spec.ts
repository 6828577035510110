import { ConfirmedOutcomes } from '../../../src/modules/credential/credential-lifecycle.confirm';
import { VersionReader } from '../../../workers/processors/version-reader';
import type { KeyTestResult } from '../../../src/providers/types';
import { createCredential, providerId, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * Validation jobs share round trips: one read for the jobs that start together, one write (one
 * commit) for the outcomes that confirm a serving key still works. Each job
 * must learn whether its own row was recorded, and a row that no longer matches (rotated,
 * revoked, invalid, another tenant's) must be left alone so its job takes the full path.
 */
let t: TestApp;
let openai: string;

beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
});
afterAll(() => t.close());

const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params);
const VALID: KeyTestResult = {
  outcome: 'VALID',
  models: ['gpt-4o', 'o3'],
  message: 'The key works.',
  httpStatus: 200,
  retryAfterSeconds: null,
  latencyMs: 3,
};

/** ACTIVE credentials serving version 1, as after their first successful check. */
async function activeCredentials(n: number) {
  const { tenant, admin } = await tenantWithTokens(t);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createCredential(t, admin, { tenantId: tenant.id, providerId: openai })).id);
  await q(`UPDATE credentials SET status = 'ACTIVE', current_version = 1 WHERE id = ANY($1)`, [ids]);
  await q(`UPDATE credential_versions SET state = 'ACTIVE', activated_at = now(), validated_at = now() WHERE credential_id = ANY($1)`, [ids]);
  return { tenantId: tenant.id, ids };
}

/** The DataSource's query, counted. */
function counted() {
  const statements: string[] = [];
  return {
    statements,
    db: { query: (sql: string, params?: unknown[]) => (statements.push(sql), t.app.db.query(sql, params)) },
  };
}

it('records concurrent outcomes in one statement, each job told whether its own row was written', async () => {
  const { tenantId, ids } = await activeCredentials(30);
  const c = counted();
  const writer = new ConfirmedOutcomes(c.db);
  const results = await Promise.all(ids.map((credentialId) => writer.record({ tenantId, credentialId, version: 1 }, VALID)));
  expect(results).toEqual(ids.map(() => ({ changed: true })));
  expect(c.statements).toHaveLength(1);
  const rows = await q('SELECT status, last_validation_outcome, last_validation_models, last_validated_at FROM credentials WHERE id = ANY($1)', [
    ids,
  ]);
  for (const row of rows) {
    expect(row).toMatchObject({ status: 'ACTIVE', last_validation_outcome: 'VALID', last_validation_models: ['gpt-4o', 'o3'] });
    expect(row.last_validated_at).toBeInstanceOf(Date);
  }
});

it('leaves rows that no longer match alone and says so (null), without holding back the others', async () => {
  const { tenantId, ids } = await activeCredentials(6);
  const [ok, revoked, invalid, rotated, otherTenant, pendingVersion] = ids;
  await q(`UPDATE credentials SET revoked_at = now(), status = 'REVOKED' WHERE id = $1`, [revoked]);
  await q(`UPDATE credentials SET status = 'INVALID' WHERE id = $1`, [invalid]);
  await q(`UPDATE credentials SET current_version = 2 WHERE id = $1`, [rotated]);
  await q(`UPDATE credential_versions SET state = 'PENDING' WHERE credential_id = $1`, [pendingVersion]);
  const other = await tenantWithTokens(t);
  const before = await q('SELECT id, last_validation_outcome, updated_at FROM credentials WHERE id = ANY($1) ORDER BY id', [ids]);

  const writer = new ConfirmedOutcomes(t.app.db);
  const record = (credentialId: string, tenant = tenantId) => writer.record({ tenantId: tenant, credentialId, version: 1 }, VALID);
  const results = await Promise.all([
    record(ok),
    record(revoked),
    record(invalid),
    record(rotated),
    // A forged job naming another tenant: as if the credential did not exist.
    record(otherTenant, other.tenant.id),
    record(pendingVersion),
  ]);
  expect(results).toEqual([{ changed: true }, null, null, null, null, null]);
  const after = await q('SELECT id, last_validation_outcome, updated_at FROM credentials WHERE id = ANY($1) ORDER BY id', [ids]);
  for (const row of after) {
    const was = before.find((b: { id: string }) => b.id === row.id);
    if (row.id === ok) expect(row.last_validation_outcome).toBe('VALID');
    else expect(row).toEqual(was);
  }
});

it('says whether the outcome or the models changed, not only the time of the check', async () => {
  const { tenantId, ids } = await activeCredentials(1);
  const writer = new ConfirmedOutcomes(t.app.db);
  const v = { tenantId, credentialId: ids[0], version: 1 };
  expect(await writer.record(v, VALID)).toEqual({ changed: true });
  const [first] = await q('SELECT last_validated_at FROM credentials WHERE id = $1', [ids[0]]);
  expect(await writer.record(v, VALID)).toEqual({ changed: false });
  const [second] = await q('SELECT last_validated_at FROM credentials WHERE id = $1', [ids[0]]);
  expect(second.last_validated_at.getTime()).toBeGreaterThanOrEqual(first.last_validated_at.getTime());
  expect(await writer.record(v, { ...VALID, models: ['gpt-4o'] })).toEqual({ changed: true });
  expect(await writer.record(v, { ...VALID, outcome: 'VALID_NO_QUOTA' })).toEqual({ changed: true });
});

it('two jobs for the same credential go in separate statements, so neither outcome is lost to the other', async () => {
  const { tenantId, ids } = await activeCredentials(1);
  const c = counted();
  const writer = new ConfirmedOutcomes(c.db);
  const restricted: KeyTestResult = { ...VALID, outcome: 'VALID_RESTRICTED', models: ['gpt-4o'] };
  const results = await Promise.all([
    writer.record({ tenantId, credentialId: ids[0], version: 1 }, VALID),
    writer.record({ tenantId, credentialId: ids[0], version: 1 }, restricted),
  ]);
  expect(results).toEqual([{ changed: true }, { changed: true }]);
  expect(c.statements).toHaveLength(2);
  // Recorded in arrival order: the later check is the one that stays.
  const [row] = await q('SELECT last_validation_outcome, last_validation_models FROM credentials WHERE id = $1', [ids[0]]);
  expect(row).toEqual({ last_validation_outcome: 'VALID_RESTRICTED', last_validation_models: ['gpt-4o'] });
});

it('a statement that fails sends every job of its batch down the full path, and writes nothing', async () => {
  const { tenantId, ids } = await activeCredentials(3);
  const writer = new ConfirmedOutcomes(t.app.db);
  const results = await Promise.all([
    writer.record({ tenantId, credentialId: ids[0], version: 1 }, VALID),
    // Not a uuid: the whole statement fails (as a lost connection would).
    writer.record({ tenantId: 'not-a-uuid', credentialId: ids[1], version: 1 }, VALID),
    writer.record({ tenantId, credentialId: ids[2], version: 1 }, VALID),
  ]);
  expect(results).toEqual([null, null, null]);
  const rows = await q('SELECT last_validation_outcome FROM credentials WHERE id = ANY($1)', [ids]);
  expect(rows.map((r: { last_validation_outcome: string | null }) => r.last_validation_outcome)).toEqual([null, null, null]);
});

describe('VersionReader', () => {
  it('reads the versions of jobs starting together in one query, each job getting its own row', async () => {
    const { tenantId, ids } = await activeCredentials(5);
    await q(`UPDATE credentials SET revoked_at = now() WHERE id = $1`, [ids[4]]);
    const c = counted();
    const reader = new VersionReader(c.db);
    const rows = await Promise.all(ids.map((credentialId) => reader.read({ tenantId, credentialId, version: 1 })));
    expect(c.statements).toHaveLength(1);
    const stored = await q('SELECT credential_id, ciphertext FROM credential_versions WHERE credential_id = ANY($1)', [ids]);
    rows.forEach((row, i) => {
      expect(row).toMatchObject({ state: 'ACTIVE', base_url: expect.any(String), api_shape: 'OPENAI' });
      expect(row!.ciphertext!.equals(stored.find((s: { credential_id: string }) => s.credential_id === ids[i]).ciphertext)).toBe(true);
    });
    expect(rows[4]!.revoked_at).toBeInstanceOf(Date);
  });

  it('a forged or malformed job finds nothing and does not spoil the batch', async () => {
    const { tenantId, ids } = await activeCredentials(2);
    const other = await tenantWithTokens(t);
    const reader = new VersionReader(t.app.db);
    const [mine, forged, wrongVersion, malformed] = await Promise.all([
      reader.read({ tenantId, credentialId: ids[0], version: 1 }),
      reader.read({ tenantId: other.tenant.id, credentialId: ids[1], version: 1 }),
      reader.read({ tenantId, credentialId: ids[1], version: 7 }),
      reader.read({ tenantId: "x' OR 1=1 --", credentialId: ids[1], version: 1 }),
    ]);
    expect(mine).not.toBeNull();
    expect([forged, wrongVersion, malformed]).toEqual([null, null, null]);
  });
});
