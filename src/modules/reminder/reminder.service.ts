import type { DataSource } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../auth/tenant-scope';
import type { DeliveryStatus } from '../webhook/webhook.entity';
import { RotationReminderEntity } from './reminder.entity';
import type { RotationReminder } from './reminder.type';

export class ReminderService {
  constructor(private readonly db: DataSource) {}

  /** A tenant's rotation reminders, newest first, with the state of their webhook message. */
  async list(tenantId: string, filter: { credentialId?: string | null }, args: PageArgs): Promise<Page<RotationReminder>> {
    const qb = this.db.getRepository(RotationReminderEntity).createQueryBuilder('r').where('r.tenantId = :tenantId', { tenantId });
    if (filter.credentialId) {
      // Like a list filter elsewhere: an id that is not this tenant's matches nothing.
      qb.andWhere('r.credentialId = :credentialId', { credentialId: isUuid(filter.credentialId) ? filter.credentialId : null });
    }
    const page = await keysetPage(qb, 'rotation_reminders', tenantId, args);
    const deliveryIds = page.nodes.map((r) => r.deliveryId).filter((id): id is string => id !== null);
    const statuses: { id: string; status: DeliveryStatus }[] = deliveryIds.length
      ? await this.db.query('SELECT id, status FROM webhook_deliveries WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, deliveryIds])
      : [];
    const statusOf = new Map(statuses.map((s) => [s.id, s.status]));
    return {
      ...page,
      nodes: page.nodes.map((r) => ({
        id: r.id,
        tenantId: r.tenantId,
        credentialId: r.credentialId,
        version: r.credentialVersion,
        threshold: r.threshold,
        rotateBy: r.rotateBy,
        createdAt: r.createdAt,
        deliveryStatus: r.deliveryId ? (statusOf.get(r.deliveryId) ?? null) : null,
      })),
    };
  }
}
