import { Client } from 'pg';
import { createDataSource } from '../../../src/db/data-source';
import { verifyChain } from '../../../src/modules/audit/audit-integrity';
import { PG_ADMIN_URL, TEST_DB } from '../../helpers/test-env';

/* Migration 1795960000000: rows written before the chain existed are chained, per chain, in created order. */

const SCRATCH = `${TEST_DB}_backfill`;
const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${SCRATCH}`);

async function admin(sql: string) {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(() => admin(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`).then(() => admin(`CREATE DATABASE ${SCRATCH}`)));
afterAll(() => admin(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`));

it('chains existing rows per tenant and for the platform, in created order, and the head follows', async () => {
  const db = createDataSource(url, 2);
  await db.initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
    // Back to just before the chain migration, however many came after it.
    for (;;) {
      const [last] = await db.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`);
      await db.undoLastMigration({ transaction: 'each' });
      if (last.name === 'AuditChain1795960000000') break;
    }
    const tenant = '11111111-1111-4111-8111-111111111111';
    // Inserted out of created order, with awkward details: the backfill orders and encodes them.
    await db.query(
      `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details, request_id, created_at) VALUES
        ($1, 'API_TOKEN', 't', 'SECOND', 'X', 'a', '{"n": 1.50, "s": "é\\n\\"q\\u0001"}', 'r', now() - interval '1 hour'),
        ($1, 'API_TOKEN', 't', 'FIRST', 'X', NULL, '{}', NULL, now() - interval '2 hours'),
        (NULL, 'SYSTEM', NULL, 'PLATFORM', 'Y', NULL, '{"big": 12345678901234567890}', NULL, now())`,
      [tenant],
    );
    await db.runMigrations({ transaction: 'each' });
    const rows = await db.query(`SELECT action, seq::text AS seq FROM audit_events WHERE tenant_id = $1 ORDER BY audit_events.seq`, [tenant]);
    expect(rows).toEqual([
      { action: 'FIRST', seq: '1' },
      { action: 'SECOND', seq: '2' },
    ]);
    for (const chain of [tenant, null]) expect(await verifyChain(db, [], chain)).toMatchObject({ ok: true, break: null });
    // New rows continue each chain.
    await db.query(`INSERT INTO audit_events (tenant_id, actor_type, action, target_type) VALUES ($1, 'SYSTEM', 'THIRD', 'X')`, [tenant]);
    expect(await verifyChain(db, [], tenant)).toMatchObject({ ok: true, rowsChecked: 3, lastSeq: '3' });
  } finally {
    await db.destroy();
  }
});
