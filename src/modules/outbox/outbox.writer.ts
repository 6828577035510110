import type { EntityManager } from 'typeorm';
import { JOBS, type JobName, type JobPayloads } from '../../queue/registry';
import { OutboxEntity } from './outbox.entity';

/**
 * Writes queue work inside the caller's transaction (enqueue after commit: a relay in the worker
 * process moves rows to BullMQ). Takes the transaction's manager so it can never write outside it.
 */
export async function enqueueInTx<N extends JobName>(
  manager: EntityManager,
  name: N,
  payload: JobPayloads[N],
): Promise<void> {
  const spec = JOBS[name];
  await manager.insert(OutboxEntity, {
    tenantId: 'tenantId' in payload ? (payload.tenantId as string) : null,
    queue: spec.queue,
    jobName: name,
    jobId: spec.jobId(payload),
    payload: payload as never, // jsonb: TypeORM's deep-partial type rejects unknown values
  });
}
