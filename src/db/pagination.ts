import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadRequestError } from '../errors';

export interface PageArgs {
  first: number;
  after?: string | null;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

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

export function checkPageSize(first: number, max: number): void {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw new BadRequestError(`"first" must be from 1 to ${max}.`);
  }
}

/**
 * Keyset pagination, newest first, over (created_at, id). The cursor names a row id; its position
 * is looked up inside the same tenant, so another tenant's id behaves like a random one.
 */
export async function keysetPage<T extends ObjectLiteral & { id: string }>(
  qb: SelectQueryBuilder<T>,
  table: string,
  tenantId: string | null,
  args: PageArgs,
): Promise<Page<T>> {
  const alias = qb.alias;
  if (args.after) {
    const afterId = decodeCursor(args.after);
    const tenantFilter = tenantId ? 'AND c.tenant_id = :pageTenantId' : '';
    qb.andWhere(`(${alias}.createdAt, ${alias}.id) < (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = :afterId ${tenantFilter})`, {
      afterId,
      pageTenantId: tenantId,
    });
  }
  const rows = await qb
    .orderBy(`${alias}.createdAt`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(args.first + 1)
    .getMany();
  return pageOf(rows, args.first, (row) => encodeCursor(row.id));
}

/**
 * The page in rows read with LIMIT first + 1: the extra row is never returned, it only tells that
 * more follow (no count query). `cursorOf` names the last returned row for the next `after`.
 */
export function pageOf<T>(rows: T[], first: number, cursorOf: (row: T) => string): Page<T> {
  const nodes = rows.slice(0, first);
  return { nodes, hasNextPage: rows.length > first, endCursor: nodes.length ? cursorOf(nodes[nodes.length - 1]) : null };
}
