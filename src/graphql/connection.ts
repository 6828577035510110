import type { ClassType } from 'type-graphql';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { encodeCursor, type Page } from '../db/pagination';

@ObjectType({ simpleResolvers: true, description: 'Relay page information.' })
export class PageInfo {
  @Field({ description: 'Whether more items follow this page.' }) hasNextPage!: boolean;
  @Field({ description: 'Always false: pages only go forward.' }) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Cursor of the first item of this page.' }) startCursor!: string | null;
  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' }) endCursor!: string | null;
}

@ArgsType()
export class PageArgsInput {
  @Field(() => Int, { defaultValue: 20, description: 'Page size, 1 to the server maximum (100 by default).' })
  first!: number;
  @Field(() => String, { nullable: true, description: 'Cursor from a previous page.' })
  after?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
}

/** Relay connection and edge types for one node type, newest first. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `An edge in a ${name} connection.` })
  class Edge {
    @Field({ description: 'Opaque cursor of this item.' }) cursor!: string;
    @Field(() => node, { description: 'The item.' }) node!: T;
  }
  @ObjectType(`${name}Connection`, { simpleResolvers: true, description: `A page of ${name} items, newest first.` })
  class ConnectionClass {
    @Field(() => [Edge], { description: 'Items with their cursors.' }) edges!: Edge[];
    @Field(() => [node], { description: 'The items, without cursors.' }) nodes!: T[];
    @Field(() => PageInfo, { description: 'Where this page sits.' }) pageInfo!: PageInfo;
  }
  return ConnectionClass;
}

export function toConnection<T extends { id: string }, U = T>(page: Page<T>, map?: (node: T) => U): Connection<U> {
  const edges = page.nodes.map((node) => ({ cursor: encodeCursor(node.id), node: map ? map(node) : (node as unknown as U) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: page.endCursor,
    },
  };
}
