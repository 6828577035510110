/**
 * Writes the machine-readable contracts from the code: schema/openapi.json (the REST API,
 * src/http/openapi.ts) and docs/webhooks/<type>.schema.json (every webhook body,
 * src/modules/webhook/webhook-schemas.ts). With --check it writes nothing and fails when a
 * committed file differs, is missing, or is left over: contract changes must be deliberate.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { openApiText } from '../src/http/openapi';
import { WEBHOOK_EVENT_TYPES } from '../src/modules/webhook/webhook-messages';
import { webhookSchemaText } from '../src/modules/webhook/webhook-schemas';

const root = resolve(__dirname, '..');
const webhooksDir = join(root, 'docs', 'webhooks');
const SCHEMA_SUFFIX = '.schema.json';

function expected(): Map<string, string> {
  const files = new Map<string, string>([[join(root, 'schema', 'openapi.json'), openApiText()]]);
  for (const type of WEBHOOK_EVENT_TYPES) files.set(join(webhooksDir, `${type}${SCHEMA_SUFFIX}`), webhookSchemaText(type));
  return files;
}

function main(): void {
  const files = expected();
  const committedSchemas = existsSync(webhooksDir) ? readdirSync(webhooksDir).filter((f) => f.endsWith(SCHEMA_SUFFIX)) : [];
  const leftOver = committedSchemas.map((f) => join(webhooksDir, f)).filter((f) => !files.has(f));
  if (process.argv.includes('--check')) {
    const stale = [...files].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file);
    const problems = [
      ...stale.map((f) => `${relative(root, f)} is out of date`),
      ...leftOver.map((f) => `${relative(root, f)} describes no webhook the code sends`),
    ];
    if (problems.length > 0) {
      process.stderr.write(`${problems.join('\n')}\nRun \`npm run contracts:emit\` and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write(`${files.size} contract files match the code.\n`);
    return;
  }
  mkdirSync(webhooksDir, { recursive: true });
  for (const [file, text] of files) writeFileSync(file, text);
  for (const file of leftOver) process.stdout.write(`left over (remove it if the webhook is gone): ${relative(root, file)}\n`);
  process.stdout.write(`wrote ${[...files.keys()].map((f) => relative(root, f)).join(', ')}\n`);
}

main();
