import 'reflect-metadata';
import { GraphQLScalarType, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
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
/**
 * type-graphql's DateTimeISO (graphql-scalars), documented for client code generation: the same
 * scalar and wire format, only a fuller description and a specifiedBy URL.
 */
export const DateTimeISO = new GraphQLScalarType({
  ...GraphQLDateTimeISO.toConfig(),
  description:
    'A UTC date-time string in RFC 3339 / ISO 8601 form with milliseconds, e.g. "2026-12-06T09:15:30.000Z"; sent and accepted as a string. Map it to `string` in client code generation (GraphQL Code Generator: `scalars: { DateTimeISO: string }`; docs/graphql-api.md).',
  specifiedByURL: 'https://datatracker.ietf.org/doc/html/rfc3339#section-5.6',
});

export async function buildKeyplaneSchema(container?: ContainerType): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [RESOLVERS[0].cls, ...RESOLVERS.slice(1).map((r) => r.cls)],
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeISO }],
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
