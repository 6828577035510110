import { appendFileSync } from 'node:fs';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { MUTATION_ERROR_CODES } from '../../src/graphql/mutation-errors';

/**
 * "mutation: CODE" for every userErrors code a response carries that its mutation does not declare
 * in src/graphql/mutation-errors.ts (the list each mutation's description publishes). The test
 * harness runs it on every response, so the whole suite keeps the published lists honest.
 */
export function undeclaredUserErrorCodes(query: string, data: unknown): string[] {
  if (!data || typeof data !== 'object' || !/\bmutation\b/.test(query)) return [];
  let doc;
  try {
    doc = parse(query);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION || (def as OperationDefinitionNode).operation !== 'mutation') continue;
    for (const sel of (def as OperationDefinitionNode).selectionSet.selections) {
      if (sel.kind !== Kind.FIELD) continue;
      const payload = (data as Record<string, unknown>)[sel.alias?.value ?? sel.name.value] as { userErrors?: { code?: string }[] } | null;
      const declared = MUTATION_ERROR_CODES[sel.name.value] ?? [];
      for (const e of payload?.userErrors ?? []) {
        if (e.code && !declared.includes(e.code as never)) found.push(`${sel.name.value}: ${e.code}`);
      }
    }
  }
  return found;
}

/** Fails the request (or, with KEYPLANE_TEST_RECORD_CODES=file, records it) when a code is undeclared. */
export function checkDeclaredCodes(query: string, data: unknown): void {
  const found = undeclaredUserErrorCodes(query, data);
  if (found.length === 0) return;
  const file = process.env.KEYPLANE_TEST_RECORD_CODES;
  if (file) appendFileSync(file, found.map((f) => `${f}\n`).join(''));
  else throw new Error(`userErrors codes not declared in src/graphql/mutation-errors.ts: ${found.join(', ')}`);
}
