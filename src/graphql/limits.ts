import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type GraphQLSchema,
  type TypeNode,
  type VariableDefinitionNode,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

/** Costs already computed, per parsed document (Apollo reuses the parsed document of a query it has seen). */
const MAX_COSTS_PER_DOCUMENT = 64;

/**
 * Cost limit: each field costs 1, list fields multiply their children by `first`. Keeps a single
 * request from fanning out into thousands of rows. The cost depends only on the document, the
 * operation and the values of its Int variables (no field has its own estimator), so it is
 * computed once for each such combination; the key never holds a string variable (a secret).
 */
export function complexityPlugin(schema: GraphQLSchema, max: number): ApolloServerPlugin {
  const costs = new WeakMap<DocumentNode, Map<string, number>>();
  const estimators = [
    fieldExtensionsEstimator(),
    ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) => {
      // At least 1: a negative `first` on one alias must not cancel out the cost of the others.
      const first = typeof args.first === 'number' ? Math.max(1, args.first) : null;
      return first ? 1 + childComplexity * first : undefined;
    },
    simpleEstimator({ defaultComplexity: 1 }),
  ];
  const tooComplex = (complexity: number) =>
    new GraphQLError(`Query cost ${complexity} exceeds the maximum of ${max}.`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
    });
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const operation = getOperationAST(document, request.operationName ?? undefined);
          const variables = request.variables ?? {};
          const key = costKey(request.operationName, operation?.variableDefinitions ?? [], variables);
          let known = costs.get(document);
          const cached = known?.get(key);
          if (cached !== undefined) {
            if (cached > max) throw tooComplex(cached);
            return;
          }
          // Invalid variables are the executor's to report (BAD_USER_INPUT, before any resolver runs);
          // getComplexity would throw graphql-js's message, which quotes the submitted value, as a 500.
          if (operation && getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors) return;
          const complexity = getComplexity({ schema, operationName: request.operationName ?? undefined, query: document, variables, estimators });
          if (!known) costs.set(document, (known = new Map()));
          if (known.size < MAX_COSTS_PER_DOCUMENT) known.set(key, complexity);
          if (complexity > max) throw tooComplex(complexity);
        },
      };
    },
  };
}

/** The operation name and the Int variables' values: all the cost can depend on. */
function costKey(
  operationName: string | null | undefined,
  definitions: readonly VariableDefinitionNode[],
  variables: Record<string, unknown>,
): string {
  const ints = definitions.filter((d) => namedType(d.type) === 'Int').map((d) => variables[d.variable.name.value] ?? null);
  return JSON.stringify([operationName ?? null, ints.map((v) => (typeof v === 'number' ? v : v === null ? null : '?'))]);
}

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}
