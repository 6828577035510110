import type { EntityManager } from 'typeorm';
import type { KeyTestOutcome, KeyTestResult } from '../../providers/types';
import { raiseCheckExhaustedInTx, resolveCheckAlertsInTx } from '../alert/check-alert.writer';
import { auditInTx } from '../audit/audit.writer';
import { SYSTEM_ACTOR } from '../auth/actor';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { enqueueInTx, OUTBOX_COLUMNS, outboxParams, outboxRowsFrom } from '../outbox/outbox.writer';
import type { CredentialStatus, VersionState } from './credential.entity';
import type { CheckedVersion, OutcomeDeps } from './credential-lifecycle.deps';
import { retireInvalidPreviousInTx, shredVersionsInTx } from './credential-lifecycle.retire';
import { keyRefsInTx } from './credential-key-refs';

/*
 * The credential state machine, used by the validation worker and the API alike. A version is
 * stored PENDING (credential.service: create, rotate); its first decisive check makes it ACTIVE
 * or REJECTED (here); the version it replaces serves on as PREVIOUS through the grace period and
 * is then RETIRED; a revocation makes every version REVOKED (credential-lifecycle.retire.ts).
 * Leaving PENDING, ACTIVE or PREVIOUS for any other state always destroys the key material.
 */

export const WORKING: KeyTestOutcome[] = ['VALID', 'VALID_NO_QUOTA', 'VALID_RESTRICTED'];
/** The states whose key material still exists: the only ones worth checking. */
export const LIVE_VERSION_STATES: readonly VersionState[] = ['PENDING', 'ACTIVE', 'PREVIOUS'];

/**
 * Records one check. The common case, a serving key that still works, goes in a group commit with
 * other jobs' (ConfirmedOutcomes). Everything else is one transaction: the outcome on its version,
 * on the credential when that version is the one it shows (showsResultOf), a promotion or
 * rejection of a pending version, the retirement of a PREVIOUS version found invalid, and, when
 * the serving key changes, the audit event and gateway reloads. Every step re-reads state under
 * the credential's row lock, so a duplicate or late job (the version was superseded or revoked
 * while its check ran) changes nothing. A version's first working check also admits it to
 * duplicate detection. `exhausted`: the check gave up after its last retry (the provider stayed
 * rate limited or unavailable), which raises the version's "could not check" alert. Returns
 * whether a settings page has something new to show (a live event).
 */
export async function recordOutcome(
  deps: OutcomeDeps,
  v: CheckedVersion,
  result: KeyTestResult,
  opts: { exhausted?: boolean } = {},
): Promise<boolean> {
  const { tenantId, credentialId, version } = v;
  if (WORKING.includes(result.outcome)) {
    const confirmed = await deps.confirmed.record(v, result);
    // Only the time of the check moved: no live event for that (the daily sweep re-checks every key).
    if (confirmed) return confirmed.changed;
  }
  return deps.db.transaction(async (tx) => {
    const [credential]: { current_version: number | null; latest_version: number; status: CredentialStatus }[] = await tx.query(
      `SELECT current_version, latest_version, status FROM credentials
        WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL FOR UPDATE`,
      [tenantId, credentialId],
    );
    if (!credential) return false;
    const [row]: { state: string }[] = await tx.query(
      'SELECT state FROM credential_versions WHERE tenant_id = $1 AND credential_id = $2 AND version = $3',
      [tenantId, credentialId, version],
    );
    if (!row || !LIVE_VERSION_STATES.includes(row.state as VersionState)) return false;
    const works = WORKING.includes(result.outcome);
    if (works) await admitToDuplicateCheckInTx(tx, v);
    let current = credential.current_version;
    if (row.state === 'PENDING' && works) {
      await promoteInTx(tx, deps.config.rotationGraceHours, v, credential.status === 'INVALID');
      current = version;
    } else if (row.state === 'PENDING' && result.outcome === 'INVALID') {
      await rejectPendingInTx(tx, v, current);
    } else if (row.state === 'PREVIOUS' && result.outcome === 'INVALID') {
      await retireInvalidPreviousInTx(tx, v, result.outcome);
    }
    await recordOnVersionInTx(tx, v, result);
    const status = statusAfter(result.outcome, row.state, current, version, credential.latest_version);
    const shown = showsResultOf(current, credential.latest_version, version);
    if (shown || status !== null) {
      await tx.query(
        `UPDATE credentials
            SET status = COALESCE($3, status), updated_at = now(),
                last_validation_outcome = CASE WHEN $7 THEN $4 ELSE last_validation_outcome END,
                last_validated_at = CASE WHEN $7 THEN now() ELSE last_validated_at END,
                last_validation_models = CASE WHEN $7 THEN $5::text[] ELSE last_validation_models END,
                last_validation_message = CASE WHEN $7 THEN $6 ELSE last_validation_message END
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, credentialId, status, result.outcome, result.models, result.message, shown],
      );
    }
    if (status === 'INVALID' && credential.status !== 'INVALID' && version === current) {
      await invalidateInTx(tx, v, result.outcome, credential.status);
    } else if (status === 'ACTIVE' && credential.status === 'INVALID' && current === credential.current_version) {
      // The serving key works again (the provider had rejected it by mistake or it was restored).
      await bumpGatewaysInTx(tx, tenantId, { credentialId }, 'CREDENTIAL_ROTATED');
    }
    if (opts.exhausted && TRANSIENT.includes(result.outcome)) await raiseCheckExhaustedInTx(tx, v, result.outcome);
    else if (!TRANSIENT.includes(result.outcome)) await resolveCheckAlertsInTx(tx, v);
    return true;
  });
}

/** Outcomes that say nothing about the key: the check is retried, and may give up on them. */
export const TRANSIENT: readonly KeyTestOutcome[] = ['RATE_LIMITED', 'PROVIDER_UNAVAILABLE'];

/**
 * Whether a check of `version` is what the credential shows (its lastValidation): the serving
 * version's always; before any version serves, the newest's (the only candidate). A late result
 * for any other version (a pending rotation, a PREVIOUS key in its grace period, an old job)
 * stays on that version only.
 */
export function showsResultOf(current: number | null, latest: number, version: number): boolean {
  return current === null ? version === latest : version === current;
}

/** Every check is kept on its own version, whatever the credential shows. */
async function recordOnVersionInTx(tx: EntityManager, v: CheckedVersion, result: KeyTestResult): Promise<void> {
  await tx.query(
    `UPDATE credential_versions
        SET last_validation_outcome = $4, last_validated_at = now(), last_validation_models = $5::text[], last_validation_message = $6
      WHERE tenant_id = $1 AND credential_id = $2 AND version = $3`,
    [v.tenantId, v.credentialId, v.version, result.outcome, result.models, result.message],
  );
}

/** A rejected key never serves and is never checked again: nothing of it is kept. */
async function rejectPendingInTx(tx: EntityManager, v: CheckedVersion, current: number | null): Promise<void> {
  const { tenantId, credentialId, version } = v;
  await shredVersionsInTx(tx, tenantId, { credentialId, versionState: 'PENDING' }, 'REJECTED');
  await auditInTx(tx, SYSTEM_ACTOR, {
    tenantId,
    action: 'CREDENTIAL_VERSION_REJECTED',
    targetType: 'CREDENTIAL',
    targetId: credentialId,
    details: { version, outcome: 'INVALID', keyRefs: await keyRefsInTx(tx, tenantId, credentialId, [version]) },
  });
  // The rotation hid the serving key's own state behind PENDING_VALIDATION: a fresh check of
  // that key, not a guess, decides whether the credential is ACTIVE or INVALID again.
  if (current !== null) {
    await enqueueInTx(tx, 'validate-credential', { tenantId, credentialId, version: current, sweep: `recheck-${version}` });
  }
}

/** The key gateways were being served stopped working: they reload without it, and the trail says why. */
async function invalidateInTx(tx: EntityManager, v: CheckedVersion, outcome: KeyTestOutcome, previousStatus: CredentialStatus): Promise<void> {
  const { tenantId, credentialId, version } = v;
  const gateways = await bumpGatewaysInTx(tx, tenantId, { credentialId }, 'CREDENTIAL_INVALID');
  await auditInTx(tx, SYSTEM_ACTOR, {
    tenantId,
    action: 'CREDENTIAL_INVALIDATED',
    targetType: 'CREDENTIAL',
    targetId: credentialId,
    details: {
      version,
      outcome,
      previousStatus,
      reloadedGateways: gateways.length,
      keyRefs: await keyRefsInTx(tx, tenantId, credentialId, [version]),
    },
  });
}

/**
 * The first working check of a version is when duplicate detection may look at it: the
 * fingerprint job is queued in this transaction (after commit, through the outbox). A key that
 * never validates is never compared, so registering a leaked or revoked key tells nobody anything.
 * Later checks of the same version queue nothing: re-validations never move anyone's alerts.
 */
async function admitToDuplicateCheckInTx(tx: EntityManager, v: CheckedVersion): Promise<void> {
  // One statement: the outbox row exists only if this check was the version's first working one.
  const job = { name: 'fingerprint-credential', payload: { tenantId: v.tenantId, credentialId: v.credentialId, version: v.version } } as const;
  await tx.query(
    `WITH first AS (
       UPDATE credential_versions SET validated_at = now()
        WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND validated_at IS NULL RETURNING version)
     INSERT INTO outbox (${OUTBOX_COLUMNS})
     SELECT ${OUTBOX_COLUMNS} FROM ${outboxRowsFrom(4)} WHERE EXISTS (SELECT 1 FROM first) ORDER BY job.n`,
    [v.tenantId, v.credentialId, v.version, ...outboxParams([job])],
  );
}

/**
 * Staged rotation: the pending version becomes ACTIVE; the one it replaces stays live as PREVIOUS
 * for ROTATION_GRACE_HOURS (gateways get both, the new one first), or retires at once when there
 * is no grace period or it had been found invalid. At most one PREVIOUS is kept.
 */
async function promoteInTx(tx: EntityManager, graceHours: number, v: CheckedVersion, currentInvalid: boolean): Promise<void> {
  const { tenantId, credentialId, version } = v;
  await shredVersionsInTx(tx, tenantId, { credentialId, versionState: 'PREVIOUS' }, 'RETIRED');
  if (graceHours > 0 && !currentInvalid) {
    await tx.query(
      `UPDATE credential_versions SET state = 'PREVIOUS', retire_after = now() + $4::float8 * interval '1 hour'
        WHERE tenant_id = $1 AND credential_id = $2 AND state = 'ACTIVE' AND version <> $3`,
      [tenantId, credentialId, version, graceHours],
    );
  } else {
    await shredVersionsInTx(tx, tenantId, { credentialId, versionState: 'ACTIVE' }, 'RETIRED');
  }
  await tx.query(
    `UPDATE credential_versions SET state = 'ACTIVE', activated_at = now()
      WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND state = 'PENDING'`,
    [tenantId, credentialId, version],
  );
  // The rotation clock restarts when the new key actually serves, not when it was submitted.
  await tx.query(
    `UPDATE credentials c
        SET current_version = $3, rotated_at = now(),
            rotate_by = now() + make_interval(days => COALESCE(c.rotation_period_days, t.rotation_policy_days))
       FROM tenants t
      WHERE c.tenant_id = $1 AND c.id = $2 AND t.id = c.tenant_id`,
    [tenantId, credentialId, version],
  );
  const gateways = await bumpGatewaysInTx(tx, tenantId, { credentialId }, 'CREDENTIAL_ROTATED');
  // The key that now serves, in the trail: with CREDENTIAL_CREATED/ROTATED before it and
  // RETIRED/REVOKED after, one keyRef follows the key through its whole life.
  await auditInTx(tx, SYSTEM_ACTOR, {
    tenantId,
    action: 'CREDENTIAL_VERSION_ACTIVATED',
    targetType: 'CREDENTIAL',
    targetId: credentialId,
    details: { version, reloadedGateways: gateways.length, keyRefs: await keyRefsInTx(tx, tenantId, credentialId, [version]) },
  });
}

/** The credential's status after a check, or null to leave it as it is. */
export function statusAfter(
  outcome: KeyTestOutcome,
  state: string,
  current: number | null,
  version: number,
  latest: number,
): 'ACTIVE' | 'INVALID' | null {
  const works = WORKING.includes(outcome);
  if (works) return version === current ? 'ACTIVE' : null;
  if (outcome !== 'INVALID') return null;
  // A rejected first key makes the credential invalid; a rejected rotation leaves the decision to
  // the re-check of the serving key queued beside it.
  if (state === 'PENDING') return current === null && version === latest ? 'INVALID' : null;
  return version === current ? 'INVALID' : null;
}
