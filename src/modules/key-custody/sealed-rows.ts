import { escapeIdentifier as ident } from 'pg';
import { SEAL_KINDS, type SealKind } from '../../crypto';

/** What these queries need: a DataSource or a transaction's EntityManager. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface SealedCount {
  kind: string;
  kekVersion: number;
  count: number;
}

/*
 * Table and column names come from the seal catalogue (constants, quoted with pg's escapeIdentifier),
 * never from input; every value is a parameter.
 */

/**
 * The distinct KEK versions one kind's rows use. A loose index scan over the partial kek_version
 * index (migration 1795900300000): a recursive CTE that jumps to the next larger version, so the
 * cost is one index probe per distinct version (a handful), not a pass over the table. That keeps
 * the start-up check in milliseconds at 1M rows, where SELECT DISTINCT would read every entry.
 */
export async function versionsInUse(db: Queryable, kind: SealKind): Promise<number[]> {
  const [t, c] = [ident(kind.table), ident(kind.columns.kekVersion)];
  const rows: { k: number }[] = await db.query(
    `WITH RECURSIVE v(k) AS (
       (SELECT ${c} FROM ${t} WHERE ${c} IS NOT NULL ORDER BY ${c} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${c} FROM ${t} WHERE ${c} > v.k ORDER BY ${c} LIMIT 1) FROM v WHERE v.k IS NOT NULL
     )
     SELECT k FROM v WHERE k IS NOT NULL`,
  );
  return rows.map((r) => Number(r.k));
}

/** Rows of one kind per KEK version, for the given versions only (an index-only range scan each). */
export async function countByVersion(db: Queryable, kind: SealKind, versions: readonly number[]): Promise<SealedCount[]> {
  if (versions.length === 0) return [];
  const [t, c] = [ident(kind.table), ident(kind.columns.kekVersion)];
  const rows: { v: number; n: number }[] = await db.query(
    `SELECT ${c} AS v, count(*)::int AS n FROM ${t} WHERE ${c} = ANY($1::int[]) GROUP BY ${c}`,
    [versions],
  );
  return rows.map((r) => ({ kind: kind.kind, kekVersion: Number(r.v), count: r.n }));
}

/** Sealed rows per kind and KEK version, over every kind of the catalogue. */
export async function sealedCounts(db: Queryable, kinds: readonly SealKind[] = SEAL_KINDS): Promise<SealedCount[]> {
  const out: SealedCount[] = [];
  for (const kind of kinds) out.push(...(await countByVersion(db, kind, await versionsInUse(db, kind))));
  return out.sort((a, b) => a.kekVersion - b.kekVersion || a.kind.localeCompare(b.kind));
}

/** Rows sealed under versions `missing`, per kind; cheap when they are few (the start-up check). */
export async function countsUnder(db: Queryable, versions: readonly number[], kinds: readonly SealKind[] = SEAL_KINDS): Promise<SealedCount[]> {
  const out: SealedCount[] = [];
  for (const kind of kinds) out.push(...(await countByVersion(db, kind, versions)));
  return out;
}

/** "version 3: credential-version 12, platform-key 1; version 4: ..." (ids and counts only). */
export function describeCounts(counts: readonly SealedCount[]): string {
  const byVersion = new Map<number, SealedCount[]>();
  for (const c of counts) byVersion.set(c.kekVersion, [...(byVersion.get(c.kekVersion) ?? []), c]);
  return [...byVersion.entries()]
    .sort(([a], [b]) => a - b)
    .map(([v, cs]) => `version ${v}: ${cs.map((c) => `${c.kind} ${c.count}`).join(', ')}`)
    .join('; ');
}
