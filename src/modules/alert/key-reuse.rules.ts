import type { CredentialKind } from '../credential/credential.entity';
import type { AlertScope, AlertSeverity, AlertStatus } from './alert.entity';

/**
 * Pure rules of duplicate-key detection, shared by the fingerprint processors and the API.
 * "Live" versions are the ones that can still be served: revoked, retired and rejected keys never match.
 * A live version also has to have validated at its provider before it matches anything (LIVE_SQL):
 * registering a string nobody can use must not tell anyone whether someone else holds it.
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
 * The alerts one member of a fingerprint group should have. The severity comes from the member's
 * own credential only (an OAuth token is user-level access: HIGH): deriving it from the other
 * holders' kinds would tell a tenant how someone else stores the key.
 */
export function desiredAlerts(member: GroupMember, group: readonly GroupMember[]): { scope: AlertScope; severity: AlertSeverity }[] {
  const others = group.filter((m) => m.credentialId !== member.credentialId);
  const out: { scope: AlertScope; severity: AlertSeverity }[] = [];
  if (others.some((m) => m.tenantId === member.tenantId)) out.push({ scope: 'SAME_TENANT', severity: 'INFO' });
  if (others.some((m) => m.tenantId !== member.tenantId)) {
    out.push({ scope: 'OTHER_TENANT', severity: member.kind === 'OAUTH_TOKEN' ? 'HIGH' : 'WARNING' });
  }
  return out;
}

/** The key version a fingerprint-credential job is about: it validated, so it now takes part in matching. */
export interface Registration {
  credentialId: string;
  tenantId: string;
  /** When the version first validated: the moment the registration counts. */
  registeredAt: Date;
}

/**
 * Whether a registration is the member tenant's own event for one of its alerts: its own
 * credential's new key concerns both scopes; another credential of its tenant its SAME_TENANT
 * alert. Another tenant's registration never concerns an existing alert: it may only create a
 * missing one (the one bit, see alertAction).
 */
export function registrationConcerns(reg: Registration, member: GroupMember, scope: AlertScope): boolean {
  if (reg.credentialId === member.credentialId) return true;
  return scope === 'SAME_TENANT' && reg.tenantId === member.tenantId;
}

export interface ExistingAlert {
  status: AlertStatus;
  statusChangedAt: Date | null;
}

export type AlertAction = 'CREATE' | 'REOPEN' | 'TOUCH' | 'NONE';

/**
 * What to do with a member's alert while its key is shared.
 *
 * Privacy: an alert's fields (status, lastSeenAt, reopenCount, severity) move only on its own
 * tenant's events. Another tenant's registration (or a rescan) may only flip the one bit "this
 * key is also held elsewhere" from unknown to known: CREATE a missing alert, or REOPEN one we
 * RESOLVED because this credential had stopped holding a shared key and now holds one again.
 * Everything else about others (how many, when they came, when they left) stays invisible.
 *
 * On the tenant's own event: an OPEN alert is confirmed (TOUCH moves lastSeenAt); a person's
 * ACKNOWLEDGED/DISMISSED stays until the tenant registers the key again after that decision.
 */
export function alertAction(existing: ExistingAlert | null, member: GroupMember, scope: AlertScope, registration: Registration | null): AlertAction {
  if (!existing) return 'CREATE';
  if (existing.status === 'RESOLVED') return 'REOPEN';
  if (registration === null || !registrationConcerns(registration, member, scope)) return 'NONE';
  if (existing.status === 'OPEN') return 'TOUCH';
  const fresh = existing.statusChangedAt === null || registration.registeredAt.getTime() > existing.statusChangedAt.getTime();
  return fresh ? 'REOPEN' : 'TOUCH';
}

export type HumanStatus = 'ACKNOWLEDGED' | 'DISMISSED';

/** A person may acknowledge or dismiss an OPEN, ACKNOWLEDGED or DISMISSED alert; RESOLVED is ours. */
export function humanTransition(current: AlertStatus, target: HumanStatus): 'CHANGE' | 'NOOP' | 'RESOLVED' {
  if (current === 'RESOLVED') return 'RESOLVED';
  return current === target ? 'NOOP' : 'CHANGE';
}
