import type { DataSource } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { NotFoundError } from '../../errors';
import { isUuid } from '../auth/tenant-scope';
import { WebhookEndpointAlertEntity, type EndpointAlertStatus } from './webhook-endpoint-alert.entity';

/** A tenant's webhook endpoint alerts (raised by the worker when it disables an endpoint). Read-only here. */
export class WebhookEndpointAlertService {
  constructor(private readonly db: DataSource) {}

  list(tenantId: string, filter: { status?: EndpointAlertStatus | null }, args: PageArgs): Promise<Page<WebhookEndpointAlertEntity>> {
    const qb = this.db.getRepository(WebhookEndpointAlertEntity).createQueryBuilder('a').where('a.tenantId = :tenantId', { tenantId });
    if (filter.status) qb.andWhere('a.status = :status', { status: filter.status });
    return keysetPage(qb, 'webhook_endpoint_alerts', tenantId, args);
  }

  /** One alert within the tenant; another tenant's id is not found, like a random one. */
  async get(tenantId: string, id: string): Promise<WebhookEndpointAlertEntity> {
    const found = isUuid(id) ? await this.db.getRepository(WebhookEndpointAlertEntity).findOneBy({ tenantId, id }) : null;
    if (!found) throw new NotFoundError('Webhook endpoint alert');
    return found;
  }
}
