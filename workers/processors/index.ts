import type { Job } from 'bullmq';
import type { JobName, JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';
import { auditCheckpoint } from './audit-checkpoint.processor';
import { deliverWebhook } from './deliver-webhook.processor';
import { fingerprintCredential } from './fingerprint-credential.processor';
import { fingerprintRekey } from './fingerprint-rekey.processor';
import { fingerprintRescan } from './fingerprint-rescan.processor';
import { gatewayReload } from './gateway-reload.processor';
import { idempotencySweep } from './idempotency-sweep.processor';
import { keyRewrap } from './key-rewrap.processor';
import { reconcileQueues } from './reconcile-queues.processor';
import { retirePreviousSweep } from './retire-previous-sweep.processor';
import { revalidationSweep } from './revalidation-sweep.processor';
import { rotationSweep } from './rotation-sweep.processor';
import { validateCredential } from './validate-credential.processor';

export type { ProcessorDeps } from './deps';

export type Processor<N extends JobName> = (deps: ProcessorDeps, job: Job<JobPayloads[N]>) => Promise<unknown>;

/**
 * Exactly one processor per job in the registry (the mapped type makes a missing entry a compile
 * error). null marks a job whose processor is not written yet: it fails visibly in the queue.
 */
export const PROCESSORS: { [N in JobName]: Processor<N> | null } = {
  'validate-credential': validateCredential,
  'fingerprint-credential': fingerprintCredential,
  'gateway-reload': gatewayReload,
  'deliver-webhook': deliverWebhook,
  'revalidation-sweep': revalidationSweep,
  'rotation-sweep': rotationSweep,
  'retire-previous-sweep': retirePreviousSweep,
  'idempotency-sweep': idempotencySweep,
  'fingerprint-rescan': fingerprintRescan,
  'key-rewrap': keyRewrap,
  'fingerprint-rekey': fingerprintRekey,
  'reconcile-queues': reconcileQueues,
  'audit-checkpoint': auditCheckpoint,
};
