import type { EntityManager } from 'typeorm';
import type { KeyTestOutcome } from '../../providers/types';

/** One key version, matched on all three (a forged or stale job finds nothing). */
interface VersionRef {
  tenantId: string;
  credentialId: string;
  version: number;
}

/**
 * A check of this version gave up after its last retry: one alert per credential version. A repeat
 * (the next day's re-check gave up too) counts on the same row and reopens it if it was resolved.
 * Written in the transaction that records the outcome, so the alert and the result agree.
 */
export async function raiseCheckExhaustedInTx(tx: EntityManager, v: VersionRef, outcome: KeyTestOutcome): Promise<void> {
  await tx.query(
    `INSERT INTO credential_check_alerts (tenant_id, credential_id, version, kind, outcome, status)
     VALUES ($1, $2, $3, 'CHECK_EXHAUSTED', $4, 'OPEN')
     ON CONFLICT (credential_id, version, kind) DO UPDATE
        SET outcome = EXCLUDED.outcome, status = 'OPEN', resolved_at = NULL, last_seen_at = now(), updated_at = now(),
            occurrences = credential_check_alerts.occurrences + 1
      WHERE credential_check_alerts.tenant_id = EXCLUDED.tenant_id`,
    [v.tenantId, v.credentialId, v.version, outcome],
  );
}

/** A decisive answer for this version (it works, or it is invalid): its "could not check" alert is over. */
export async function resolveCheckAlertsInTx(tx: EntityManager, v: VersionRef): Promise<void> {
  await tx.query(
    `UPDATE credential_check_alerts SET status = 'RESOLVED', resolved_at = now(), updated_at = now()
      WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND status = 'OPEN'`,
    [v.tenantId, v.credentialId, v.version],
  );
}
