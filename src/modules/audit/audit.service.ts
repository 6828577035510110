import type { DataSource } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { AuditEventEntity } from './audit.entity';

export class AuditService {
  constructor(private readonly db: DataSource) {}

  list(tenantId: string, filter: { action?: string | null }, args: PageArgs): Promise<Page<AuditEventEntity>> {
    const qb = this.db.getRepository(AuditEventEntity).createQueryBuilder('e').where('e.tenantId = :tenantId', { tenantId });
    if (filter.action) qb.andWhere('e.action = :action', { action: filter.action });
    return keysetPage(qb, 'audit_events', tenantId, args);
  }
}
