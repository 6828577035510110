import type { CredentialKind } from '../credential/credential.entity';
import type { AlertScope, AlertSeverity, AlertStatus } from './alert.entity';

/**
 * Pure rules of duplicate-key detection, shared by the fingerprint processors and the API.
 * "Live" versions are the ones that can still be served: revoked, retired and rejected keys never match.
 */
export const LIVE_VERSION_STATES = ['PENDING', 'ACTIVE', 'PREVIOUS'] as const;

export const RESCAN_STATES = ['QUEUED', 'WAITING', 'ACTIVE', 'COMPLETED', 'FAILED'] as const;
export type RescanState = (typeof RESCAN_STATES)[number];

/** Our sentences. They say that the key is shared, never with whom: no tenant, credential or count. */
export const ALERT_MESSAGES: Record<AlertScope, string> = {
  SAME_TENANT: 'This key is also stored in another credential of this tenant.',
  OTHER_TENANT: 'This key is also registered in another tenant.',
};

const SEVERITY_RANK: Record<AlertSeverity, number> = { INFO: 1, WARNING: 2, HIGH: 3 };

export function maxSeverity(severities: readonly AlertSeverity[]): AlertSeverity {
  return severities.reduce<AlertSeverity>((a, b) => (SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a), 'INFO');
}

export interface GroupMember {
  credentialId: string;
  tenantId: string;
  kind: CredentialKind;
}

/**
 * The alerts one member of a fingerprint group should have. Across tenants the severity is HIGH
 * when the member's own credential OR any matching credential in another tenant is an OAuth token:
 * it is the same secret, and one holder calling it an OAuth token (user-level access) is enough to
 * treat its exposure as the worse case. It tells the member nothing it does not already hold.
 */
export function desiredAlerts(member: GroupMember, group: readonly GroupMember[]): { scope: AlertScope; severity: AlertSeverity }[] {
  const others = group.filter((m) => m.credentialId !== member.credentialId);
  const same = others.filter((m) => m.tenantId === member.tenantId);
  const foreign = others.filter((m) => m.tenantId !== member.tenantId);
  const out: { scope: AlertScope; severity: AlertSeverity }[] = [];
  if (same.length > 0) out.push({ scope: 'SAME_TENANT', severity: 'INFO' });
  if (foreign.length > 0) {
    const oauth = member.kind === 'OAUTH_TOKEN' || foreign.some((m) => m.kind === 'OAUTH_TOKEN');
    out.push({ scope: 'OTHER_TENANT', severity: oauth ? 'HIGH' : 'WARNING' });
  }
  return out;
}

/** The key version a fingerprint-credential job is about: a (re-)registration of the key. */
export interface Registration {
  credentialId: string;
  tenantId: string;
  registeredAt: Date;
}

/**
 * Whether a registration concerns one member's alert of one scope: its own new version concerns
 * both scopes; another credential of its tenant its SAME_TENANT alert; another tenant its OTHER_TENANT one.
 */
export function registrationConcerns(reg: Registration, member: GroupMember, scope: AlertScope): boolean {
  if (reg.credentialId === member.credentialId) return true;
  return scope === 'SAME_TENANT' ? reg.tenantId === member.tenantId : reg.tenantId !== member.tenantId;
}

export interface ExistingAlert {
  status: AlertStatus;
  statusChangedAt: Date | null;
}

export type AlertAction = 'CREATE' | 'REOPEN' | 'TOUCH';

/**
 * What to do with a member's alert while its key is shared. A RESOLVED alert was closed by us
 * because the sharing ended, so sharing again reopens it. A person's ACKNOWLEDGED/DISMISSED stays
 * until the key is registered again after that decision (a version stored later than the status
 * change); re-running an old job or a rescan never overrides a person.
 */
export function alertAction(
  existing: ExistingAlert | null,
  member: GroupMember,
  scope: AlertScope,
  registration: Registration | null,
): AlertAction {
  if (!existing) return 'CREATE';
  if (existing.status === 'OPEN') return 'TOUCH';
  if (existing.status === 'RESOLVED') return 'REOPEN';
  const fresh =
    registration !== null &&
    registrationConcerns(registration, member, scope) &&
    (existing.statusChangedAt === null || registration.registeredAt.getTime() > existing.statusChangedAt.getTime());
  return fresh ? 'REOPEN' : 'TOUCH';
}

export type HumanStatus = 'ACKNOWLEDGED' | 'DISMISSED';

/** A person may acknowledge or dismiss an OPEN, ACKNOWLEDGED or DISMISSED alert; RESOLVED is ours. */
export function humanTransition(current: AlertStatus, target: HumanStatus): 'CHANGE' | 'NOOP' | 'RESOLVED' {
  if (current === 'RESOLVED') return 'RESOLVED';
  return current === target ? 'NOOP' : 'CHANGE';
}
