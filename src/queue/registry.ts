/**
 * The one typed registry of queues, job names and payloads. Payloads carry ids only: BullMQ keeps
 * job data in Redis in clear text, so a processor reloads and decrypts what it needs.
 * Names are kebab-case without ':' (BullMQ uses ':' in its own keys).
 */
export const QUEUES = ['credentials', 'gateways', 'maintenance'] as const;
export type QueueName = (typeof QUEUES)[number];

export interface JobPayloads {
  'validate-credential': { tenantId: string; credentialId: string; version: number };
  'fingerprint-credential': { tenantId: string; credentialId: string; version: number };
  'gateway-reload': { tenantId: string; gatewayId: string; configVersion: number; reason: ReloadReason };
}
export type JobName = keyof JobPayloads;

export const RELOAD_REASONS = [
  'CREDENTIAL_ATTACHED',
  'CREDENTIAL_DETACHED',
  'CREDENTIAL_ROTATED',
  'CREDENTIAL_REVOKED',
  'CREDENTIAL_INVALID',
  'MODE_CHANGED',
] as const;
export type ReloadReason = (typeof RELOAD_REASONS)[number];

interface JobSpec<N extends JobName> {
  queue: QueueName;
  /** Deterministic: the same logical work gets the same id, so a re-delivery is a no-op in BullMQ. */
  jobId: (payload: JobPayloads[N]) => string;
}

export const JOBS: { [N in JobName]: JobSpec<N> } = {
  'validate-credential': {
    queue: 'credentials',
    jobId: (p) => `validate-credential-${p.credentialId}-v${p.version}`,
  },
  'fingerprint-credential': {
    queue: 'credentials',
    jobId: (p) => `fingerprint-credential-${p.credentialId}-v${p.version}`,
  },
  'gateway-reload': {
    queue: 'gateways',
    jobId: (p) => `gateway-reload-${p.gatewayId}-c${p.configVersion}`,
  },
};
