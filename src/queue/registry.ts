import type { JobsOptions } from 'bullmq';

/**
 * The one typed registry of queues, job names and payloads. Payloads carry ids only: BullMQ keeps
 * job data in Redis in clear text, so a processor reloads and decrypts what it needs.
 * Names are kebab-case without ':' (BullMQ uses ':' in its own keys).
 */
export const QUEUES = ['credentials', 'gateways', 'notifications', 'maintenance'] as const;
export type QueueName = (typeof QUEUES)[number];

export const RELOAD_REASONS = [
  'CREDENTIAL_ATTACHED',
  'CREDENTIAL_DETACHED',
  'CREDENTIAL_ROTATED',
  'CREDENTIAL_REVOKED',
  'CREDENTIAL_INVALID',
  'MODE_CHANGED',
  /** A platform key was added or revoked: every gateway that may be served platform keys reloads. */
  'PLATFORM_KEYS_CHANGED',
  /** The tenant confirmed a provider's new host: its keys of that provider are served again. */
  'PROVIDER_HOST_CONFIRMED',
  /** The gateway's disabled webhook was re-enabled: its latest version is announced once. */
  'WEBHOOK_REENABLED',
] as const;
export type ReloadReason = (typeof RELOAD_REASONS)[number];

/**
 * Jobs that call out carry `deferred`: how often the job was put back for want of an outbound slot
 * (workers/processors/outbound-slot.ts), so those starts are not counted as tries. Never in job ids.
 */
export interface JobPayloads {
  /** Check one stored key version against its provider. */
  /** `sweep` (a scheduled re-check's run id) keeps re-checks apart from the create/rotate check. */
  'validate-credential': { tenantId: string; credentialId: string; version: number; sweep?: string; deferred?: number };
  /** Compare a version that just validated with every other validated key; raise alerts. Queued by the validation worker. */
  'fingerprint-credential': { tenantId: string; credentialId: string; version: number };
  /** Tell one gateway (signed webhook) that its config changed. Bursts coalesce per gateway. */
  /**
   * `resend` (the re-enabled webhook's disabled-at, epoch ms) announces the latest version again
   * even if its delivery had died or been held; the job id keeps it apart from the version's first job.
   */
  'gateway-reload': { tenantId: string; gatewayId: string; configVersion: number; reason: ReloadReason; resend?: number; deferred?: number };
  /** (Re)send one stored webhook delivery: reminders, and replays of dead letters. */
  'deliver-webhook': { tenantId: string; deliveryId: string; replay: number; deferred?: number };
  /** Scheduled: enqueue validate-credential for every key whose last check is too old. */
  'revalidation-sweep': Record<string, never>;
  /** Scheduled: record rotation reminders at 14, 7 and 1 days before rotate-by, and overdue. */
  'rotation-sweep': Record<string, never>;
  /** Scheduled: retire PREVIOUS key versions whose grace period has ended. */
  'retire-previous-sweep': Record<string, never>;
  /** Scheduled: delete idempotency answers past their 24 hours. */
  'idempotency-sweep': Record<string, never>;
  /** Started by a platform admin: fingerprint every stored key again, with progress. */
  'fingerprint-rescan': { requestedAt: string };
  /**
   * Scheduled (and at every worker start, and when a worker finds the schedulers gone): re-create
   * from PostgreSQL what the queue store should hold but does not. Scheduler runs carry no data.
   */
  'reconcile-queues': { requestedAt?: string };
  /** Started by a platform admin or `npm run keys -- rewrap`: rewrap every sealed record to the current KEK (run state in key_rewrap_runs). */
  'key-rewrap': { requestedAt: string };
  /** Started by a platform admin: recompute every stored fingerprint under the current pepper version, with progress. */
  'fingerprint-rekey': { requestedAt: string };
  /** Scheduled (and `npm run audit -- checkpoint`): sign the head of every audit chain that moved. */
  'audit-checkpoint': Record<string, never>;
}
export type JobName = keyof JobPayloads;

interface JobSpec<N extends JobName> {
  queue: QueueName;
  /** Deterministic: the same logical work gets the same id, so a re-delivery is a no-op in BullMQ. */
  jobId: (payload: JobPayloads[N]) => string;
  /** Extra BullMQ options for this job (deduplication, delay). */
  options?: (payload: JobPayloads[N]) => JobsOptions;
}

/** How long reload notifications for one gateway are gathered into one. */
export const RELOAD_COALESCE_MS = 1_000;

export const JOBS: { [N in JobName]: JobSpec<N> } = {
  'validate-credential': {
    queue: 'credentials',
    // The create/rotate check keeps its id; a re-check gets its own, or the retained first job would swallow it.
    jobId: (p) => `validate-credential-${p.credentialId}-v${p.version}${p.sweep ? `-s${p.sweep}` : ''}`,
  },
  'fingerprint-credential': {
    // Not on `credentials`: a version's first working check queues this one, and a burst of new
    // keys must not make the next tenant's key check wait behind everyone's duplicate checks.
    // Jobs queued on `credentials` by earlier releases still run there (dispatch is by job name).
    queue: 'maintenance',
    // "-valid": queued once the version validates. Jobs queued at create time by older releases
    // used the id without it and may still be retained; the same id would be dropped as a duplicate.
    jobId: (p) => `fingerprint-credential-${p.credentialId}-v${p.version}-valid`,
  },
  'gateway-reload': {
    queue: 'gateways',
    jobId: (p) => `gateway-reload-${p.gatewayId}-c${p.configVersion}${p.resend ? `-e${p.resend}` : ''}`,
    // Debounce: a burst of changes to one gateway becomes one notification of the newest version.
    options: (p) => ({
      delay: RELOAD_COALESCE_MS,
      deduplication: { id: `gateway-reload-${p.gatewayId}`, ttl: RELOAD_COALESCE_MS, extend: true, replace: true },
    }),
  },
  'deliver-webhook': {
    queue: 'notifications',
    jobId: (p) => `deliver-webhook-${p.deliveryId}-r${p.replay}`,
  },
  'revalidation-sweep': { queue: 'maintenance', jobId: () => 'revalidation-sweep' },
  'rotation-sweep': { queue: 'maintenance', jobId: () => 'rotation-sweep' },
  'retire-previous-sweep': { queue: 'maintenance', jobId: () => 'retire-previous-sweep' },
  'idempotency-sweep': { queue: 'maintenance', jobId: () => 'idempotency-sweep' },
  'fingerprint-rescan': { queue: 'maintenance', jobId: (p) => `fingerprint-rescan-${p.requestedAt.replace(/[^0-9]/g, '')}` },
  'key-rewrap': { queue: 'maintenance', jobId: (p) => `key-rewrap-${p.requestedAt.replace(/[^0-9]/g, '')}` },
  'fingerprint-rekey': { queue: 'maintenance', jobId: (p) => `fingerprint-rekey-${p.requestedAt.replace(/[^0-9]/g, '')}` },
  'reconcile-queues': { queue: 'maintenance', jobId: (p) => `reconcile-queues-${(p.requestedAt ?? '').replace(/[^0-9]/g, '')}` },
  'audit-checkpoint': { queue: 'maintenance', jobId: () => 'audit-checkpoint' },
};

export function jobOptions<N extends JobName>(name: N, payload: JobPayloads[N]): JobsOptions {
  const spec = JOBS[name];
  return { jobId: spec.jobId(payload), ...(spec.options?.(payload) ?? {}) };
}
