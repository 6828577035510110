import type { DataSource } from 'typeorm';
import { isUniqueViolation } from '../../db/pg-errors';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { collect, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import type { SecretBox } from '../../crypto';
import { LIMITS, nameRule, rangeRule, slugRule, urlRule, type UrlPolicy } from '../common/rules';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { issueNotificationSecret } from './tenant-notification';
import { TenantEntity, type ByokMode } from './tenant.entity';

export interface CreateTenant {
  name: string;
  slug: string;
  byokMode?: ByokMode | null;
  rotationPolicyDays?: number | null;
}

export interface UpdateTenant {
  name?: string | null;
  byokMode?: ByokMode | null;
  rotationPolicyDays?: number | null;
  /** null clears it; undefined leaves it. */
  notificationWebhookUrl?: string | null;
}

export interface UpdatedTenant {
  tenant: TenantEntity;
  /** Only when this update set the first notification URL: the signing secret, shown once. */
  notificationSigningSecret: string | null;
}

export class TenantService {
  constructor(
    private readonly db: DataSource,
    private readonly box: SecretBox,
    private readonly urlPolicy: UrlPolicy,
  ) {}

  async list(args: PageArgs): Promise<Page<TenantEntity>> {
    return keysetPage(this.db.getRepository(TenantEntity).createQueryBuilder('tenant'), 'tenants', null, args);
  }

  async get(tenantId: string): Promise<TenantEntity> {
    const tenant = await this.db.getRepository(TenantEntity).findOneBy({ id: tenantId });
    if (!tenant) throw new NotFoundError('Tenant');
    return tenant;
  }

  async create(actor: AuditActor, input: CreateTenant): Promise<TenantEntity> {
    collect([
      nameRule(input.name, ['input', 'name']),
      slugRule(input.slug, ['input', 'slug']),
      rangeRule(input.rotationPolicyDays, ['input', 'rotationPolicyDays'], LIMITS.rotationDays),
    ]);
    try {
      return await this.db.transaction(async (tx) => {
        const tenant = await tx.save(
          tx.create(TenantEntity, {
            name: input.name.trim(),
            slug: input.slug,
            byokMode: input.byokMode ?? 'BYOK',
            rotationPolicyDays: input.rotationPolicyDays ?? 90,
          }),
        );
        await auditInTx(tx, actor, {
          tenantId: tenant.id,
          action: 'TENANT_CREATED',
          targetType: 'TENANT',
          targetId: tenant.id,
          details: { name: tenant.name, slug: tenant.slug, byokMode: tenant.byokMode },
        });
        return tenant;
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_tenants_slug')) {
        throw new DomainError('SLUG_TAKEN', 'That slug is already in use.', ['input', 'slug']);
      }
      throw error;
    }
  }

  async update(tenantId: string, actor: AuditActor, input: UpdateTenant): Promise<UpdatedTenant> {
    collect([
      input.name != null ? nameRule(input.name, ['input', 'name']) : null,
      rangeRule(input.rotationPolicyDays, ['input', 'rotationPolicyDays'], LIMITS.rotationDays),
      urlRule(input.notificationWebhookUrl?.trim(), ['input', 'notificationWebhookUrl'], this.urlPolicy),
    ]);
    return this.db.transaction(async (tx) => {
      const tenant = await tx.findOne(TenantEntity, { where: { id: tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!tenant) throw new NotFoundError('Tenant', ['input', 'id']);
      const changes: Record<string, unknown> = {};
      if (input.name != null && input.name.trim() !== tenant.name) changes.name = tenant.name = input.name.trim();
      if (input.byokMode != null && input.byokMode !== tenant.byokMode) changes.byokMode = tenant.byokMode = input.byokMode;
      if (input.rotationPolicyDays != null && input.rotationPolicyDays !== tenant.rotationPolicyDays) {
        changes.rotationPolicyDays = tenant.rotationPolicyDays = input.rotationPolicyDays;
      }
      let notificationSigningSecret: string | null = null;
      const url = input.notificationWebhookUrl === undefined ? undefined : (input.notificationWebhookUrl?.trim() ?? null);
      if (url !== undefined && url !== tenant.notificationWebhookUrl) {
        changes.notificationWebhookUrl = tenant.notificationWebhookUrl = url;
        // Issued with the first URL and kept when the URL changes or is cleared, so receivers
        // keep verifying; only its existence is audited.
        if (url !== null && !tenant.notificationCiphertext) {
          notificationSigningSecret = await issueNotificationSecret(this.box, tenant);
          changes.notificationSigningSecretIssued = true;
        }
      }
      if (Object.keys(changes).length === 0) return { tenant, notificationSigningSecret };
      await tx.save(tenant);
      if (changes.rotationPolicyDays !== undefined) {
        // Credentials without their own period follow the tenant policy.
        await tx.query(
          `UPDATE credentials
              SET rotate_by = COALESCE(rotated_at, created_at) + make_interval(days => $2), updated_at = now()
            WHERE tenant_id = $1 AND rotation_period_days IS NULL AND revoked_at IS NULL`,
          [tenantId, tenant.rotationPolicyDays],
        );
      }
      if (changes.byokMode !== undefined) await bumpGatewaysInTx(tx, tenantId, null, 'MODE_CHANGED');
      await auditInTx(tx, actor, {
        tenantId,
        action: 'TENANT_UPDATED',
        targetType: 'TENANT',
        targetId: tenantId,
        details: { changes },
      });
      return { tenant, notificationSigningSecret };
    });
  }
}
