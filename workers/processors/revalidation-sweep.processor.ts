import type { Job } from 'bullmq';
import { enqueue } from '../../src/queue/queues';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type RevalidationSweepDeps = Pick<ProcessorDeps, 'db' | 'queues' | 'log'> & {
  config: Pick<ProcessorDeps['config'], 'validationMaxAgeHours'>;
};

export const REVALIDATION_PAGE = 500;
/** A version still PENDING this long after it was stored had an inconclusive check; try it again. */
const PENDING_RECHECK_HOURS = 1;

interface DueRow {
  id: string;
  tenant_id: string;
  current_version: number | null;
  current_stale: boolean;
  pending_version: number | null;
  previous_version: number | null;
}

/**
 * Scheduled fan-out: one validate-credential job per stored key whose last check is older than
 * VALIDATION_MAX_AGE_HOURS (or that was never checked), plus pending rotations left undecided,
 * plus a PREVIOUS version still served in its grace period whose own last check is that old: a
 * key the provider revoked meanwhile must stop being served (found INVALID, it is retired at once,
 * with a reload), not ride out the rest of a grace period of days.
 * The sweep's own id goes into each job id, so a retried sweep re-adds nothing, and a re-check
 * never collides with the create/rotate check of the same version still kept in Redis.
 */
export async function revalidationSweep(deps: RevalidationSweepDeps, job: Job<JobPayloads['revalidation-sweep']>) {
  const sweep = String(job.timestamp);
  let after: string | null = null;
  let enqueued = 0;
  for (;;) {
    const rows: DueRow[] = await deps.db.query(
      `SELECT c.id, c.tenant_id, c.current_version,
              (c.current_version IS NOT NULL
                AND (c.last_validated_at IS NULL OR c.last_validated_at < now() - $1::float8 * interval '1 hour')) AS current_stale,
              p.version AS pending_version,
              pv.version AS previous_version
         FROM credentials c
         LEFT JOIN LATERAL (
              SELECT v.version FROM credential_versions v
               WHERE v.tenant_id = c.tenant_id AND v.credential_id = c.id AND v.state = 'PENDING'
                 AND v.ciphertext IS NOT NULL AND v.created_at < now() - $2::float8 * interval '1 hour'
               ORDER BY v.version DESC LIMIT 1) p ON true
         LEFT JOIN LATERAL (
              SELECT v.version FROM credential_versions v
               WHERE v.tenant_id = c.tenant_id AND v.credential_id = c.id AND v.state = 'PREVIOUS'
                 AND v.ciphertext IS NOT NULL AND (v.retire_after IS NULL OR v.retire_after > now())
                 AND (v.last_validated_at IS NULL OR v.last_validated_at < now() - $1::float8 * interval '1 hour')
               ORDER BY v.version DESC LIMIT 1) pv ON true
        WHERE c.revoked_at IS NULL
          AND ($3::uuid IS NULL OR c.id > $3::uuid)
          -- Keys held for a host confirmation are not checked (the confirmation queues their checks).
          AND EXISTS (SELECT 1 FROM provider_host_confirmations hc JOIN providers pr ON pr.id = hc.provider_id
                       WHERE hc.tenant_id = c.tenant_id AND hc.provider_id = c.provider_id AND hc.base_url = pr.base_url)
          AND ((c.current_version IS NOT NULL
                AND (c.last_validated_at IS NULL OR c.last_validated_at < now() - $1::float8 * interval '1 hour'))
               OR p.version IS NOT NULL OR pv.version IS NOT NULL)
        ORDER BY c.id
        LIMIT $4`,
      [deps.config.validationMaxAgeHours, PENDING_RECHECK_HOURS, after, REVALIDATION_PAGE],
    );
    if (rows.length === 0) break;
    const jobs: JobPayloads['validate-credential'][] = [];
    for (const r of rows) {
      if (r.current_stale && r.current_version !== null) {
        jobs.push({ tenantId: r.tenant_id, credentialId: r.id, version: r.current_version, sweep });
      }
      if (r.pending_version !== null) jobs.push({ tenantId: r.tenant_id, credentialId: r.id, version: r.pending_version, sweep });
      if (r.previous_version !== null) jobs.push({ tenantId: r.tenant_id, credentialId: r.id, version: r.previous_version, sweep });
    }
    await Promise.all(jobs.map((payload) => enqueue(deps.queues, 'validate-credential', payload)));
    enqueued += jobs.length;
    if (rows.length < REVALIDATION_PAGE) break;
    after = rows[rows.length - 1].id;
  }
  deps.log.info({ job: job.name, jobId: job.id, enqueued }, 'revalidation sweep done');
  return { enqueued };
}
