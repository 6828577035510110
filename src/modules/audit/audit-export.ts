import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor } from '../../db/pagination';
import { NotFoundError } from '../../errors';
import { CHAINED_ROW_COLUMNS, type ChainedRow } from './audit-chain';
import { chainCheckpoints } from './audit-integrity';

export const EXPORT_PAGE_DEFAULT = 1_000;
export const EXPORT_PAGE_MAX = 5_000;

export interface ExportPage {
  /** NDJSON lines, each ending in "\n": events in seq order, and the checkpoints among them. */
  lines: string[];
  /** For the next page's `after`; null on the last page. */
  nextCursor: string | null;
}

/**
 * One page of a tenant's audit chain for export (docs/audit.md "Export"). The cursor names the
 * last event of the previous page and is looked up inside this tenant only, so a forged cursor and
 * another tenant's are the same NOT_FOUND as a random one. The last page also carries checkpoints
 * past the last row, so an offline verifier sees a cut tail.
 */
export async function exportPage(db: Pick<DataSource, 'query'>, tenantId: string, after: string | null, limit: number): Promise<ExportPage> {
  let afterSeq = '0';
  if (after) {
    let id: string;
    try {
      id = decodeCursor(after);
    } catch {
      throw new NotFoundError('Cursor');
    }
    const [row]: { seq: string }[] = await db.query('SELECT seq::text AS seq FROM audit_events WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    if (!row) throw new NotFoundError('Cursor');
    afterSeq = row.seq;
  }
  const rows: ChainedRow[] = await db.query(
    `SELECT ${CHAINED_ROW_COLUMNS} FROM audit_events e WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
    [tenantId, afterSeq, limit + 1],
  );
  const page = rows.slice(0, limit);
  const more = rows.length > limit;
  const lastSeq = page.length ? BigInt(page[page.length - 1].seq) : null;
  const checkpoints = (await chainCheckpoints(db, tenantId, afterSeq)).filter((c) => !more || (lastSeq !== null && BigInt(c.seq) <= lastSeq));
  const lines: string[] = [];
  let next = 0;
  for (const row of page) {
    lines.push(JSON.stringify({ type: 'event', ...row }) + '\n');
    while (next < checkpoints.length && BigInt(checkpoints[next].seq) <= BigInt(row.seq)) {
      lines.push(JSON.stringify({ type: 'checkpoint', ...checkpoints[next++] }) + '\n');
    }
  }
  for (; next < checkpoints.length; next++) lines.push(JSON.stringify({ type: 'checkpoint', ...checkpoints[next] }) + '\n');
  return { lines, nextCursor: more ? encodeCursor(page[page.length - 1].id) : null };
}
