import type { DataSource } from 'typeorm';
import type { SecretBox } from '../../crypto';
import { auditInTx } from '../audit/audit.writer';
import { SYSTEM_ACTOR } from '../auth/actor';
import { commitPage, preparePage, rewrapKinds, REWRAP_PAGE_SIZE, type PreparedPage, type UnreadableRecord } from './rewrap-engine';
import { emptyProgress, parseProgress, totals, type RewrapProgress } from './rewrap-progress';

export interface RunHooks {
  /** After each committed page (progress in Redis, tests that stop a run part way). */
  afterPage?: (progress: RewrapProgress) => Promise<void>;
  /** Called in the page's transaction just before its compare-and-set (tests interleave writes here). */
  beforeWrite?: (kind: string, ids: string[]) => Promise<void>;
  /** Records that did not open, after their page committed. */
  onUnreadable?: (records: UnreadableRecord[]) => Promise<void>;
}

/** Why a run cannot proceed in this process; the job fails at once (never retried). */
export class RewrapRefused extends Error {
  override name = 'RewrapRefused';
}

/**
 * Runs (or resumes) one rewrap run to the end: QUEUED -> RUNNING, every catalogue kind page by
 * page from its stored cursor, then COMPLETED with a platform audit row carrying the counts.
 * Returns null when the run is already finished (a re-delivered job).
 */
export async function runRewrap(
  deps: { db: DataSource; box: Pick<SecretBox, 'rewrap' | 'currentKeyVersion'> },
  runId: string,
  hooks: RunHooks = {},
  pageSize = REWRAP_PAGE_SIZE,
): Promise<RewrapProgress | null> {
  const target = deps.box.currentKeyVersion;
  const started = await deps.db.transaction(async (tx) => {
    const [run]: { state: string; progress: unknown }[] = await tx.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1 FOR UPDATE', [
      runId,
    ]);
    if (!run) throw new RewrapRefused('no such rewrap run');
    if (run.state === 'COMPLETED' || run.state === 'FAILED') return null;
    const progress = parseProgress(run.progress);
    if (progress.targetVersion !== null && progress.targetVersion !== target) {
      // Workers disagree on the current version (a two-phase change half done): stop, do not mix.
      throw new RewrapRefused(`this worker's current key version ${target} differs from the run's target ${progress.targetVersion}`);
    }
    progress.targetVersion = target;
    await tx.query(
      `UPDATE key_rewrap_runs SET state = 'RUNNING', started_at = COALESCE(started_at, now()), progress = $2::jsonb, updated_at = now() WHERE id = $1`,
      [runId, JSON.stringify(progress)],
    );
    return progress;
  });
  if (!started) return null;

  // Two cores' worth: while one page commits (PostgreSQL), the next is read and rewrapped (this
  // process). Pages still commit one at a time and in order, each checking the cursor it was read
  // after, so resuming, the counts and the compare-and-set are exactly as without the overlap.
  let progress = started;
  for (const kind of rewrapKinds()) {
    for (;;) {
      const mine = progress.kinds[kind.kind];
      if (mine?.done) break;
      // Until the kind is done (a short or empty page) or a page turns out stale (then again from the stored cursor).
      let next: Promise<PreparedPage> | null = preparePage(deps, kind, mine?.after ?? null, pageSize);
      while (next) {
        const page: PreparedPage = await next;
        next = page.read === pageSize ? preparePage(deps, kind, page.lastId, pageSize) : null;
        next?.catch(() => undefined); // surfaces when awaited; never an unhandled rejection meanwhile
        const unreadable: UnreadableRecord[] = [];
        const result = await commitPage(deps, runId, page, pageSize, {
          unreadable,
          beforeWrite: hooks.beforeWrite ? (ids) => hooks.beforeWrite!(kind.kind, ids) : undefined,
        });
        if (result.outcome === 'stopped') return null;
        progress = result.progress!;
        if (result.outcome === 'stale') break;
        if (unreadable.length && hooks.onUnreadable) await hooks.onUnreadable(unreadable);
        if (hooks.afterPage) await hooks.afterPage(progress);
      }
    }
  }

  return deps.db.transaction(async (tx) => {
    const [run]: { state: string; progress: unknown }[] = await tx.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1 FOR UPDATE', [
      runId,
    ]);
    if (!run || run.state !== 'RUNNING') return null;
    const progress = parseProgress(run.progress);
    await tx.query(`UPDATE key_rewrap_runs SET state = 'COMPLETED', finished_at = now(), updated_at = now() WHERE id = $1`, [runId]);
    await auditInTx(tx, SYSTEM_ACTOR, {
      tenantId: null,
      action: 'KEY_REWRAP_FINISHED',
      targetType: 'KEY_REWRAP',
      targetId: runId,
      details: { targetVersion: progress.targetVersion, ...totals(progress), failuresTotal: progress.failuresTotal, state: 'COMPLETED' },
    });
    return progress;
  });
}

export async function readProgress(db: DataSource, runId: string): Promise<RewrapProgress> {
  const [run]: { progress: unknown }[] = await db.query('SELECT progress FROM key_rewrap_runs WHERE id = $1', [runId]);
  return run ? parseProgress(run.progress) : emptyProgress();
}

/** Ends an open run as FAILED (the job gave up, or it was lost), with our own sentence and a platform audit row. */
export async function failRun(db: DataSource, runId: string, reason: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [run]: { state: string; progress: unknown }[] = await tx.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1 FOR UPDATE', [
      runId,
    ]);
    if (!run || (run.state !== 'QUEUED' && run.state !== 'RUNNING')) return false;
    const progress = { ...parseProgress(run.progress), reason };
    await tx.query(`UPDATE key_rewrap_runs SET state = 'FAILED', finished_at = now(), progress = $2::jsonb, updated_at = now() WHERE id = $1`, [
      runId,
      JSON.stringify(progress),
    ]);
    await auditInTx(tx, SYSTEM_ACTOR, {
      tenantId: null,
      action: 'KEY_REWRAP_FINISHED',
      targetType: 'KEY_REWRAP',
      targetId: runId,
      details: { targetVersion: progress.targetVersion, ...totals(progress), failuresTotal: progress.failuresTotal, state: 'FAILED', reason },
    });
    return true;
  });
}
