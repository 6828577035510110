import { JOBS, type JobName } from '../../src/queue/registry';
import type { TestWorkers } from './test-worker';
import { eventually } from './test-worker';

/**
 * Relays the outbox until each key version's validation job has finished and, when the version
 * validated, the duplicate check that validation queued has finished too. A version that did not
 * validate has no duplicate check to wait for (none is ever queued for it).
 */
export async function settleChecks(w: TestWorkers, versions: [string, number][], timeoutMs = 15_000): Promise<void> {
  const done = async (name: JobName, jobId: string) => {
    const job = await w.queues[JOBS[name].queue].getJob(jobId);
    const state = job && (await job.getState());
    return state === 'completed' || state === 'failed';
  };
  await eventually(async () => {
    await w.relay();
    for (const [id, v] of versions) {
      if (!(await done('validate-credential', `validate-credential-${id}-v${v}`))) return false;
      const [row] = await w.deps.db.query('SELECT validated_at FROM credential_versions WHERE credential_id = $1 AND version = $2', [id, v]);
      if (row?.validated_at && !(await done('fingerprint-credential', `fingerprint-credential-${id}-v${v}-valid`))) return false;
    }
    return true;
  }, timeoutMs);
}

/** The duplicate-check job of a version, if one was ever queued. */
export async function duplicateCheckJob(w: TestWorkers, credentialId: string, version: number) {
  return (await w.queues[JOBS['fingerprint-credential'].queue].getJob(`fingerprint-credential-${credentialId}-v${version}-valid`)) ?? null;
}
