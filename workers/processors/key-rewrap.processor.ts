import { UnrecoverableError, type Job } from 'bullmq';
import { markCredentialUnreadable } from '../../src/modules/key-custody/unreadable';
import { type UnreadableRecord } from '../../src/modules/key-custody/rewrap-engine';
import { failRun, RewrapRefused, runRewrap, type RunHooks } from '../../src/modules/key-custody/rewrap-run';
import { totals } from '../../src/modules/key-custody/rewrap-progress';
import { JOBS, type JobPayloads } from '../../src/queue/registry';
import { publishCredentialChanged } from './credential-events';
import type { ProcessorDeps } from './deps';

export type KeyRewrapDeps = Pick<ProcessorDeps, 'db' | 'box' | 'security' | 'events' | 'log'>;

/**
 * Rewraps every sealed record of every seal catalogue kind to this worker's current KEK version
 * (src/modules/key-custody/rewrap-engine.ts). Resumable: the run's per-kind cursors are committed
 * with each page, so a retry after a crash (SIGKILL, lost lock) continues after the last page.
 * Job progress in Redis holds counts only; ids of records that did not open stay in PostgreSQL.
 */
export async function keyRewrap(deps: KeyRewrapDeps, job: Job<JobPayloads['key-rewrap']>, hooks: RunHooks = {}) {
  const runId = JOBS['key-rewrap'].jobId(job.data);
  try {
    const progress = await runRewrap(deps, runId, {
      ...hooks,
      afterPage: async (p) => {
        await job.updateProgress({ pages: p.pages, ...totals(p), failuresTotal: p.failuresTotal });
        await hooks.afterPage?.(p);
      },
      onUnreadable: async (records) => {
        for (const r of records) await reportUnreadable(deps, r);
        await hooks.onUnreadable?.(records);
      },
    });
    if (!progress) return { state: 'ALREADY_FINISHED' };
    const counts = { ...totals(progress), failuresTotal: progress.failuresTotal };
    deps.log.info({ runId, targetVersion: progress.targetVersion, ...counts }, 'key rewrap done');
    return { state: 'COMPLETED', ...counts };
  } catch (error) {
    if (error instanceof RewrapRefused) {
      await failRun(deps.db, runId, error.message);
      throw new UnrecoverableError(error.message);
    }
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await failRun(deps.db, runId, 'the job failed on its last attempt');
    throw error;
  }
}

/** A tampered credential key takes its credential to UNREADABLE; any other kind is a security event. */
async function reportUnreadable(deps: KeyRewrapDeps, r: UnreadableRecord): Promise<void> {
  if (r.reason !== 'UNREADABLE') return; // a missing KEK version is counted, not blamed on the record
  if (r.kind === 'credential-version' && r.tenantId) {
    await markCredentialUnreadable(
      { db: deps.db, security: deps.security, publishChanged: (t, c) => publishCredentialChanged(deps, t, c) },
      r.tenantId,
      r.objectId,
      r.version,
      'key-rewrap',
    );
    return;
  }
  deps.security.record({
    kind: 'DECRYPT_FAILED',
    tenantId: r.tenantId,
    targetType: r.kind,
    targetId: r.id,
    details: { kekVersion: r.kekVersion, source: 'key-rewrap' },
    throttleKey: `${r.kind}:${r.id}`,
  });
}
