import type { DataSource } from 'typeorm';
import type { NodeTypeName } from '../../graphql/node';
import { isUuid } from '../auth/tenant-scope';

/*
 * Which table holds an id, within a tenant (null: any tenant, for platform admins). One query over
 * the primary keys; another tenant's id finds nothing, exactly like a random one.
 */
const LOCATE = `
  SELECT 'Credential' AS type, tenant_id FROM credentials WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
  UNION ALL SELECT 'Gateway', tenant_id FROM gateways WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
  UNION ALL SELECT 'ApiToken', tenant_id FROM api_tokens WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
  UNION ALL SELECT 'Tenant', id FROM tenants WHERE id = $1 AND ($2::uuid IS NULL OR id = $2::uuid)
  LIMIT 1`;

export class NodeService {
  constructor(private readonly db: Pick<DataSource, 'query'>) {}

  async locate(tenantId: string | null, id: string): Promise<{ type: NodeTypeName; tenantId: string } | null> {
    if (!isUuid(id)) return null;
    const rows: { type: NodeTypeName; tenant_id: string }[] = await this.db.query(LOCATE, [id, tenantId]);
    return rows.length ? { type: rows[0].type, tenantId: rows[0].tenant_id } : null;
  }
}
