import { SECURITY_EVENT_KINDS } from '../security/security-events';

/**
 * Every audit action Keyplane writes, with what it means: the GraphQL enum AuditAction is built
 * from this table (one description per value), and AuditRecord.action is typed by it, so a new
 * action without a description does not compile. Actions written in SQL (the credential group
 * commit, host and platform-key fan-outs) are listed here too; a test checks the SQL ones.
 */
const ACTIONS = {
  API_TOKEN_CREATED: 'An API token was created (its hash is stored, never the token).',
  API_TOKEN_REVOKED: 'An API token was revoked.',
  CREDENTIAL_CREATED: 'A provider key was stored as a new credential (version 1, pending validation). Carries keyRefs.',
  CREDENTIAL_UPDATED: "A credential's label or settings changed (not its key).",
  CREDENTIAL_ROTATED:
    'A new key version was stored for a credential (pending until it validates). Carries keyRefs: the new version and the one it replaces.',
  CREDENTIAL_VERSION_ACTIVATED:
    "A key version validated for the first time and now serves (a new credential's first key, or a rotation taking over). Carries keyRefs.",
  CREDENTIAL_VERSION_REJECTED: 'A pending key version failed its first check (the provider rejected it): its material is destroyed. Carries keyRefs.',
  CREDENTIAL_VALIDATION_REQUESTED: 'Someone asked for a key check now. Carries keyRefs of the versions checked.',
  CREDENTIAL_INVALIDATED: 'The provider rejected the serving key: the credential is INVALID. Carries keyRefs.',
  CREDENTIAL_VERSION_RETIRED: "A replaced key version's grace period ended (or it was found invalid): its material is destroyed. Carries keyRefs.",
  CREDENTIAL_REVOKED: 'A credential was revoked: every version destroyed, detached from gateways. Carries keyRefs of every version.',
  CREDENTIAL_UNREADABLE: 'A stored key version could not be decrypted (its key-encryption key is gone or the record is damaged). Carries keyRefs.',
  GATEWAY_CREATED: 'A gateway was created.',
  GATEWAY_UPDATED: "A gateway's settings changed.",
  GATEWAY_KEY_ROTATED: "A gateway's pull key was rotated.",
  GATEWAY_CREDENTIAL_ATTACHED: 'A credential was attached to a gateway. Carries keyRefs of its serving version.',
  GATEWAY_CREDENTIAL_DETACHED: 'A credential was detached from a gateway. Carries keyRefs of its serving version.',
  GATEWAY_PROVIDER_MODE_CHANGED: "A gateway's key mode (BYOK, BUNDLED, HYBRID) for a provider changed.",
  GATEWAY_PLATFORM_KEYS_SERVED: 'A gateway was served platform keys for the first time.',
  GATEWAY_WEBHOOK_ENABLED: "A gateway's reload webhook was (re-)enabled.",
  GATEWAY_WEBHOOK_DISABLED: "A gateway's reload webhook was disabled after failing deliveries.",
  GATEWAY_WEBHOOK_SECRET_ROTATED: "A gateway's webhook signing secret was rotated.",
  TENANT_CREATED: 'A tenant was created.',
  TENANT_UPDATED: "A tenant's settings changed.",
  TENANT_REVERTED_TO_PLATFORM_KEYS: 'A tenant left BYOK: its keys were revoked and it uses platform keys.',
  TENANT_NOTIFICATIONS_ENABLED: "A tenant's notification webhook was (re-)enabled.",
  TENANT_NOTIFICATIONS_DISABLED: "A tenant's notification webhook was disabled after failing deliveries.",
  TENANT_NOTIFICATION_SECRET_ROTATED: "A tenant's notification signing secret was rotated.",
  PROVIDER_CREATED: 'A provider was added to the catalogue (platform).',
  PROVIDER_UPDATED: 'A provider of the catalogue changed (platform).',
  PROVIDER_HOST_CHANGED: "A provider's API host changed; tenants with keys of it must confirm the new host.",
  PROVIDER_HOST_CONFIRMED: "A tenant confirmed a provider's new host: its keys of that provider are served again.",
  PROVIDER_KEY_TESTED: 'A key was tested against its provider without being stored. Carries keyRefs (version null).',
  PLATFORM_KEY_CREATED: 'A platform key was stored (platform). Carries keyRefs.',
  PLATFORM_KEY_REVOKED: 'A platform key was revoked (platform). Carries keyRefs.',
  PLATFORM_KEYS_CHANGED: "The platform keys a tenant's gateways may be served changed.",
  KEY_REUSE_ALERT_ACKNOWLEDGED: 'A key reuse alert was acknowledged.',
  KEY_REUSE_ALERT_DISMISSED: 'A key reuse alert was dismissed.',
  KEY_RESCAN_STARTED: 'A rescan of stored keys for duplicates was started.',
  KEY_REWRAP_STARTED: 'Re-wrapping stored keys under a new key-encryption key version was started (platform).',
  KEY_REWRAP_FINISHED: 'Re-wrapping stored keys finished (platform).',
  PEPPER_REKEY_STARTED: 'Recomputing fingerprints under a new pepper version was started (platform).',
  PEPPER_REKEY_FINISHED: 'Recomputing fingerprints finished (platform).',
  WEBHOOK_DELIVERY_REPLAYED: 'An admin replayed a webhook delivery.',
  SECURITY_FORGED_JOB: 'Security: a job that no Keyplane process queued was refused.',
  SECURITY_REVOKED_TOKEN_USED: 'Security: a revoked API token was presented.',
  SECURITY_REPEATED_AUTH_FAILURES: 'Security: repeated failed authentications from one address.',
  SECURITY_OUTBOUND_POLICY_REFUSED: 'Security: an outbound call was refused by the destination policy.',
  SECURITY_DECRYPT_FAILED: 'Security: stored key material failed to decrypt.',
  SECURITY_RATE_LIMIT_REPEATED: 'Security: one caller kept hitting a rate limit.',
  SECURITY_READONLY_WRITE_ATTEMPT: 'Security: a read-only token tried to change something.',
} as const;

export type AuditAction = keyof typeof ACTIONS;
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as AuditAction[];
export const AUDIT_ACTION_DESCRIPTIONS: Readonly<Record<AuditAction, string>> = ACTIONS;

const KNOWN = new Set<string>(AUDIT_ACTIONS);
export function isAuditAction(value: string): value is AuditAction {
  return KNOWN.has(value);
}

// Every security event kind has its action above (checked when this module loads, and by tsc below).
type SecurityAction = `SECURITY_${(typeof SECURITY_EVENT_KINDS)[number]}`;
const securityActionsCovered: SecurityAction extends AuditAction ? true : never = true;
void securityActionsCovered;
