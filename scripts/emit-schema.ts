/**
 * Writes schema/schema.graphql from the code (sorted), or with --check fails when the committed
 * file differs: schema changes for frontend teams must be deliberate.
 */
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildKeyplaneSchema, printSortedSchema } from '../src/graphql/build-schema';

async function main(): Promise<void> {
  const file = resolve(__dirname, '..', 'schema', 'schema.graphql');
  const sdl = printSortedSchema(await buildKeyplaneSchema());
  if (process.argv.includes('--check')) {
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (committed !== sdl) {
      process.stderr.write('schema/schema.graphql is out of date: run `npm run schema:emit` and commit the result.\n');
      process.exit(1);
    }
    process.stdout.write('schema/schema.graphql matches the code.\n');
    return;
  }
  writeFileSync(file, sdl);
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
