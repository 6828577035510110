import type { DataSource, EntityManager } from 'typeorm';
import type { AlertScope, AlertSeverity, AlertStatus } from './alert.entity';
import { alertAction, desiredAlerts, type GroupMember, type Registration } from './key-reuse.rules';

/**
 * A matchable version: material, a servable state, a credential that is not revoked, and a key that
 * validated at its provider. A string that never worked matches nothing and is matched by nothing.
 */
export const LIVE_SQL = (v: string, c: string) =>
  `${v}.fingerprint IS NOT NULL AND ${v}.validated_at IS NOT NULL AND ${v}.state IN ('PENDING', 'ACTIVE', 'PREVIOUS') AND ${c}.revoked_at IS NULL`;

export interface RaisedAlert {
  tenantId: string;
  alertId: string;
}

export interface ReconcileResult {
  /** New or reopened alerts: each gets a KEY_REUSE_ALERT event after commit. */
  raised: RaisedAlert[];
  resolved: number;
  members: number;
}

interface AlertRow {
  id: string;
  tenant_id: string;
  credential_id: string;
  scope: AlertScope;
  status: AlertStatus;
  fingerprint: Buffer;
  status_changed_at: Date | null;
}

const SYSTEM = 'system';

/**
 * Brings every alert about one fingerprint up to date, in one transaction holding an advisory lock
 * on the fingerprint: jobs for the same key serialize, so when two tenants store it at the same
 * moment the second job sees the first one's rows and both tenants end up alerted.
 * Idempotent: a second run with the same input changes only the registering credential's last_seen_at.
 *
 * `ownerTenant` is the tenant whose event this is (default: the registration's); only its alerts
 * of credentials that no longer hold the key are resolved here. Resolving another tenant's alert
 * now would date this tenant's event in that tenant's statusChangedAt. null (a rescan): all.
 */
export async function reconcileFingerprint(
  db: DataSource,
  fingerprint: Buffer,
  registration: Registration | null,
  ownerTenant: string | null = registration?.tenantId ?? null,
): Promise<ReconcileResult> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended(encode($1::bytea, 'hex'), 0))`, [fingerprint]);
    const rows: { credential_id: string; tenant_id: string; kind: GroupMember['kind']; pepper_version: number }[] = await tx.query(
      `SELECT DISTINCT c.id AS credential_id, c.tenant_id, c.kind, v.pepper_version
         FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
        WHERE v.fingerprint = $1 AND ${LIVE_SQL('v', 'c')}`,
      [fingerprint],
    );
    const group: GroupMember[] = [
      ...new Map(rows.map((r) => [r.credential_id, { credentialId: r.credential_id, tenantId: r.tenant_id, kind: r.kind }])).values(),
    ];
    // Alerts carry the pepper version of the fingerprint they follow (one fingerprint: one version).
    const pepperVersion = rows[0]?.pepper_version ?? 1;
    // Locked in id order, so jobs on different fingerprints that share a credential cannot deadlock.
    const existing: AlertRow[] = await tx.query(
      `SELECT id, tenant_id, credential_id, scope, status, fingerprint, status_changed_at FROM key_reuse_alerts
        WHERE fingerprint = $1 OR credential_id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`,
      [fingerprint, group.map((m) => m.credentialId)],
    );
    const result: ReconcileResult = { raised: [], resolved: 0, members: group.length };
    for (const member of group) {
      for (const want of desiredAlerts(member, group)) {
        const found = existing.find((a) => a.credential_id === member.credentialId && a.scope === want.scope) ?? null;
        const action = alertAction(found && { status: found.status, statusChangedAt: found.status_changed_at }, member, want.scope, registration);
        const raised = await applyAction(tx, action, found?.id ?? null, member, want, fingerprint, pepperVersion);
        if (raised) result.raised.push({ tenantId: member.tenantId, alertId: raised });
      }
    }
    // A credential that left the group (revoked, retired, rejected) stops alerting about this key.
    // Members whose group shrank to one keep their alert as it is: the key was shared, and a person decides.
    const members = new Set(group.map((m) => m.credentialId));
    for (const alert of existing) {
      if (members.has(alert.credential_id) || alert.status === 'RESOLVED' || !alert.fingerprint.equals(fingerprint)) continue;
      if (ownerTenant !== null && alert.tenant_id !== ownerTenant) continue;
      if (await repointOrResolve(tx, alert)) result.resolved++;
    }
    return result;
  });
}

/** Returns the alert id when the alert was created or reopened. */
async function applyAction(
  tx: EntityManager,
  action: ReturnType<typeof alertAction>,
  alertId: string | null,
  member: GroupMember,
  want: { scope: AlertScope; severity: AlertSeverity },
  fingerprint: Buffer,
  pepperVersion: number,
): Promise<string | null> {
  if (action === 'NONE') return null;
  if (action === 'CREATE') {
    // A row created meanwhile by a job on another of this credential's keys stays as it is.
    const [row]: { id: string }[] = await tx.query(
      `INSERT INTO key_reuse_alerts (tenant_id, credential_id, fingerprint, pepper_version, severity, scope, status, last_seen_at)
       VALUES ($1, $2, $3, $6, $4, $5, 'OPEN', now())
       ON CONFLICT (credential_id, scope) DO NOTHING
       RETURNING id`,
      [member.tenantId, member.credentialId, fingerprint, want.severity, want.scope, pepperVersion],
    );
    return row?.id ?? null;
  }
  if (action === 'REOPEN') {
    await tx.query(
      `UPDATE key_reuse_alerts
          SET status = 'OPEN', reopen_count = reopen_count + 1, status_changed_at = now(), status_changed_by = $2,
              severity = $3, fingerprint = $4, pepper_version = $5, last_seen_at = now(), updated_at = now()
        WHERE id = $1`,
      [alertId, SYSTEM, want.severity, fingerprint, pepperVersion],
    );
    return alertId;
  }
  // The tenant's own event: only last_seen_at moves unless the severity or the matching fingerprint really changed.
  await tx.query(
    `UPDATE key_reuse_alerts
        SET last_seen_at = now(), severity = $2, fingerprint = $3, pepper_version = $4,
            updated_at = CASE WHEN severity <> $2 OR fingerprint <> $3 THEN now() ELSE updated_at END
      WHERE id = $1`,
    [alertId, want.severity, fingerprint, pepperVersion],
  );
  return null;
}

/**
 * The credential no longer holds this key. If another of its live keys is still shared in the same
 * scope, the alert follows that key (unique per credential and scope); otherwise it is RESOLVED.
 */
async function repointOrResolve(tx: EntityManager, alert: AlertRow): Promise<boolean> {
  const tenantMatch = alert.scope === 'SAME_TENANT' ? 'd.tenant_id = c.tenant_id' : 'd.tenant_id <> c.tenant_id';
  const [other]: { fingerprint: Buffer; pepper_version: number }[] = await tx.query(
    `SELECT v.fingerprint, v.pepper_version FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
      WHERE v.credential_id = $1 AND ${LIVE_SQL('v', 'c')}
        AND EXISTS (SELECT 1 FROM credential_versions w JOIN credentials d ON d.id = w.credential_id AND d.tenant_id = w.tenant_id
                     WHERE w.fingerprint = v.fingerprint AND d.id <> c.id AND ${tenantMatch} AND ${LIVE_SQL('w', 'd')})
      ORDER BY v.version DESC LIMIT 1`,
    [alert.credential_id],
  );
  if (other) {
    await tx.query('UPDATE key_reuse_alerts SET fingerprint = $2, pepper_version = $3, last_seen_at = now(), updated_at = now() WHERE id = $1', [
      alert.id,
      other.fingerprint,
      other.pepper_version,
    ]);
    return false;
  }
  await tx.query(
    `UPDATE key_reuse_alerts SET status = 'RESOLVED', status_changed_at = now(), status_changed_by = $2, updated_at = now()
      WHERE id = $1`,
    [alert.id, SYSTEM],
  );
  return true;
}

/** Fingerprints of a credential's alerts that are still in force (to reconcile after its key left). */
export async function openAlertFingerprints(db: DataSource, tenantId: string, credentialId: string): Promise<Buffer[]> {
  const rows: { fingerprint: Buffer }[] = await db.query(
    `SELECT DISTINCT fingerprint FROM key_reuse_alerts WHERE tenant_id = $1 AND credential_id = $2 AND status <> 'RESOLVED'`,
    [tenantId, credentialId],
  );
  return rows.map((r) => r.fingerprint);
}
