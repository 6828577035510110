import type { EntityManager } from 'typeorm';
import type { AuditActor } from '../auth/actor';
import { AuditEventEntity } from './audit.entity';

export interface AuditRecord {
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  /** Ids, names and redacted hints only: never key material. */
  details?: Record<string, unknown>;
}

/** Written in the same transaction as the change, so the trail and the data cannot disagree. */
export async function auditInTx(manager: EntityManager, actor: AuditActor, record: AuditRecord): Promise<void> {
  await manager.insert(AuditEventEntity, {
    tenantId: record.tenantId,
    actorType: actor.type,
    actorId: actor.id,
    action: record.action,
    targetType: record.targetType,
    targetId: record.targetId,
    details: (record.details ?? {}) as never, // jsonb: TypeORM's deep-partial type rejects unknown values
    requestId: actor.requestId,
  });
}
