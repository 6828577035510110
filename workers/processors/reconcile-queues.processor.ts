import type { Job } from 'bullmq';
import type { JobPayloads } from '../../src/queue/registry';
import { reconcile, type ReconcileDeps } from '../reconciler';

/** Scheduled every RECONCILE_INTERVAL_SECONDS, and queued at worker start: see workers/reconciler.ts. */
export async function reconcileQueues(deps: ReconcileDeps, job: Job<JobPayloads['reconcile-queues']>) {
  const report = await reconcile(deps);
  deps.log.info({ job: job.name, jobId: job.id, ...report }, 'reconciler done');
  return report;
}
