import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { LIVE_VERSION_STATES, recordOutcome } from '../../src/modules/credential/credential-lifecycle';
import type { OutcomeDeps } from '../../src/modules/credential/credential-lifecycle.deps';
import type { VersionState } from '../../src/modules/credential/credential.entity';
import { KekUnavailableError, KeyVersionUnavailableError, SEALS } from '../../src/crypto';
import { markCredentialUnreadable } from '../../src/modules/key-custody/unreadable';
import { outboundFor } from '../../src/outbound';
import { testKey } from '../../src/providers/registry';
import type { KeyTestOutcome } from '../../src/providers/types';
import type { JobPayloads } from '../../src/queue/registry';
import { publishCredentialChanged } from './credential-events';
import type { ProcessorDeps } from './deps';
import { refuseStaleOrForeign, staleJob } from './foreign-job';
import { admitOrPutBack, triesStarted } from './outbound-slot';

export type ValidateDeps = Pick<ProcessorDeps, 'db' | 'box' | 'timeoutMs' | 'events' | 'log' | 'versions' | 'security' | 'gate'> &
  OutcomeDeps & { config: Pick<ProcessorDeps['config'], 'outbound'> };

const RETRY: KeyTestOutcome[] = ['RATE_LIMITED', 'PROVIDER_UNAVAILABLE'];
/** A provider asking for more than this is asked again after this long. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Thrown for outcomes worth another try; BullMQ retries with backoff. Carries no provider text. */
export class TransientProviderError extends Error {
  constructor(
    readonly outcome: KeyTestOutcome,
    readonly retryAfterSeconds: number | null,
  ) {
    super(`provider check was ${outcome}; will retry`);
  }
}

/**
 * Checks one stored key version against its provider and records the outcome. A pending version
 * that works becomes the active one; one that fails never replaces a working key.
 * Idempotent: every write is conditional on the state it expects.
 */
export async function validateCredential(deps: ValidateDeps, job: Job<JobPayloads['validate-credential']>) {
  const { tenantId, credentialId, version } = job.data;
  const row = await deps.versions.read({ tenantId, credentialId, version });
  // Forged (wrong tenant), stale (superseded or revoked) jobs end here without side effects.
  if (!row || row.revoked_at || !row.ciphertext || !row.wrapped_key || row.kek_version == null) {
    return refuseStaleOrForeign(deps, job, { table: 'credentials', id: credentialId, tenantId }, 'nothing to validate');
  }
  if (!LIVE_VERSION_STATES.includes(row.state as VersionState)) {
    return staleJob(`version is ${row.state}: nothing to validate`);
  }
  // The provider's host changed since the tenant sent this key: it goes nowhere until the tenant
  // confirms the new host (confirmProviderHost queues this check again). Nothing is recorded.
  if (row.confirmed_base_url === null || row.confirmed_base_url !== row.base_url) {
    throw new UnrecoverableError('awaiting host confirmation: not sent');
  }
  let secret: string;
  try {
    secret = await deps.box.open(
      { kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
      SEALS.credentialVersion.context({ tenantId, objectId: credentialId, version }),
    );
  } catch (error) {
    // Neither is worth a retry. A KEK version this process lacks is the operator's to fix (its own
    // error, nothing marked); a key that does not open (tampered, moved) makes the credential UNREADABLE.
    // An HSM that cannot be reached: retried later without spending an attempt (workers/worker.ts).
    if (error instanceof KekUnavailableError) throw error;
    if (error instanceof KeyVersionUnavailableError) throw new UnrecoverableError(error.message);
    await markCredentialUnreadable(
      { db: deps.db, security: deps.security, publishChanged: (t, c) => publishCredentialChanged(deps, t, c) },
      tenantId,
      credentialId,
      version,
      'validation',
    );
    throw new UnrecoverableError('stored key could not be decrypted');
  }
  // One tenant's many hanging provider hosts must not hold every validation worker: the check
  // waits for its tenant's and host's slots, or goes back to the queue (src/outbound/isolation).
  const slot = await admitOrPutBack(deps.gate, job, { pool: 'provider', url: row.confirmed_base_url, callTimeoutMs: deps.timeoutMs });
  let result;
  try {
    result = await testKey(
      { baseUrl: row.confirmed_base_url, authScheme: row.auth_scheme, apiShape: row.api_shape },
      secret,
      // The guarded client: a custom base URL on a private or metadata address is refused before connecting.
      { timeoutMs: deps.timeoutMs, outbound: outboundFor(deps.config), tenantId },
    );
  } finally {
    // No HTTP status and unavailable: no answer came (common.ts maps every unreachable call so).
    await slot.leave({ unreachable: !result || (result.outcome === 'PROVIDER_UNAVAILABLE' && result.httpStatus === null) });
  }
  // Tries started, not failures: a delayed (rate-limited) try counts too, so a provider that keeps
  // answering 429 cannot keep a job alive forever. Starts that only waited for a slot do not.
  const lastTry = triesStarted(job) >= (job.opts.attempts ?? 1);
  if (!lastTry && result.outcome === 'RATE_LIMITED' && result.retryAfterSeconds !== null) {
    // Honour retry-after for this key only: rate-limiting the whole queue would let one tenant's
    // busy provider account stall every other tenant's checks.
    const waitMs = Math.min(Math.max(Math.ceil(result.retryAfterSeconds * 1000), 100), MAX_RETRY_AFTER_MS);
    await job.moveToDelayed(Date.now() + waitMs, job.token);
    throw new DelayedError();
  }
  if (!lastTry && RETRY.includes(result.outcome)) throw new TransientProviderError(result.outcome, result.retryAfterSeconds);
  // Gave up: the provider stayed rate limited or unavailable through every retry. Recorded as it
  // is, and the tenant is told (one alert per version), not only the outcome metric.
  const exhausted = RETRY.includes(result.outcome);
  if (exhausted) deps.log.warn({ tenantId, credentialId, version, outcome: result.outcome, attempts: job.attemptsMade + 1 }, 'key check gave up');
  if (await recordOutcome(deps, { tenantId, credentialId, version }, result, { exhausted })) {
    await publishCredentialChanged(deps, tenantId, credentialId);
  }
  return { outcome: result.outcome };
}
