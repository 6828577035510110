import type { DataSource } from 'typeorm';
import { NotFoundError } from '../../errors';
import type { Actor } from './actor';

/** Tables whose rows belong to a tenant, and the name we use for them in NOT_FOUND messages. */
const OWNED = {
  credential: { table: 'credentials', label: 'Credential' },
  gateway: { table: 'gateways', label: 'Gateway' },
  apiToken: { table: 'api_tokens', label: 'API token' },
} as const;
export type OwnedKind = keyof typeof OWNED;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns "who is asking" into the tenant id every service call takes first. A tenant token only
 * ever yields its own tenant; anything else is NOT_FOUND, worded exactly like a random id.
 */
export class TenantScope {
  constructor(private readonly db: Pick<DataSource, 'query'>) {}

  /** For operations that name a tenant explicitly (lists, creates). */
  async forTenant(actor: Actor, tenantId: string, field: string[] | null = null): Promise<string> {
    if (actor.type === 'API_TOKEN') {
      if (actor.tenantId !== tenantId) throw new NotFoundError('Tenant', field);
      return tenantId;
    }
    if (!UUID.test(tenantId)) throw new NotFoundError('Tenant', field);
    const rows = await this.db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    if (rows.length === 0) throw new NotFoundError('Tenant', field);
    return tenantId;
  }

  /**
   * For operations that name an object by id. A tenant token is scoped to its own tenant (the
   * service's tenant filter then decides); a platform admin acts in the object's own tenant.
   */
  async forObject(actor: Actor, kind: OwnedKind, id: string, field: string[] | null = null): Promise<string> {
    if (actor.type === 'API_TOKEN') return actor.tenantId;
    const { table, label } = OWNED[kind];
    if (!UUID.test(id)) throw new NotFoundError(label, field);
    const rows: { tenant_id: string }[] = await this.db.query(`SELECT tenant_id FROM ${table} WHERE id = $1`, [id]);
    if (rows.length === 0) throw new NotFoundError(label, field);
    return rows[0].tenant_id;
  }
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
