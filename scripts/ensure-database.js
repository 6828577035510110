'use strict';
// Creates the database named in DATABASE_URL when it does not exist yet (run by scripts/start.sh
// after the build). Connects to the `postgres` database of the same server, with the same user.
// Prints host, port and database name only: the URL may carry a password.
const { Client, escapeIdentifier } = require('pg');
const { databaseUrlFromEnv } = require('../dist/src/config');

function describe(url) {
  return `${url.hostname || 'localhost'}:${url.port || 5432}`;
}

async function main() {
  let target;
  try {
    // The same parsing and default as the API (src/config.ts).
    target = new URL(databaseUrlFromEnv());
  } catch {
    console.error('ensure-database: DATABASE_URL is not a valid URL');
    return 78;
  }
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) {
    console.log('ensure-database: DATABASE_URL names no database; nothing to create');
    return 0;
  }
  const admin = new URL(target.href);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.href });
  try {
    await client.connect();
  } catch (error) {
    console.error(
      `ensure-database: cannot connect to PostgreSQL at ${describe(target)} (${error.message}). ` + 'Start PostgreSQL or set DATABASE_URL.',
    );
    return 1;
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount > 0) {
      console.log(`ensure-database: database "${name}" exists on ${describe(target)}`);
      return 0;
    }
    // CREATE DATABASE takes no bind parameters: the name is quoted as an identifier instead.
    await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    console.log(`ensure-database: created database "${name}" on ${describe(target)}`);
    return 0;
  } catch (error) {
    if (error.code === '42P04') return 0; // created concurrently by someone else
    const hint = error.code === '42501' ? ' (the user may not create databases: create it by hand)' : '';
    console.error(`ensure-database: could not create database "${name}": ${error.message}${hint}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

main().then((code) => process.exit(code));
