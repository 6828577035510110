import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { BadRequestError } from '../../errors';
import { isAuditAction } from './audit-actions';
import { ACTOR_TYPES, AuditEventEntity } from './audit.entity';

export interface AuditFilter {
  /** Legacy single-action filter (the deprecated `action` argument). */
  action?: string | null;
  actions?: readonly string[] | null;
  actorType?: string | null;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  keyRef?: string | null;
  since?: Date | null;
  until?: Date | null;
}

export interface PlatformAuditFilter extends AuditFilter {
  tenantId?: string | null;
  platformOnly?: boolean | null;
}

const MAX_ACTIONS = 50;
const MAX_TEXT = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** src/crypto Fingerprinter.auditKeyRef: pepper version, then 32 hex digits. */
const KEY_REF = /^kr[1-9][0-9]{0,9}_[0-9a-f]{32}$/;

export class AuditService {
  constructor(private readonly db: DataSource) {}

  /** One tenant's trail, newest first. */
  list(tenantId: string, filter: AuditFilter, args: PageArgs): Promise<Page<AuditEventEntity>> {
    const qb = this.db.getRepository(AuditEventEntity).createQueryBuilder('e').where('e.tenantId = :tenantId', { tenantId });
    applyFilter(qb, filter);
    return keysetPage(qb, 'audit_events', tenantId, args);
  }

  /**
   * Every chain, the platform's and each tenant's, newest first (platform admins only: the resolver
   * says so). A cursor is looked up across all of them, which is what this reader may see anyway.
   */
  listPlatform(filter: PlatformAuditFilter, args: PageArgs): Promise<Page<AuditEventEntity>> {
    const qb = this.db.getRepository(AuditEventEntity).createQueryBuilder('e');
    if (filter.tenantId && filter.platformOnly) throw new BadRequestError('"tenantId" and "platformOnly" cannot be combined.');
    if (filter.tenantId) {
      if (!UUID.test(filter.tenantId)) throw new BadRequestError('"tenantId" must be a tenant id.');
      qb.where('e.tenantId = :tenantId', { tenantId: filter.tenantId });
    } else if (filter.platformOnly) {
      qb.where('e.tenantId IS NULL');
    } else {
      qb.where('TRUE');
    }
    applyFilter(qb, filter);
    return keysetPage(qb, 'audit_events', null, args);
  }
}

/** Bad filter values are BAD_REQUEST (never echoed: a filter may be pasted from anywhere). */
function applyFilter(qb: SelectQueryBuilder<AuditEventEntity>, f: AuditFilter): void {
  const actions = [...(f.actions ?? []), ...(f.action ? [f.action] : [])];
  if (f.action && !/^[A-Z][A-Z0-9_]{0,63}$/.test(f.action)) {
    throw new BadRequestError('"action" must be an action name such as CREDENTIAL_CREATED.');
  }
  if (f.actions && (f.actions.length === 0 || f.actions.length > MAX_ACTIONS || !f.actions.every(isAuditAction))) {
    throw new BadRequestError(`"actions" must list 1 to ${MAX_ACTIONS} audit actions.`);
  }
  if (f.actions && f.action) throw new BadRequestError('"action" and "actions" cannot be combined.');
  if (actions.length) qb.andWhere('e.action IN (:...actions)', { actions });
  if (f.actorType) {
    if (!(ACTOR_TYPES as readonly string[]).includes(f.actorType)) throw new BadRequestError('"actorType" is not an actor type.');
    qb.andWhere('e.actorType = :actorType', { actorType: f.actorType });
  }
  for (const key of ['actorId', 'targetType', 'targetId'] as const) {
    const value = f[key];
    if (value == null) continue;
    if (value.length === 0 || value.length > MAX_TEXT) throw new BadRequestError(`"${key}" must be 1 to ${MAX_TEXT} characters.`);
    qb.andWhere(`e.${key} = :${key}`, { [key]: value });
  }
  if (f.keyRef != null) {
    if (!KEY_REF.test(f.keyRef)) throw new BadRequestError('"keyRef" must be a key reference from an audit event (kr<version>_<32 hex digits>).');
    // jsonb containment, served by ix_audit_events_key_refs (GIN).
    qb.andWhere(`e.details->'keyRefs' @> jsonb_build_array(jsonb_build_object('ref', :keyRef::text))`, { keyRef: f.keyRef });
  }
  if (f.since && Number.isNaN(f.since.getTime())) throw new BadRequestError('"since" is not a time.');
  if (f.until && Number.isNaN(f.until.getTime())) throw new BadRequestError('"until" is not a time.');
  if (f.since && f.until && f.since >= f.until) throw new BadRequestError('"since" must be before "until".');
  if (f.since) qb.andWhere('e.createdAt >= :since', { since: f.since });
  if (f.until) qb.andWhere('e.createdAt < :until', { until: f.until });
}
