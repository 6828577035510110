import type { Job } from 'bullmq';
import type { JobName, JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';
import { validateCredential } from './validate-credential.processor';

export type { ProcessorDeps } from './deps';

export type Processor<N extends JobName> = (deps: ProcessorDeps, job: Job<JobPayloads[N]>) => Promise<unknown>;

/**
 * Exactly one processor per job in the registry (the mapped type makes a missing entry a compile
 * error). null marks a job whose processor is not written yet: it fails visibly in the queue.
 */
export const PROCESSORS: { [N in JobName]: Processor<N> | null } = {
  'validate-credential': validateCredential,
  'fingerprint-credential': null,
  'gateway-reload': null,
  'deliver-webhook': null,
  'revalidation-sweep': null,
  'rotation-sweep': null,
  'retire-previous-sweep': null,
  'fingerprint-rescan': null,
};
