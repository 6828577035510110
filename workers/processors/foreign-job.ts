import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { isUuid } from '../../src/modules/auth/tenant-scope';
import type { ProcessorDeps } from './deps';

/** Who owns a row, per table a job may name: fixed statements, never built from job data. */
const OWNER = {
  credentials: 'SELECT tenant_id FROM credentials WHERE id = $1',
  gateways: 'SELECT tenant_id FROM gateways WHERE id = $1',
  webhook_deliveries: 'SELECT tenant_id FROM webhook_deliveries WHERE id = $1',
} as const;

/** What a job that found its work gone returns: it completes, so only real failures land in `failed`. */
export interface StaleJobResult {
  skipped: 'STALE';
  reason: string;
}

/** A stale job's result (the object or version it names moved on or is gone): nothing was done. */
export const staleJob = (reason: string): StaleJobResult => ({ skipped: 'STALE', reason });

/**
 * Ends a job whose (tenant, object) pair matches nothing. A stale job (the object is gone, or
 * never was) completes as skipped: superseded work is normal, and the queue dashboard and the
 * failed-job count show real failures only. A job naming another tenant's object was forged or
 * corrupted on its way through the queue store (only the outbox relay writes jobs, always with the
 * row's own tenant): it fails, with no retry, and is a security event in the owner's trail. One
 * extra query, on this path only.
 */
export async function refuseStaleOrForeign(
  deps: Pick<ProcessorDeps, 'db' | 'security'>,
  job: Pick<Job, 'id' | 'name' | 'queueName'>,
  target: { table: keyof typeof OWNER; id: unknown; tenantId: unknown },
  what: string,
): Promise<StaleJobResult> {
  const id = target.id;
  if (typeof id === 'string' && isUuid(id)) {
    const rows: { tenant_id: string }[] = await deps.db.query(OWNER[target.table], [id]);
    const owner = rows[0]?.tenant_id;
    if (owner && owner !== target.tenantId) {
      deps.security.record({
        kind: 'FORGED_JOB',
        tenantId: owner,
        targetType: target.table,
        targetId: id,
        details: { queue: job.queueName, job: job.name, jobId: String(job.id) },
        throttleKey: `${job.queueName}:${String(job.id)}`,
      });
      // The wording predates the split: dashboards and alerts may match on it.
      throw new UnrecoverableError(`stale or foreign job: ${what}`);
    }
  }
  return staleJob(what);
}
