import { UnrecoverableError, type Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import { CREDENTIAL_PURPOSE } from '../../src/modules/credential/credential-material';
import { testKey } from '../../src/providers/registry';
import type { ApiShape, AuthScheme, KeyTestOutcome, KeyTestResult } from '../../src/providers/types';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type ValidateDeps = Pick<ProcessorDeps, 'db' | 'box' | 'timeoutMs'>;

const WORKING: KeyTestOutcome[] = ['VALID', 'VALID_NO_QUOTA', 'VALID_RESTRICTED'];
const RETRY: KeyTestOutcome[] = ['RATE_LIMITED', 'PROVIDER_UNAVAILABLE'];

/** Thrown for outcomes worth another try; BullMQ retries with backoff. Carries no provider text. */
export class TransientProviderError extends Error {
  constructor(
    readonly outcome: KeyTestOutcome,
    readonly retryAfterSeconds: number | null,
  ) {
    super(`provider check was ${outcome}; will retry`);
  }
}

interface VersionRow {
  state: string;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  current_version: number | null;
  revoked_at: Date | null;
  base_url: string;
  auth_scheme: AuthScheme;
  api_shape: ApiShape;
}

/**
 * Checks one stored key version against its provider and records the outcome. A pending version
 * that works becomes the active one; one that fails never replaces a working key.
 * Idempotent: every write is conditional on the state it expects.
 */
export async function validateCredential(deps: ValidateDeps, job: Job<JobPayloads['validate-credential']>) {
  const { tenantId, credentialId, version } = job.data;
  const rows: VersionRow[] = await deps.db.query(
    `SELECT v.state, v.kek_version, v.wrapped_key, v.ciphertext, c.current_version, c.revoked_at,
            p.base_url, p.auth_scheme, p.api_shape
       FROM credential_versions v
       JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
       JOIN providers p ON p.id = c.provider_id
      WHERE v.tenant_id = $1 AND v.credential_id = $2 AND v.version = $3`,
    [tenantId, credentialId, version],
  );
  const row = rows[0];
  // Forged (wrong tenant), stale (superseded or revoked) jobs end here without side effects.
  if (!row || row.revoked_at || !row.ciphertext || !row.wrapped_key || row.kek_version == null) {
    throw new UnrecoverableError('stale or foreign job: nothing to validate');
  }
  if (!['PENDING', 'ACTIVE', 'PREVIOUS'].includes(row.state)) {
    throw new UnrecoverableError(`version is ${row.state}: nothing to validate`);
  }
  const secret = deps.box.open(
    { kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
    { purpose: CREDENTIAL_PURPOSE, tenantId, objectId: credentialId, version },
  );
  const result = await testKey(
    { baseUrl: row.base_url, authScheme: row.auth_scheme, apiShape: row.api_shape },
    secret,
    { timeoutMs: deps.timeoutMs },
  );
  if (RETRY.includes(result.outcome) && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
    throw new TransientProviderError(result.outcome, result.retryAfterSeconds);
  }
  await recordOutcome(deps.db, tenantId, credentialId, version, row.state, result);
  return { outcome: result.outcome };
}

async function recordOutcome(
  db: DataSource,
  tenantId: string,
  credentialId: string,
  version: number,
  state: string,
  result: KeyTestResult,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [credential]: { current_version: number | null; latest_version: number }[] = await tx.query(
      'SELECT current_version, latest_version FROM credentials WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
      [tenantId, credentialId],
    );
    if (!credential) return;
    const works = WORKING.includes(result.outcome);
    if (state === 'PENDING' && works) {
      // Staged rotation: the previous active version stays live (PREVIOUS) until its grace period ends.
      await tx.query(
        `UPDATE credential_versions SET state = 'PREVIOUS'
          WHERE tenant_id = $1 AND credential_id = $2 AND state = 'ACTIVE' AND version <> $3`,
        [tenantId, credentialId, version],
      );
      await tx.query(
        `UPDATE credential_versions SET state = 'ACTIVE', activated_at = now()
          WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND state = 'PENDING'`,
        [tenantId, credentialId, version],
      );
      await tx.query('UPDATE credentials SET current_version = $3 WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        credentialId,
        version,
      ]);
    } else if (state === 'PENDING' && result.outcome === 'INVALID') {
      await tx.query(
        `UPDATE credential_versions SET state = 'REJECTED', retired_at = now()
          WHERE tenant_id = $1 AND credential_id = $2 AND version = $3 AND state = 'PENDING'`,
        [tenantId, credentialId, version],
      );
    }
    const current = state === 'PENDING' && works ? version : credential.current_version;
    const status = statusAfter(result.outcome, state, current, version, credential.latest_version);
    await tx.query(
      `UPDATE credentials
          SET status = COALESCE($3, status), last_validation_outcome = $4, last_validated_at = now(),
              last_validation_models = $5, last_validation_message = $6, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`,
      [tenantId, credentialId, status, result.outcome, result.models, result.message],
    );
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
  // A rejected rotation leaves a working current key in place; without one, the credential is invalid.
  if (state === 'PENDING') return current === null && version === latest ? 'INVALID' : current !== null ? 'ACTIVE' : null;
  return version === current ? 'INVALID' : null;
}
