import { escapeIdentifier as ident } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { KekUnavailableError, KeyVersionUnavailableError, SEAL_KINDS, type SealKind, type SecretBox } from '../../crypto';
import { emptyCounts, MAX_LISTED_FAILURES, parseProgress, type RewrapFailure, type RewrapProgress } from './rewrap-progress';

/**
 * Rows per page (one transaction each). At a million rows, 1000 keeps the per-page costs (the run
 * row lock, the progress write, the job's progress in Redis) small next to the crypto and the
 * UPDATE, while a page's transaction stays short (tens of milliseconds).
 */
export const REWRAP_PAGE_SIZE = 1000;

/** A record that did not open while rewrapping (ids only), for the caller to report. */
export type UnreadableRecord = RewrapFailure & { tenantId: string | null; objectId: string; version: number | null };

export interface RewrapEngineDeps {
  db: DataSource;
  box: Pick<SecretBox, 'rewrap' | 'currentKeyVersion'>;
}

interface PageRow {
  id: string;
  o: string;
  t: string | null;
  v: number | null;
  kek: number;
  w: Buffer | null;
  c: Buffer | null;
}

const pkTypes = new Map<string, string>();

/** The SQL type of a kind's primary key, for the keyset cursor and the unnest() of the update. */
async function pkType(db: EntityManager, kind: SealKind): Promise<string> {
  const key = `${kind.table}.${kind.primaryKey}`;
  let type = pkTypes.get(key);
  if (!type) {
    const [row]: { t: string }[] = await db.query(
      `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
      [kind.table, kind.primaryKey],
    );
    if (!row || !/^[a-z ]+$/.test(row.t)) throw new Error(`unsupported primary key type for ${kind.kind}`);
    pkTypes.set(key, (type = row.t));
  }
  return type;
}

/** One page read and rewrapped in memory, not yet written: what commitPage applies. */
export interface PreparedPage {
  kind: SealKind;
  /** The cursor the page was read after: the page applies only if the run's cursor is still there. */
  after: string | null;
  /** Rows read (0: the kind has no rows left). */
  read: number;
  lastId: string | null;
  /** KEK version of every row read, for the counts. */
  versions: number[];
  updates: { id: string; oldVersion: number; oldWrapped: Buffer; newWrapped: Buffer }[];
  failures: (RewrapFailure & { tenantId: string | null; objectId: string; version: number | null })[];
  target: number;
}

/** Rows opened between two yields to the event loop, so a commit running meanwhile makes progress. */
const YIELD_EVERY = 64;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Reads one page of one kind after `after` (no lock: the write is a compare-and-set) and rewraps
 * its records in memory. Records already under the target are only counted: their material is not
 * even read. A record that does not open is listed as a failure; an HSM that cannot be reached
 * throws (KekUnavailableError): nothing is wrong with the record, the job retries later.
 */
export async function preparePage(deps: RewrapEngineDeps, kind: SealKind, after: string | null, pageSize = REWRAP_PAGE_SIZE): Promise<PreparedPage> {
  const target = deps.box.currentKeyVersion;
  const type = await pkType(deps.db.manager, kind);
  const col = ident;
  const [pk, kek, wrapped] = [col(kind.primaryKey), col(kind.columns.kekVersion), col(kind.columns.wrappedKey)];
  const tenant = 'column' in kind.tenant ? `${col(kind.tenant.column)}::text` : 'NULL';
  const version = 'column' in kind.version ? col(kind.version.column) : 'NULL';
  const rows: PageRow[] = await deps.db.query(
    // ORDER BY s.<pk>, not the output column "id" (its text form): ordering by the text would sort
    // the whole table for every page instead of walking the primary key index.
    `SELECT s.${pk}::text AS id, ${col(kind.objectColumn)}::text AS o, ${tenant} AS t, ${version} AS v, ${kek} AS kek,
            CASE WHEN ${kek} = $3 THEN NULL ELSE ${wrapped} END AS w,
            CASE WHEN ${kek} = $3 THEN NULL ELSE ${col(kind.columns.ciphertext)} END AS c
       FROM ${col(kind.table)} AS s
      WHERE ${kek} IS NOT NULL AND ($1::${type} IS NULL OR s.${pk} > $1::${type})
      ORDER BY s.${pk} LIMIT $2`,
    [after, pageSize, target],
  );
  const page: PreparedPage = {
    kind,
    after,
    read: rows.length,
    lastId: rows.length ? rows[rows.length - 1].id : null,
    versions: rows.map((r) => r.kek),
    updates: [],
    failures: [],
    target,
  };
  let n = 0;
  for (const r of rows) {
    if (r.kek === target) continue;
    if (++n % YIELD_EVERY === 0) await yieldToIo();
    try {
      if (!r.w || !r.c) throw new Error('no material');
      const ctx = kind.context({ objectId: r.o, tenantId: r.t ?? undefined, version: r.v ?? undefined } as never);
      const next = await deps.box.rewrap({ kekVersion: r.kek, wrappedKey: r.w, ciphertext: r.c }, ctx);
      page.updates.push({ id: r.id, oldVersion: r.kek, oldWrapped: r.w, newWrapped: next.wrappedKey });
    } catch (error) {
      // The HSM is unreachable: nothing is wrong with the record. The job retries later from the
      // last committed page (workers/worker.ts).
      if (error instanceof KekUnavailableError) throw error;
      // Counted and listed (bounded), never skipped silently, never fatal to the job; no bytes.
      const reason = error instanceof KeyVersionUnavailableError ? 'KEY_VERSION_UNAVAILABLE' : 'UNREADABLE';
      page.failures.push({ kind: kind.kind, id: r.id, kekVersion: r.kek, reason, tenantId: r.t, objectId: r.o, version: r.v });
    }
  }
  return page;
}

/**
 * Writes one prepared page, in its own transaction together with the run's progress: a resumed job
 * continues after the last committed page, so no record is wrapped twice and no count is counted twice.
 * The run row is the lock: two copies of the job (a stalled one and its retry) take turns, and a
 * page read after a cursor the other copy has since moved is not applied ('stale'; read it again).
 *
 * The write is a compare-and-set on the row's old KEK version and wrapped key: a record rotated,
 * revoked (material wiped) or deleted since it was read is not matched, so it is never overwritten
 * or brought back (counted as changed). Every seal draws a fresh data key and IV, so the wrapped key
 * alone identifies the material that was read.
 */
export async function commitPage(
  deps: RewrapEngineDeps,
  runId: string,
  page: PreparedPage,
  pageSize = REWRAP_PAGE_SIZE,
  hooks: { beforeWrite?: (ids: string[]) => Promise<void>; unreadable?: UnreadableRecord[] } = {},
): Promise<{ outcome: 'committed' | 'stale' | 'stopped'; progress: RewrapProgress | null }> {
  const { kind } = page;
  return deps.db.transaction(async (tx) => {
    const [run]: { state: string; progress: unknown }[] = await tx.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1 FOR UPDATE', [
      runId,
    ]);
    if (!run || run.state !== 'RUNNING') return { outcome: 'stopped', progress: null };
    const progress = parseProgress(run.progress);
    if (progress.targetVersion !== null && progress.targetVersion !== page.target) return { outcome: 'stopped', progress: null };
    const mine = (progress.kinds[kind.kind] ??= { after: null, done: false, byVersion: {} });
    // Another copy of the job finished the kind or moved its cursor: this page is not applied.
    if (mine.done || mine.after !== page.after) return { outcome: 'stale', progress };
    if (page.read === 0) {
      mine.done = true;
      await save(tx, runId, progress);
      return { outcome: 'committed', progress };
    }

    const count = (v: number) => (mine.byVersion[String(v)] ??= emptyCounts());
    for (const v of page.versions) {
      const c = count(v);
      c.scanned++;
      if (v === page.target) c.alreadyCurrent++;
    }
    for (const f of page.failures) {
      count(f.kekVersion).failed++;
      progress.failuresTotal++;
      if (progress.failures.length < MAX_LISTED_FAILURES)
        progress.failures.push({ kind: f.kind, id: f.id, kekVersion: f.kekVersion, reason: f.reason });
      hooks.unreadable?.push(f);
    }
    const updates = page.updates;
    await hooks.beforeWrite?.(updates.map((u) => u.id));
    if (updates.length > 0) {
      const type = await pkType(tx, kind);
      const [pk, kek, wrapped] = [ident(kind.primaryKey), ident(kind.columns.kekVersion), ident(kind.columns.wrappedKey)];
      const written: { id: string }[] = await tx
        .query(
          `UPDATE ${ident(kind.table)} AS s SET ${kek} = $1, ${wrapped} = u.new_w
           FROM unnest($2::${type}[], $3::int[], $4::bytea[], $5::bytea[]) AS u(id, old_v, old_w, new_w)
          WHERE s.${pk} = u.id AND s.${kek} = u.old_v AND s.${wrapped} = u.old_w
          RETURNING s.${pk}::text AS id`,
          [
            page.target,
            updates.map((u) => u.id),
            updates.map((u) => u.oldVersion),
            updates.map((u) => u.oldWrapped),
            updates.map((u) => u.newWrapped),
          ],
        )
        .then((r) => rowsOf<{ id: string }>(r));
      const done = new Set(written.map((w) => w.id));
      for (const u of updates) count(u.oldVersion)[done.has(u.id) ? 'rewrapped' : 'changed']++;
    }
    mine.after = page.lastId;
    if (page.read < pageSize) mine.done = true;
    progress.pages++;
    await save(tx, runId, progress);
    return { outcome: 'committed', progress };
  });
}

async function save(tx: EntityManager, runId: string, progress: RewrapProgress): Promise<void> {
  await tx.query('UPDATE key_rewrap_runs SET progress = $2::jsonb, updated_at = now() WHERE id = $1', [runId, JSON.stringify(progress)]);
}

/** TypeORM returns [rows, count] for UPDATE ... RETURNING. */
function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/** Every kind of the catalogue, in catalogue order: a kind added later is covered with no new code. */
export function rewrapKinds(): readonly SealKind[] {
  return SEAL_KINDS;
}
