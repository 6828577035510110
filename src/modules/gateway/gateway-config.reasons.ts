import type { CredentialMode } from './gateway.entity';

/*
 * Why a provider a gateway could use has no usable key. Pure; one reason per provider entry, so a
 * gateway (and the person reading its logs) can tell "nothing configured" from "configured but
 * not usable, and why". Every input here is data whose changes reach the ETag cache (see
 * Invalidations): attachments, credential status and revocation, platform keys, providers and
 * host confirmations.
 */
export const NO_KEY_REASONS = [
  /** Nothing to serve: no key attached (tenant modes) or no platform key (platform modes). */
  'NO_KEY',
  /** The tenant's keys of this provider that the gateway could use were revoked. */
  'ALL_REVOKED',
  /** The provider rejected the attached keys. */
  'INVALID',
  /** Attached keys are still waiting for their first successful check. */
  'NOT_VALIDATED',
  /** Stored material could not be decrypted (an operator problem, logged). */
  'UNREADABLE',
  /** The provider's host changed and the tenant has not confirmed it (confirmProviderHost). */
  'AWAITING_HOST_CONFIRMATION',
  /** The platform's keys for this provider were revoked and none is left. */
  'PLATFORM_KEYS_REVOKED',
  /** The platform disabled the provider. */
  'PROVIDER_DISABLED',
] as const;
export type NoKeyReason = (typeof NO_KEY_REASONS)[number];

/** Tenant-key skip reasons, most actionable first. */
const TENANT_ORDER = ['AWAITING_HOST_CONFIRMATION', 'INVALID', 'NOT_VALIDATED', 'UNREADABLE'] as const;

export interface ReasonInput {
  mode: CredentialMode;
  enabled: boolean;
  /** Distinct tenant credentials attached for this provider. */
  attached: number;
  tenantSkipped: readonly string[];
  platformSkipped: readonly string[];
  /** The tenant has revoked keys of this provider. */
  tenantRevoked: boolean;
  /** The platform has revoked keys of this provider. */
  platformRevoked: boolean;
}

function tenantReason(r: ReasonInput): NoKeyReason {
  if (r.attached === 0) return r.tenantRevoked ? 'ALL_REVOKED' : 'NO_KEY';
  for (const reason of TENANT_ORDER) if (r.tenantSkipped.includes(reason)) return reason;
  return 'ALL_REVOKED';
}

function platformReason(r: ReasonInput): NoKeyReason {
  if (r.platformSkipped.includes('UNREADABLE')) return 'UNREADABLE';
  return r.platformRevoked ? 'PLATFORM_KEYS_REVOKED' : 'NO_KEY';
}

/** The reason for an entry that serves nothing. */
export function noKeyReason(r: ReasonInput): NoKeyReason {
  if (!r.enabled) return 'PROVIDER_DISABLED';
  if (r.mode === 'USER_PROVIDED') return tenantReason(r);
  if (r.mode === 'BUNDLED') return platformReason(r);
  // HYBRID: the tenant's own keys come first, so they explain first when it has some attached.
  if (r.attached > 0) return tenantReason(r);
  const platform = platformReason(r);
  return platform === 'NO_KEY' ? tenantReason(r) : platform;
}

const SENTENCES: Record<NoKeyReason, string> = {
  NO_KEY: '',
  ALL_REVOKED: "The tenant's keys for it were revoked and no other is attached.",
  INVALID: 'The provider rejected the attached keys.',
  NOT_VALIDATED: 'The attached keys have not passed a check yet.',
  UNREADABLE: 'Stored keys could not be decrypted.',
  AWAITING_HOST_CONFIRMATION:
    "The provider's host changed: the tenant's keys are held until a tenant admin confirms the new host (confirmProviderHost).",
  PLATFORM_KEYS_REVOKED: "The platform's keys for it were revoked. Keys are never replaced silently.",
  PROVIDER_DISABLED: 'The platform disabled this provider.',
};

export function reasonSentence(reason: NoKeyReason | null): string {
  return reason ? SENTENCES[reason] : '';
}
