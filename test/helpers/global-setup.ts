import 'reflect-metadata';
import { Client } from 'pg';
import { createDataSource } from '../../src/db/data-source';
import { prepareSoftHsmFolder } from './softhsm';
import { PG_ADMIN_URL, TEST_DATABASE_URL, TEST_DB } from './test-env';

/**
 * A fresh database per run, built by the real migrations (never synchronize). The integration and
 * e2e projects both name this setup; Jest calls it once per selected project in one process, so
 * the second call finds the database ready and keeps it.
 */
export default async function globalSetup(): Promise<void> {
  prepareSoftHsmFolder();
  if (process.env.KEYPLANE_TEST_DB_READY === TEST_DB) return;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEST_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEST_DB}`);
  } finally {
    await admin.end();
  }
  const db = createDataSource(TEST_DATABASE_URL, 2);
  await db.initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
  } finally {
    await db.destroy();
  }
  process.env.KEYPLANE_TEST_DB_READY = TEST_DB;
}
