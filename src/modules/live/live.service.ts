import type { DataSource } from 'typeorm';
import { NotFoundError } from '../../errors';
import type { Actor } from '../auth/actor';
import { isUuid, type TenantScope } from '../auth/tenant-scope';
import type { EventStream } from '../../events/event-stream';
import type { LiveEventSource } from '../../events';
import type { LiveEventName, LiveEvents } from '../../events/types';

/** What GraphQL subscriptions use: tenant-checked event streams and the ids events point at. */
export class LiveService {
  constructor(
    private readonly scope: Pick<TenantScope, 'forTenant'>,
    private readonly source: LiveEventSource,
    private readonly db: Pick<DataSource, 'query'>,
  ) {}

  /**
   * The tenant is checked like any other tenant-scoped read (another tenant's id is NOT_FOUND,
   * worded like a random one); the stream then carries that tenant's events only.
   */
  async subscribe<E extends LiveEventName>(actor: Actor, event: E, tenantId: string): Promise<EventStream<LiveEvents[E]>> {
    const scoped = await this.scope.forTenant(actor, tenantId);
    return this.source.subscribe(event, scoped);
  }

  /** The credential a key reuse alert is about, within the tenant. */
  async alertCredentialId(tenantId: string, alertId: string): Promise<string> {
    if (!isUuid(alertId)) throw new NotFoundError('Alert');
    const rows: { credential_id: string }[] = await this.db.query('SELECT credential_id FROM key_reuse_alerts WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      alertId,
    ]);
    if (rows.length === 0) throw new NotFoundError('Alert');
    return rows[0].credential_id;
  }
}
