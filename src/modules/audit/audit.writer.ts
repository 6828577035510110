import type { EntityManager } from 'typeorm';
import { AuditWriteError } from '../../errors';
import type { AuditActor } from '../auth/actor';
import type { AuditAction } from './audit-actions';
import { AuditEventEntity } from './audit.entity';

export interface AuditRecord {
  tenantId: string | null;
  action: AuditAction;
  targetType: string;
  targetId: string | null;
  /** Ids, names and redacted hints only: never key material. */
  details?: Record<string, unknown>;
}

/**
 * Written in the same transaction as the change, so the trail and the data cannot disagree. The
 * database chains the row (seq, prev_hash, hash: trigger audit_events_chain), whatever the action.
 * A failed write fails the change: AuditWriteError, retryable (SERVICE_UNAVAILABLE).
 */
export async function auditInTx(manager: EntityManager, actor: AuditActor, record: AuditRecord): Promise<void> {
  await insertAudit(manager, actor, record).catch((error: unknown) => {
    throw new AuditWriteError(error);
  });
}

function insertAudit(manager: EntityManager, actor: AuditActor, record: AuditRecord) {
  return manager.insert(AuditEventEntity, {
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
