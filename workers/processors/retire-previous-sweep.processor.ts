import type { Job } from 'bullmq';
import { retireDuePreviousVersions } from '../../src/modules/credential/credential-lifecycle.retire';
import { wipeExpiredRotationLeftovers } from '../../src/modules/webhook/signing-secret.service';
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
  // Rotated signing secrets past their overlap and gateway keys past their grace (issue 15 item 5).
  const wiped = await wipeExpiredRotationLeftovers(deps.db);
  deps.log.info({ job: job.name, jobId: job.id, retired, wipedSecrets: wiped.secrets, endedKeyGraces: wiped.keys }, 'retire-previous sweep done');
  return { retired, wipedSecrets: wiped.secrets, endedKeyGraces: wiped.keys };
}
