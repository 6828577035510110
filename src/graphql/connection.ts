import type { ClassType } from 'type-graphql';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { encodeCursor, TOTAL_COUNT_CAP, type Page } from '../db/pagination';

@ObjectType({ simpleResolvers: true, description: 'Relay page information.' })
export class PageInfo {
  @Field({ description: 'Whether more items follow this page (older ones). Paging backward: true when `before` was given.' })
  hasNextPage!: boolean;
  @Field({ description: 'Whether items come before this page (newer ones). Paging forward: true when `after` was given.' })
  hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Cursor of the first item of this page: pass as `before` (with `last`) for the page before.' })
  startCursor!: string | null;
  @Field(() => String, { nullable: true, description: 'Cursor of the last item of this page: pass as `after` (with `first`) for the next page.' })
  endCursor!: string | null;
}

/** Forward paging only (first/after): lists whose order has no backward keyset (keyReuseGroups). */
@ArgsType()
export class ForwardPageArgsInput {
  @Field(() => Int, { defaultValue: 20, description: 'Page size, 1 to the server maximum (100 by default).' })
  first!: number;
  @Field(() => String, { nullable: true, description: 'Cursor from a previous page (its endCursor): the items after it.' })
  after?: string | null;
}

@ArgsType()
export class PageArgsInput extends ForwardPageArgsInput {
  @Field(() => Int, {
    nullable: true,
    description:
      'Page backward: this many items (1 to the server maximum) just before `before`, or the last ones of the list; still newest first. `first` is ignored when `last` is given; not with `after`.',
  })
  last?: number | null;
  @Field(() => String, { nullable: true, description: "With `last`: a cursor (a page's startCursor); the items before it, i.e. newer ones." })
  before?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  /** Called by graphql-js's default resolver only when selected. */
  totalCount: () => Promise<number>;
}

const TOTAL_COUNT_DESCRIPTION = `Items matching the arguments' filters on all pages, counted only when selected and up to ${TOTAL_COUNT_CAP.toLocaleString('en')}: a value of ${TOTAL_COUNT_CAP} means at least that many.`;

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
    @Field(() => Int, { description: TOTAL_COUNT_DESCRIPTION }) totalCount!: number;
  }
  return ConnectionClass;
}

// Every keysetPage page counts; a hand-made page without a count fails loudly rather than answer 0.
const noCount = () => Promise.reject(new Error('this list has no totalCount'));

export function toConnection<T extends { id: string }, U = T>(page: Page<T>, map?: (node: T) => U): Connection<U> {
  const edges = page.nodes.map((node) => ({ cursor: encodeCursor(node.id), node: map ? map(node) : (node as unknown as U) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage ?? false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: page.endCursor,
    },
    totalCount: page.totalCount ?? noCount,
  };
}
