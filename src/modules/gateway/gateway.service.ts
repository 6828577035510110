import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { generateToken, hashToken, redactToken, SEALS, type SecretBox } from '../../crypto';
import { isUniqueViolation } from '../../db/pg-errors';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { collect, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { LIMITS, nameRule, optionalTextRule, rangeRule, slugRule, urlRule, type UrlPolicy } from '../common/rules';
import { CredentialEntity } from '../credential/credential.entity';
import { bumpGatewaysInTx } from './gateway-config';
import { ProviderEntity } from '../provider/provider.entity';
import { GatewayCredentialEntity, GatewayEntity, GatewayProviderModeEntity, type CredentialMode } from './gateway.entity';

export interface CreateGateway {
  name: string;
  slug: string;
  description?: string | null;
  credentialMode?: CredentialMode | null;
  webhookUrl?: string | null;
}
export interface UpdateGateway {
  name?: string | null;
  description?: string | null;
  credentialMode?: CredentialMode | null;
  /** null removes the webhook; undefined leaves it. */
  webhookUrl?: string | null;
}
export interface Attach {
  gatewayId: string;
  credentialId: string;
  priority?: number | null;
}

/** Returned once, at creation or key rotation; only hashes and sealed copies are kept. */
export interface GatewaySecrets {
  gateway: GatewayEntity;
  gatewayKey: string;
  signingSecret?: string;
}

export class GatewayService {
  constructor(
    private readonly db: DataSource,
    private readonly box: SecretBox,
    private readonly urlPolicy: UrlPolicy,
  ) {}

  list(tenantId: string, args: PageArgs, filter: { lagging?: boolean | null } = {}): Promise<Page<GatewayEntity>> {
    const qb = this.db.getRepository(GatewayEntity).createQueryBuilder('g').where('g.tenantId = :tenantId', { tenantId });
    // Lagging: has not pulled the current config version (including never pulled).
    if (filter.lagging === true) qb.andWhere('g.pulledConfigVersion IS DISTINCT FROM g.configVersion');
    if (filter.lagging === false) qb.andWhere('g.pulledConfigVersion = g.configVersion');
    return keysetPage(qb, 'gateways', tenantId, args);
  }

  /** Per-provider mode overrides of several gateways (for the per-request loader), with their providers. */
  providerModes(tenantId: string, gatewayIds: readonly string[]): Promise<GatewayProviderModeEntity[]> {
    return this.db.getRepository(GatewayProviderModeEntity).find({
      where: { tenantId, gatewayId: In(gatewayIds.filter(isUuid)) },
      relations: { provider: true },
      order: { providerId: 'ASC' },
    });
  }

  /** Sets (or with null clears) the gateway's mode for one provider; the gateway reloads. */
  async setProviderMode(
    tenantId: string,
    actor: AuditActor,
    input: { gatewayId: string; providerId: string; credentialMode?: CredentialMode | null },
  ): Promise<GatewayEntity> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
      const provider = isUuid(input.providerId) ? await tx.findOneBy(ProviderEntity, { id: input.providerId }) : null;
      if (!provider) throw new NotFoundError('Provider', ['input', 'providerId']);
      const key = { tenantId, gatewayId: input.gatewayId, providerId: provider.id };
      const previous = (await tx.findOneBy(GatewayProviderModeEntity, key))?.credentialMode ?? null;
      const next = input.credentialMode ?? null;
      if (previous !== next) {
        if (next) await tx.upsert(GatewayProviderModeEntity, { ...key, credentialMode: next }, ['gatewayId', 'providerId']);
        else await tx.delete(GatewayProviderModeEntity, key);
        await bumpGatewaysInTx(tx, tenantId, { gatewayId: input.gatewayId }, 'MODE_CHANGED');
        await auditInTx(tx, actor, {
          tenantId,
          action: 'GATEWAY_PROVIDER_MODE_CHANGED',
          targetType: 'GATEWAY',
          targetId: input.gatewayId,
          details: { provider: provider.slug, providerId: provider.id, credentialMode: next, previousCredentialMode: previous },
        });
      }
      return tx.findOneByOrFail(GatewayEntity, { id: input.gatewayId });
    });
  }

  async get(tenantId: string, id: string, field: string[] | null = null): Promise<GatewayEntity> {
    const found = isUuid(id) ? await this.db.getRepository(GatewayEntity).findOneBy({ tenantId, id }) : null;
    if (!found) throw new NotFoundError('Gateway', field);
    return found;
  }

  /** Attachments of several gateways at once (for the per-request loader), ordered for serving. */
  attachments(tenantId: string, gatewayIds: readonly string[]): Promise<GatewayCredentialEntity[]> {
    return this.db
      .getRepository(GatewayCredentialEntity)
      .createQueryBuilder('a')
      .where('a.tenantId = :tenantId AND a.gatewayId = ANY(:ids)', { tenantId, ids: [...gatewayIds] })
      .orderBy('a.providerId')
      .addOrderBy('a.priority')
      .addOrderBy('a.createdAt')
      .getMany();
  }

  async create(tenantId: string, actor: AuditActor, input: CreateGateway): Promise<GatewaySecrets> {
    collect([
      nameRule(input.name, ['input', 'name']),
      slugRule(input.slug, ['input', 'slug']),
      optionalTextRule(input.description, ['input', 'description'], LIMITS.description),
      urlRule(input.webhookUrl, ['input', 'webhookUrl'], this.urlPolicy),
    ]);
    const gatewayKey = generateToken('kpg');
    const signingSecret = generateToken('whsec');
    try {
      return await this.db.transaction(async (tx) => {
        const id = randomUUID();
        const sealed = this.box.seal(signingSecret, SEALS.gatewaySigning.context({ tenantId, objectId: id }));
        await tx.insert(GatewayEntity, {
          id,
          tenantId,
          name: input.name.trim(),
          slug: input.slug,
          description: input.description ?? null,
          credentialMode: input.credentialMode ?? 'USER_PROVIDED',
          webhookUrl: input.webhookUrl ?? null,
          keyHash: hashToken(gatewayKey),
          redactedKey: redactToken(gatewayKey),
          signingKekVersion: sealed.kekVersion,
          signingWrappedKey: sealed.wrappedKey,
          signingCiphertext: sealed.ciphertext,
        });
        const gateway = await tx.findOneByOrFail(GatewayEntity, { id });
        await auditInTx(tx, actor, {
          tenantId,
          action: 'GATEWAY_CREATED',
          targetType: 'GATEWAY',
          targetId: id,
          details: { name: gateway.name, slug: gateway.slug, credentialMode: gateway.credentialMode, redactedKey: gateway.redactedKey },
        });
        return { gateway, gatewayKey, signingSecret };
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_gateways_tenant_slug')) {
        throw new DomainError('SLUG_TAKEN', 'Another gateway of this tenant already has that slug.', ['input', 'slug']);
      }
      throw error;
    }
  }

  async update(tenantId: string, actor: AuditActor, id: string, input: UpdateGateway): Promise<GatewayEntity> {
    collect([
      input.name != null ? nameRule(input.name, ['input', 'name']) : null,
      optionalTextRule(input.description, ['input', 'description'], LIMITS.description),
      urlRule(input.webhookUrl, ['input', 'webhookUrl'], this.urlPolicy),
    ]);
    return this.db.transaction(async (tx) => {
      const gateway = await this.lock(tx, tenantId, id, ['input', 'id']);
      const changes: Record<string, unknown> = {};
      if (input.name != null && input.name.trim() !== gateway.name) changes.name = gateway.name = input.name.trim();
      if (input.description !== undefined && input.description !== gateway.description) {
        changes.description = gateway.description = input.description;
      }
      if (input.webhookUrl !== undefined && input.webhookUrl !== gateway.webhookUrl) {
        changes.webhookUrl = gateway.webhookUrl = input.webhookUrl;
      }
      if (input.credentialMode != null && input.credentialMode !== gateway.credentialMode) {
        changes.credentialMode = gateway.credentialMode = input.credentialMode;
      }
      if (Object.keys(changes).length === 0) return gateway;
      await tx.save(gateway);
      if (changes.credentialMode) await bumpGatewaysInTx(tx, tenantId, { gatewayId: id }, 'MODE_CHANGED');
      await auditInTx(tx, actor, { tenantId, action: 'GATEWAY_UPDATED', targetType: 'GATEWAY', targetId: id, details: { changes } });
      return tx.findOneByOrFail(GatewayEntity, { id });
    });
  }

  async rotateKey(tenantId: string, actor: AuditActor, id: string): Promise<GatewaySecrets> {
    const gatewayKey = generateToken('kpg');
    return this.db.transaction(async (tx) => {
      const gateway = await this.lock(tx, tenantId, id, ['input', 'id']);
      const previous = gateway.redactedKey;
      Object.assign(gateway, { keyHash: hashToken(gatewayKey), redactedKey: redactToken(gatewayKey), keyRotatedAt: new Date() });
      await tx.save(gateway);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_KEY_ROTATED',
        targetType: 'GATEWAY',
        targetId: id,
        details: { previousRedactedKey: previous, redactedKey: gateway.redactedKey },
      });
      return { gateway, gatewayKey };
    });
  }

  async attach(tenantId: string, actor: AuditActor, input: Attach): Promise<GatewayEntity> {
    collect([rangeRule(input.priority, ['input', 'priority'], LIMITS.priority)]);
    return this.db.transaction(async (tx) => {
      // The gateway row lock serializes attach calls, so the per-provider limit holds under concurrency.
      await this.lock(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
      const credential = isUuid(input.credentialId) ? await tx.findOneBy(CredentialEntity, { tenantId, id: input.credentialId }) : null;
      if (!credential) throw new NotFoundError('Credential', ['input', 'credentialId']);
      if (credential.revokedAt) throw new DomainError('CREDENTIAL_REVOKED', 'The credential is revoked.', ['input', 'credentialId']);
      const siblings = await tx.find(GatewayCredentialEntity, {
        where: { tenantId, gatewayId: input.gatewayId, providerId: credential.providerId },
      });
      if (siblings.some((a) => a.credentialId === credential.id)) {
        throw new DomainError('ALREADY_ATTACHED', 'The credential is already attached to this gateway.', ['input', 'credentialId']);
      }
      if (siblings.length >= LIMITS.attachmentsPerProvider) {
        throw new DomainError('ATTACHMENT_LIMIT_REACHED', `A gateway can use at most ${LIMITS.attachmentsPerProvider} keys per provider.`, [
          'input',
          'credentialId',
        ]);
      }
      const priority = input.priority ?? (siblings.length ? Math.max(...siblings.map((a) => a.priority)) + 1 : 0);
      await tx.insert(GatewayCredentialEntity, {
        gatewayId: input.gatewayId,
        credentialId: credential.id,
        tenantId,
        providerId: credential.providerId,
        priority: Math.min(priority, LIMITS.priority.max),
      });
      await bumpGatewaysInTx(tx, tenantId, { gatewayId: input.gatewayId }, 'CREDENTIAL_ATTACHED');
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_CREDENTIAL_ATTACHED',
        targetType: 'GATEWAY',
        targetId: input.gatewayId,
        details: { credentialId: credential.id, redactedKey: credential.redactedKey, priority },
      });
      return tx.findOneByOrFail(GatewayEntity, { id: input.gatewayId });
    });
  }

  async detach(tenantId: string, actor: AuditActor, input: Omit<Attach, 'priority'>): Promise<GatewayEntity> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
      const removed = isUuid(input.credentialId)
        ? await tx.delete(GatewayCredentialEntity, { tenantId, gatewayId: input.gatewayId, credentialId: input.credentialId })
        : { affected: 0 };
      if (!removed.affected) {
        throw new DomainError('NOT_ATTACHED', 'The credential is not attached to this gateway.', ['input', 'credentialId']);
      }
      await bumpGatewaysInTx(tx, tenantId, { gatewayId: input.gatewayId }, 'CREDENTIAL_DETACHED');
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_CREDENTIAL_DETACHED',
        targetType: 'GATEWAY',
        targetId: input.gatewayId,
        details: { credentialId: input.credentialId },
      });
      return tx.findOneByOrFail(GatewayEntity, { id: input.gatewayId });
    });
  }

  private async lock(tx: EntityManager, tenantId: string, id: string, field: string[]): Promise<GatewayEntity> {
    const gateway = isUuid(id) ? await tx.findOne(GatewayEntity, { where: { tenantId, id }, lock: { mode: 'pessimistic_write' } }) : null;
    if (!gateway) throw new NotFoundError('Gateway', field);
    return gateway;
  }
}
