import 'reflect-metadata';
import { runMigrations } from 'bullmq';
import { Client } from 'pg';
import { ConfigError, databaseUrlFromEnv, queueSettingsFromEnv } from '../config';
import { describeDatabaseUrl, queueSchemaOf } from '../config-values';
import { createLogger } from '../logger';
import { explainSchemaError } from '../queue/backend';
import { createDataSource } from './data-source';

/**
 * `npm run migrate`: the one deployment step that changes schemas. Keyplane's own migrations, then,
 * on QUEUE_BACKEND=postgres, BullMQ's schema (its runMigrations, under an advisory lock, so two
 * deploys running this at once take turns). API and worker processes never migrate: they check the
 * schema at start and refuse to run on one that is missing or newer than they understand.
 */
export async function migrateQueueSchema(databaseUrl: string, schema: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'keyplane-migrate' });
  await client.connect();
  try {
    return await runMigrations(client, schema);
  } catch (error) {
    throw explainSchemaError(error, schema);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const log = createLogger('info').child({ process: 'migrate' });
  const url = databaseUrlFromEnv();
  const queue = queueSettingsFromEnv();
  const db = createDataSource(url, 2);
  await db.initialize();
  try {
    const applied = await db.runMigrations({ transaction: 'each' });
    log.info({ applied: applied.length, database: describeDatabaseUrl(url) }, 'Keyplane migrations applied');
  } finally {
    await db.destroy();
  }
  if (queue.backend === 'postgres') {
    const schema = queueSchemaOf(queue.prefix);
    const version = await migrateQueueSchema(url, schema);
    log.info({ schema, version }, 'BullMQ queue schema migrated');
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`migrate: ${error instanceof ConfigError ? error.message : `failed: ${error.message}`}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  });
}
