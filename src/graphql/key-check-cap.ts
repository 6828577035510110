import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/** Root fields that make Keyplane ask a provider about a key (at once or through the worker). */
export const KEY_CHECK_FIELDS = new Set(['testProviderKey', 'createCredential', 'rotateCredential', 'revalidateCredential']);

/**
 * Caps key-check fields per GraphQL document (KEY_CHECKS_PER_REQUEST): without it one request
 * carried 50 aliased checks. The per-tenant limiter still counts each field; this keeps one request
 * from being a burst of its own. Rejected before anything runs, as a 400 with code TOO_MANY_KEY_CHECKS.
 */
export function keyCheckCapPlugin(max: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const count = countKeyChecks(document, request.operationName ?? undefined);
          if (count > max) {
            throw new GraphQLError(`A request may hold at most ${max} key check${max === 1 ? '' : 's'}; this one holds ${count}.`, {
              extensions: { code: 'TOO_MANY_KEY_CHECKS', max, http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}

/** Key-check fields at the root of the operation, through fragments and aliases (a cycle counts once). */
export function countKeyChecks(document: DocumentNode, operationName?: string): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const count = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    let n = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) n += KEY_CHECK_FIELDS.has(sel.name.value) ? 1 : 0;
      else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value)) n += count(fragments.get(sel.name.value)?.selectionSet, new Set(seen).add(sel.name.value));
    }
    return n;
  };
  return count(operation.selectionSet, new Set());
}
