import { Field, ID, InterfaceType } from 'type-graphql';

/** The object types `node(id:)` can answer, by GraphQL type name. */
export const NODE_TYPES = ['Tenant', 'Credential', 'Gateway', 'ApiToken'] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

/** An object `node(id:)` returns: tagged with its type, since resolvers hand out plain objects. */
export type TaggedNode<T extends object = object> = T & { __typename: NodeTypeName };

export function tagNode<T extends object>(typename: NodeTypeName, value: T): TaggedNode<T> {
  return Object.assign(value, { __typename: typename });
}

/*
 * Global object identification (Relay, Apollo normalisation). Existing ids are already global:
 * every id column is a random v4 UUID (gen_random_uuid()), unique across tables, so a node id is
 * the object's own id and no new encoding (and no breaking change of every id field) is needed;
 * node(id:) finds the type by looking the id up. __typename plus id is the cache key.
 */
@InterfaceType('Node', {
  description:
    'An object with a globally unique id (a UUID, the same as its own id field): refetch it with node(id:). Caches key on __typename and id.',
  resolveType: (value: { __typename?: string }) => value.__typename,
})
export abstract class Node {
  @Field(() => ID, { description: 'Globally unique id.' }) id!: string;
}
