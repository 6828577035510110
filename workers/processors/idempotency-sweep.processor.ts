import type { Job } from 'bullmq';
import { deleteExpiredIdempotencyKeys } from '../../src/modules/idempotency/idempotency.service';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type IdempotencySweepDeps = Pick<ProcessorDeps, 'db' | 'log'>;

export const IDEMPOTENCY_SWEEP_PAGE = 5_000;

/** Deletes idempotency answers past their 24 hours, a page per statement, so no statement holds many locks. */
export async function idempotencySweep(deps: IdempotencySweepDeps, job: Job<JobPayloads['idempotency-sweep']>) {
  let deleted = 0;
  for (;;) {
    const n = await deleteExpiredIdempotencyKeys(deps.db, IDEMPOTENCY_SWEEP_PAGE);
    deleted += n;
    if (n < IDEMPOTENCY_SWEEP_PAGE) break;
  }
  deps.log.info({ job: job.name, jobId: job.id, deleted }, 'idempotency sweep done');
  return { deleted };
}
