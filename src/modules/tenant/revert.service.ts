import type { DataSource } from 'typeorm';
import { DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { revokeCredentialsInTx } from '../credential/credential-lifecycle.retire';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { TenantEntity } from './tenant.entity';

export interface RevertResult {
  tenant: TenantEntity;
  revokedCredentials: number;
  destroyedKeyVersions: number;
}

/**
 * Leaves BYOK: every stored key of the tenant is revoked and its material destroyed, gateways
 * reload onto platform keys. Irreversible, so the caller must type the tenant's slug to confirm.
 */
export class RevertService {
  constructor(private readonly db: DataSource) {}

  async revertToPlatformKeys(tenantId: string, actor: AuditActor, confirm: string): Promise<RevertResult> {
    return this.db.transaction(async (tx) => {
      const tenant = await tx.findOne(TenantEntity, { where: { id: tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!tenant) throw new NotFoundError('Tenant', ['input', 'tenantId']);
      if (confirm !== tenant.slug) {
        throw new DomainError('CONFIRMATION_MISMATCH', "Type the tenant's slug to confirm.", ['input', 'confirm']);
      }
      const revoked = await revokeCredentialsInTx(tx, tenantId, null);
      tenant.byokMode = 'PLATFORM';
      await tx.save(tenant);
      const gateways = await bumpGatewaysInTx(tx, tenantId, null, 'MODE_CHANGED');
      const revokedCredentials = revoked.credentials.length;
      const destroyed = revoked.destroyedVersions;
      await auditInTx(tx, actor, {
        tenantId,
        action: 'TENANT_REVERTED_TO_PLATFORM_KEYS',
        targetType: 'TENANT',
        targetId: tenantId,
        details: {
          revokedCredentials,
          destroyedKeyVersions: destroyed,
          reloadedGateways: gateways.length,
          note: 'All stored provider key material of this tenant was deleted.',
        },
      });
      return { tenant, revokedCredentials, destroyedKeyVersions: destroyed };
    });
  }
}
