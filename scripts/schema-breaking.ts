/**
 * The GraphQL breaking-change check (docs/graphql-api.md, "Breaking-change policy").
 *
 * Diffs schema/schema.graphql (the emitted SDL; `npm run schema:check` keeps it equal to the code)
 * against schema/baseline.graphql (the contract frontend teams built against: moved forward only on
 * purpose, with --update-baseline, at a release). Every breaking change must be listed in
 * schema/breaking-allowances.json with the reason it is acceptable; anything else fails. An
 * allowance that matches no change fails too, so the file cannot keep a hole open for a later break.
 * Dangerous changes (an enum value or union member added, an argument default changed) are printed.
 *
 * Uses @graphql-inspector/core (the diff engine of @graphql-inspector/cli) rather than the CLI:
 * the CLI has no allowance list, and the core package brings three small dependencies instead of
 * the CLI's loaders (HTTP, git, GitHub, code).
 *
 *   npm run schema:breaking                      check (CI)
 *   npm run schema:breaking -- --update-baseline  baseline := current SDL, allowances emptied
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

const ROOT = resolve(__dirname, '..');
const CURRENT = resolve(ROOT, 'schema', 'schema.graphql');
const BASELINE = resolve(ROOT, 'schema', 'baseline.graphql');
const ALLOWANCES = resolve(ROOT, 'schema', 'breaking-allowances.json');

export interface Allowance {
  /** graphql-inspector's change type, e.g. FIELD_TYPE_CHANGED. */
  type: string;
  /** The schema coordinate the change is at, e.g. Query.credential. */
  path: string;
  /** graphql-inspector's sentence, for readers; not matched. */
  change?: string;
  /** Why this break is acceptable (who uses it, what they must do). Required. */
  reason: string;
}

export interface AllowanceFile {
  $comment?: string;
  allowances: Allowance[];
}

export interface BreakingReport {
  allowed: { change: Change; allowance: Allowance }[];
  unallowed: Change[];
  stale: Allowance[];
  dangerous: Change[];
  invalid: string[];
}

const keyOf = (type: string, path: string | undefined) => `${type} ${path ?? ''}`;

/** Sorts the changes between two SDLs against the allowances. Pure, for tests. */
export async function checkBreaking(baselineSdl: string, currentSdl: string, file: AllowanceFile): Promise<BreakingReport> {
  const changes = await diff(buildSchema(baselineSdl), buildSchema(currentSdl));
  const invalid: string[] = [];
  const byKey = new Map<string, Allowance>();
  for (const [i, a] of (file.allowances ?? []).entries()) {
    if (
      !a ||
      typeof a.type !== 'string' ||
      typeof a.path !== 'string' ||
      typeof a.reason !== 'string' ||
      a.reason.trim().length < 10 ||
      /^TODO/i.test(a.reason.trim())
    ) {
      invalid.push(`allowances[${i}]: needs "type", "path" and a "reason" (a sentence)`);
      continue;
    }
    byKey.set(keyOf(a.type, a.path), a);
  }
  const report: BreakingReport = { allowed: [], unallowed: [], stale: [], dangerous: [], invalid };
  const used = new Set<string>();
  for (const change of changes) {
    if (change.criticality.level === CriticalityLevel.Dangerous) report.dangerous.push(change);
    if (change.criticality.level !== CriticalityLevel.Breaking) continue;
    const key = keyOf(change.type, change.path);
    const allowance = byKey.get(key);
    if (allowance) {
      used.add(key);
      report.allowed.push({ change, allowance });
    } else {
      report.unallowed.push(change);
    }
  }
  report.stale = [...byKey.entries()].filter(([key]) => !used.has(key)).map(([, a]) => a);
  return report;
}

export function readAllowances(path = ALLOWANCES): AllowanceFile {
  if (!existsSync(path)) return { allowances: [] };
  return JSON.parse(readFileSync(path, 'utf8')) as AllowanceFile;
}

const EMPTY_ALLOWANCES: AllowanceFile = {
  $comment:
    'Breaking changes to the GraphQL schema accepted on purpose since schema/baseline.graphql (docs/graphql-api.md). Each entry: type and path as `npm run schema:breaking` prints them, and the reason.',
  allowances: [],
};

async function main(): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (process.argv.includes('--update-baseline')) {
    writeFileSync(BASELINE, readFileSync(CURRENT, 'utf8'));
    writeFileSync(ALLOWANCES, `${JSON.stringify(EMPTY_ALLOWANCES, null, 2)}\n`);
    out('schema/baseline.graphql := schema/schema.graphql; schema/breaking-allowances.json emptied.');
    return 0;
  }
  const report = await checkBreaking(readFileSync(BASELINE, 'utf8'), readFileSync(CURRENT, 'utf8'), readAllowances());
  for (const c of report.dangerous) out(`dangerous (allowed): ${c.message}`);
  for (const { change } of report.allowed) out(`breaking, allowed: ${change.message}`);
  for (const line of report.invalid) out(`schema/breaking-allowances.json: ${line}`);
  for (const a of report.stale) {
    out(`stale allowance (no such change any more, remove it): ${a.type} ${a.path}`);
  }
  if (report.unallowed.length) {
    out('\nBreaking changes against schema/baseline.graphql (deprecate instead, or allow each one deliberately):');
    for (const c of report.unallowed) out(`  ${c.message}`);
    out('\nTo allow them, add to "allowances" in schema/breaking-allowances.json, each with its reason:');
    const snippet = report.unallowed.map((c) => ({ type: c.type, path: c.path, change: c.message, reason: 'TODO: why this is acceptable' }));
    out(JSON.stringify(snippet, null, 2));
  }
  const failed = report.unallowed.length + report.stale.length + report.invalid.length;
  out(failed ? `schema breaking-change check failed (${failed} problem(s)).` : `no unallowed breaking change against schema/baseline.graphql.`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
