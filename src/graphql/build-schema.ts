import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { authChecker } from './auth-checker';
import { describeMutationErrors } from './mutation-errors';
import { RESOLVERS } from './resolvers';
import { NO_PUBSUB } from './subscriptions';

/*
 * Every @ObjectType is declared with `simpleResolvers: true`: its plain fields resolve with
 * graphql-js's default resolver instead of a type-graphql wrapper that would run no middleware
 * anyway (there are no global middlewares and no field-level @Authorized on object types). A
 * 50-item page runs hundreds of those fields. @FieldResolver methods are not affected: they keep
 * type-graphql's handler (parameters, auth). Adding a field-level @Authorized or a middleware to an
 * object type means turning simpleResolvers off for that type.
 */
export async function buildKeyplaneSchema(container?: ContainerType): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [RESOLVERS[0].cls, ...RESOLVERS.slice(1).map((r) => r.cls)],
    authChecker,
    // Input rules live in the services and come back as userErrors; type-graphql only types.
    validate: false,
    // Subscriptions bring their own tenant-checked streams (src/graphql/subscriptions.ts).
    pubSub: NO_PUBSUB,
    container: container ?? {
      get: () => {
        throw new Error('schema built without services');
      },
    },
  });
  return describeMutationErrors(schema);
}

/** The committed SDL: sorted, so that a diff shows only real changes. */
export function printSortedSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
