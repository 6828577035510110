import { UnrecoverableError, type Job } from 'bullmq';
import { isUuid } from '../../src/modules/auth/tenant-scope';
import { openAlertFingerprints, reconcileFingerprint, type RaisedAlert } from '../../src/modules/alert/key-reuse.reconcile';
import { LIVE_VERSION_STATES } from '../../src/modules/alert/key-reuse.rules';
import { convergeFingerprint } from '../../src/modules/alert/pepper-remap';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';
import { refuseStaleOrForeign, staleJob } from './foreign-job';

export type FingerprintDeps = Pick<ProcessorDeps, 'db' | 'events' | 'log'>;

interface VersionRow {
  fingerprint: Buffer | null;
  pepper_version: number;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  state: string;
  validated_at: Date | null;
  revoked_at: Date | null;
}

/**
 * Compares one validated key version with every other validated live key and raises the key reuse
 * alerts it calls for (all tenants; see alertAction for what another tenant's event may change).
 * Queued by the validation worker when the version first validates, never at create time. A job
 * whose tenant does not own the version (forged) or whose version is gone ends without touching
 * anything; a version that has not validated (a job queued before validation gated this) ends
 * without matching; one whose key was destroyed since (revoked, superseded) resolves that
 * credential's own alerts, then ends as stale.
 */
export async function fingerprintCredential(
  deps: FingerprintDeps & Pick<ProcessorDeps, 'box' | 'fingerprinter' | 'security'>,
  job: Job<JobPayloads['fingerprint-credential']>,
) {
  const { tenantId, credentialId, version } = job.data;
  if (!isUuid(String(tenantId)) || !isUuid(String(credentialId)) || !Number.isInteger(version)) {
    throw new UnrecoverableError('malformed job: nothing to fingerprint');
  }
  const [row]: VersionRow[] = await deps.db.query(
    `SELECT v.fingerprint, v.pepper_version, v.kek_version, v.wrapped_key, v.ciphertext, v.state, v.validated_at, c.revoked_at
       FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
      WHERE v.tenant_id = $1 AND v.credential_id = $2 AND v.version = $3`,
    [tenantId, credentialId, version],
  );
  if (!row) return refuseStaleOrForeign(deps, job, { table: 'credentials', id: credentialId, tenantId }, 'no such key version');
  if (!row.fingerprint || row.revoked_at || !(LIVE_VERSION_STATES as readonly string[]).includes(row.state)) {
    let resolved = 0;
    for (const fingerprint of await openAlertFingerprints(deps.db, tenantId, credentialId)) {
      resolved += (await reconcileFingerprint(deps.db, fingerprint, null, tenantId)).resolved;
    }
    deps.log.info({ credentialId, version, resolved }, 'fingerprint job for a key that is gone');
    return staleJob('the key version is no longer live');
  }
  if (!row.validated_at) {
    deps.log.info({ credentialId, version }, 'fingerprint job for a key that has not validated: nothing to match');
    return { members: 0, raised: 0, resolved: 0, skipped: 'NOT_VALIDATED' as const };
  }
  // Mid pepper rotation: match under every version in use, so no duplicate is missed (pepper-remap.ts).
  const converged = await convergeFingerprint(deps, {
    tenantId,
    credentialId,
    version,
    kekVersion: row.kek_version,
    wrappedKey: row.wrapped_key,
    ciphertext: row.ciphertext,
    fingerprint: row.fingerprint,
    pepperVersion: row.pepper_version,
  });
  if (converged.unreadable) deps.log.warn({ credentialId, version }, 'fingerprint job: the key did not open, matched under its stored pepper only');
  const result = await reconcileFingerprint(deps.db, converged.fingerprint, { credentialId, tenantId, registeredAt: row.validated_at });
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
