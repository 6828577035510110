import type { EntityManager } from 'typeorm';
import { JOBS, type JobName, type JobPayloads } from '../../queue/registry';
import { currentTraceparent } from '../../tracing/spans';

/**
 * One unit of queue work: a registry job name and its ids-only payload. `traceparent` (tracing
 * on) is the trace the job continues: taken where the job is prepared when that is not where it
 * is written (a group commit writes many requests' jobs from one of them), else at the write.
 */
export type OutboxJob = { [N in JobName]: { name: N; payload: JobPayloads[N]; traceparent?: string | null } }[JobName];

/** The outbox columns the writers fill; the rest (id, created_at, attempts...) are defaults. */
export const OUTBOX_COLUMNS = 'tenant_id, queue, job_name, job_id, payload, trace_parent';

/**
 * The rows of several jobs as a set, read from six array parameters starting at $`at` (see
 * outboxParams). Arrays keep the statement text fixed however many jobs there are; `n` keeps their order.
 */
export function outboxRowsFrom(at: number): string {
  const [t, q, name, id, p, tp] = [0, 1, 2, 3, 4, 5].map((i) => `$${at + i}`);
  return `unnest(${t}::uuid[], ${q}::text[], ${name}::text[], ${id}::text[], ${p}::jsonb[], ${tp}::text[])
    WITH ORDINALITY AS job(tenant_id, queue, job_name, job_id, payload, trace_parent, n)`;
}

/** The six array parameters of outboxRowsFrom, one element per job. */
export function outboxParams(jobs: readonly OutboxJob[]): [(string | null)[], string[], string[], string[], string[], (string | null)[]] {
  const params: ReturnType<typeof outboxParams> = [[], [], [], [], [], []];
  const here = currentTraceparent();
  for (const { name, payload, traceparent } of jobs) {
    const spec = JOBS[name] as { queue: string; jobId: (p: typeof payload) => string };
    params[0].push('tenantId' in payload ? (payload.tenantId as string) : null);
    params[1].push(spec.queue);
    params[2].push(name);
    params[3].push(spec.jobId(payload));
    params[4].push(JSON.stringify(payload));
    params[5].push(traceparent !== undefined ? traceparent : here);
  }
  return params;
}

/**
 * Writes queue work inside the caller's transaction (enqueue after commit: a relay in the worker
 * process moves rows to BullMQ). Takes the transaction's manager so it can never write outside it.
 */
export async function enqueueInTx<N extends JobName>(manager: EntityManager, name: N, payload: JobPayloads[N]): Promise<void> {
  await enqueueManyInTx(manager, [{ name, payload } as OutboxJob]);
}

/** Several jobs in one INSERT (one round trip), in the given order. */
export async function enqueueManyInTx(manager: EntityManager, jobs: readonly OutboxJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await manager.query(`INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ${OUTBOX_COLUMNS} FROM ${outboxRowsFrom(1)} ORDER BY job.n`, outboxParams(jobs));
}
