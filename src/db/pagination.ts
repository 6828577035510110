import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadRequestError } from '../errors';

export interface PageArgs {
  first: number;
  after?: string | null;
  /** Backward paging: the `last` items before `before` (or at the end of the list); `first` is then ignored. */
  last?: number | null;
  before?: string | null;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  /** Whether items come before this page; false when not known cheaply (see keysetPage). */
  hasPreviousPage?: boolean;
  endCursor: string | null;
  /** Items matching the filters on all pages, capped at TOTAL_COUNT_CAP; run only when a client selects it. */
  totalCount?: () => Promise<number>;
}

/**
 * totalCount counts at most this many rows: the count reads the tenant's matching rows (an index
 * range), so a cap keeps its cost bounded on a tenant with millions of audit events. A value equal
 * to the cap means "at least this many".
 */
export const TOTAL_COUNT_CAP = 10_000;

const PREFIX = 'v1:';

export function encodeCursor(id: string): string {
  return Buffer.from(PREFIX + id, 'utf8').toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = raw.startsWith(PREFIX) ? raw.slice(PREFIX.length) : '';
  if (!UUID.test(id)) throw new BadRequestError('The cursor is not valid.');
  return id;
}

export function checkPageSize(first: number, max: number, name = 'first'): void {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw new BadRequestError(`"${name}" must be from 1 to ${max}.`);
  }
}

/** The page arguments as given: forward (first/after) or backward (last/before), never mixed. */
export function checkPageArgs(args: PageArgs, max: number): void {
  if (args.last == null) {
    if (args.before != null) throw new BadRequestError('"before" pages backward: give "last" with it.');
    checkPageSize(args.first, max);
    return;
  }
  if (args.after != null) throw new BadRequestError('Give "first" with "after", or "last" with "before", not "last" with "after".');
  checkPageSize(args.last, max, 'last');
}

/** Runs once, when first called: totalCount may be selected more than once (aliases). */
function once(run: () => Promise<number>): () => Promise<number> {
  let result: Promise<number> | null = null;
  return () => (result ??= run());
}

/** The number of rows a query builder would return, counted up to TOTAL_COUNT_CAP. */
function cappedCount<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>): () => Promise<number> {
  return once(async () => {
    const [sql, params] = qb.select(`${qb.alias}.id`).orderBy().getQueryAndParameters();
    const rows: { n: number }[] = await qb.connection.query(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${TOTAL_COUNT_CAP}) capped`, params);
    return rows[0].n;
  });
}

/**
 * Keyset pagination, newest first, over (created_at, id). The cursor names a row id; its position
 * is looked up inside the same tenant, so another tenant's id behaves like a random one.
 *
 * Forward (first/after): the `first` rows older than `after`. Backward (last/before): the `last`
 * rows newer than `before` (or the oldest `last` rows), read oldest first and returned newest first
 * like every page, so paging back and forth gives the same items in the same order. Either way
 * the extra row read (LIMIT n + 1) tells whether more follow in that direction; the other direction
 * is known from the cursor itself (the cursor's row is there), without a query.
 */
export async function keysetPage<T extends ObjectLiteral & { id: string }>(
  qb: SelectQueryBuilder<T>,
  table: string,
  tenantId: string | null,
  args: PageArgs,
): Promise<Page<T>> {
  const alias = qb.alias;
  const totalCount = cappedCount(qb.clone());
  const backward = args.last != null;
  const size = backward ? (args.last as number) : args.first;
  const cursor = backward ? args.before : args.after;
  if (cursor) {
    const cursorId = decodeCursor(cursor);
    const tenantFilter = tenantId ? 'AND c.tenant_id = :pageTenantId' : '';
    const op = backward ? '>' : '<';
    qb.andWhere(`(${alias}.createdAt, ${alias}.id) ${op} (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = :cursorId ${tenantFilter})`, {
      cursorId,
      pageTenantId: tenantId,
    });
  }
  const order = backward ? 'ASC' : 'DESC';
  const rows = await qb
    .orderBy(`${alias}.createdAt`, order)
    .addOrderBy(`${alias}.id`, order)
    .limit(size + 1)
    .getMany();
  const more = rows.length > size;
  const nodes = backward ? rows.slice(0, size).reverse() : rows.slice(0, size);
  return {
    nodes,
    hasNextPage: backward ? !!cursor : more,
    hasPreviousPage: backward ? more : !!cursor,
    endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1].id) : null,
    totalCount,
  };
}

/**
 * The page in rows read with LIMIT first + 1: the extra row is never returned, it only tells that
 * more follow (no count query). `cursorOf` names the last returned row for the next `after`.
 */
export function pageOf<T>(rows: T[], first: number, cursorOf: (row: T) => string): Page<T> {
  const nodes = rows.slice(0, first);
  return { nodes, hasNextPage: rows.length > first, endCursor: nodes.length ? cursorOf(nodes[nodes.length - 1]) : null };
}
