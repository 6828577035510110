import { UnrecoverableError, type Job } from 'bullmq';
import { isUuid } from '../../src/modules/auth/tenant-scope';
import { openAlertFingerprints, reconcileFingerprint, type RaisedAlert } from '../../src/modules/alert/key-reuse.reconcile';
import { LIVE_VERSION_STATES } from '../../src/modules/alert/key-reuse.rules';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type FingerprintDeps = Pick<ProcessorDeps, 'db' | 'events' | 'log'>;

interface VersionRow {
  fingerprint: Buffer | null;
  state: string;
  created_at: Date;
  revoked_at: Date | null;
}

/**
 * Compares one stored key version with every other live key and raises, reopens or refreshes the
 * key reuse alerts of every credential holding the same key (all tenants). A job whose tenant does
 * not own the version (forged) or whose version is gone ends without touching anything; one whose
 * key was destroyed since (revoked, superseded) resolves that credential's alerts, then ends as stale.
 */
export async function fingerprintCredential(deps: FingerprintDeps, job: Job<JobPayloads['fingerprint-credential']>) {
  const { tenantId, credentialId, version } = job.data;
  if (!isUuid(String(tenantId)) || !isUuid(String(credentialId)) || !Number.isInteger(version)) {
    throw new UnrecoverableError('malformed job: nothing to fingerprint');
  }
  const [row]: VersionRow[] = await deps.db.query(
    `SELECT v.fingerprint, v.state, v.created_at, c.revoked_at
       FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
      WHERE v.tenant_id = $1 AND v.credential_id = $2 AND v.version = $3`,
    [tenantId, credentialId, version],
  );
  if (!row) throw new UnrecoverableError('stale or foreign job: no such key version');
  if (!row.fingerprint || row.revoked_at || !(LIVE_VERSION_STATES as readonly string[]).includes(row.state)) {
    let resolved = 0;
    for (const fingerprint of await openAlertFingerprints(deps.db, tenantId, credentialId)) {
      resolved += (await reconcileFingerprint(deps.db, fingerprint, null)).resolved;
    }
    deps.log.info({ credentialId, version, resolved }, 'fingerprint job for a key that is gone');
    throw new UnrecoverableError('stale job: the key version is no longer live');
  }
  const result = await reconcileFingerprint(deps.db, row.fingerprint, { credentialId, tenantId, registeredAt: row.created_at });
  await publishRaised(deps, result.raised);
  return { members: result.members, raised: result.raised.length, resolved: result.resolved };
}

/** Live events are a convenience for open settings pages: a failed publish is logged, not retried. */
export async function publishRaised(deps: Pick<ProcessorDeps, 'events' | 'log'>, raised: RaisedAlert[]): Promise<void> {
  for (const alert of raised) {
    try {
      await deps.events.publish('KEY_REUSE_ALERT', alert);
    } catch (error) {
      deps.log.warn({ alertId: alert.alertId, err: { name: (error as Error).name } }, 'could not publish key reuse alert event');
    }
  }
}
