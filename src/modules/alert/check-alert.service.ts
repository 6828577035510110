import type { DataSource } from 'typeorm';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import type { CredentialEntity } from '../credential/credential.entity';
import { CredentialCheckAlertEntity, type CheckAlertStatus } from './check-alert.entity';

/** An alert with its own credential loaded; status is the effective one. */
export type CheckAlertView = CredentialCheckAlertEntity & { credential: CredentialEntity };

/**
 * A version that no longer holds a key (retired, rejected, revoked) cannot be checked any more:
 * its alert reads RESOLVED at once, before any job writes that down.
 */
const EFFECTIVE_STATUS = `(CASE WHEN c.revoked_at IS NOT NULL OR NOT EXISTS (
     SELECT 1 FROM credential_versions v
      WHERE v.tenant_id = a.tenant_id AND v.credential_id = a.credential_id AND v.version = a.version
        AND v.state IN ('PENDING', 'ACTIVE', 'PREVIOUS'))
   THEN 'RESOLVED' ELSE a.status END)`;

export class CheckAlertService {
  constructor(private readonly db: DataSource) {}

  /** The tenant's "could not check this key" alerts, newest first. */
  async list(tenantId: string, filter: { status?: CheckAlertStatus | null }, args: PageArgs): Promise<Page<CheckAlertView>> {
    const qb = this.db
      .getRepository(CredentialCheckAlertEntity)
      .createQueryBuilder('a')
      .innerJoinAndSelect('a.credential', 'c', 'c.tenantId = a.tenantId')
      .where('a.tenantId = :tenantId', { tenantId });
    if (filter.status) qb.andWhere(`${EFFECTIVE_STATUS} = :status`, { status: filter.status });
    const page = await keysetPage(qb, 'credential_check_alerts', tenantId, args);
    const nodes = page.nodes as CheckAlertView[];
    if (nodes.length === 0) return { ...page, nodes };
    const resolved: { id: string }[] = await this.db.query(
      `SELECT a.id FROM credential_check_alerts a JOIN credentials c ON c.id = a.credential_id AND c.tenant_id = a.tenant_id
        WHERE a.tenant_id = $1 AND a.id = ANY($2::uuid[]) AND ${EFFECTIVE_STATUS} = 'RESOLVED'`,
      [tenantId, nodes.map((n) => n.id)],
    );
    const ids = new Set(resolved.map((r) => r.id));
    for (const n of nodes) if (ids.has(n.id)) n.status = 'RESOLVED';
    return { ...page, nodes };
  }
}
