import type { DataSource } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { BadRequestError } from '../../errors';
import { AuditEventEntity } from './audit.entity';

export class AuditService {
  constructor(private readonly db: DataSource) {}

  list(tenantId: string, filter: { action?: string | null }, args: PageArgs): Promise<Page<AuditEventEntity>> {
    const qb = this.db.getRepository(AuditEventEntity).createQueryBuilder('e').where('e.tenantId = :tenantId', { tenantId });
    if (filter.action && !/^[A-Z][A-Z0-9_]{0,63}$/.test(filter.action)) {
      throw new BadRequestError('"action" must be an action name such as CREDENTIAL_CREATED.');
    }
    if (filter.action) qb.andWhere('e.action = :action', { action: filter.action });
    return keysetPage(qb, 'audit_events', tenantId, args);
  }
}
