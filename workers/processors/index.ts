import type { Job } from 'bullmq';
import type { JobName, JobPayloads } from '../../src/queue/registry';
import { validateCredential, type ValidateDeps } from './validate-credential.processor';

export type ProcessorDeps = ValidateDeps;

type Processor<N extends JobName> = (deps: ProcessorDeps, job: Job<JobPayloads[N]>) => Promise<unknown>;

/**
 * Exactly one processor per job in the registry. Jobs without one yet are listed explicitly so
 * the gap is visible (and tested), instead of a worker silently dropping them.
 */
export const PROCESSORS: { [N in JobName]: Processor<N> | null } = {
  'validate-credential': validateCredential,
  'fingerprint-credential': null,
  'gateway-reload': null,
};
