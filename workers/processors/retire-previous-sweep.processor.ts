import type { Job } from 'bullmq';
import { retireDuePreviousVersions } from '../../src/modules/credential/credential-lifecycle.retire';
import type { JobPayloads } from '../../src/queue/registry';
import { publishCredentialChanged } from './credential-events';
import type { ProcessorDeps } from './deps';

export type RetireSweepDeps = Pick<ProcessorDeps, 'db' | 'events' | 'log'>;

export const RETIRE_PAGE = 500;

/** Retires every PREVIOUS version whose grace period ended, a page per transaction, then tells settings pages. */
export async function retirePreviousSweep(deps: RetireSweepDeps, job: Job<JobPayloads['retire-previous-sweep']>) {
  let retired = 0;
  for (;;) {
    const batch = await retireDuePreviousVersions(deps, RETIRE_PAGE);
    retired += batch.length;
    for (const r of batch) await publishCredentialChanged(deps, r.tenantId, r.credentialId);
    if (batch.length < RETIRE_PAGE) break;
  }
  deps.log.info({ job: job.name, jobId: job.id, retired }, 'retire-previous sweep done');
  return { retired };
}
