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
import type { IdempotencyStore } from '../idempotency/idempotency.service';
import { bumpGatewaysInTx } from './gateway-reload';
import { gatewaySnapshot, restoreGateway } from './gateway-snapshot';
import { ProviderEntity } from '../provider/provider.entity';
import { GatewayEntity, GatewayProviderModeEntity, type CredentialMode } from './gateway.entity';

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
/** A key rotation's answer; gatewayKey is null on an idempotent replay (it was shown once). */
export interface RotatedGatewayKey {
  gateway: GatewayEntity;
  gatewayKey: string | null;
  /** Until when the replaced key still pulls config (graceHours); null: it stopped at once. */
  previousKeyExpiresAt?: Date | null;
}

/** How long a replaced gateway key may keep pulling config, so a fleet can roll to the new one. */
export const KEY_GRACE_HOURS = { min: 0, max: 7 * 24 } as const;
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
    private readonly idempotency?: Pick<IdempotencyStore, 'request' | 'find' | 'claimInTx' | 'completeInTx'>,
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
      await lockGateway(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
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
        const sealed = await this.box.seal(signingSecret, SEALS.gatewaySigning.context({ tenantId, objectId: id }));
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
      const gateway = await lockGateway(tx, tenantId, id, ['input', 'id']);
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

  /**
   * With an idempotency key, a replay answers the same gateway with gatewayKey null: the new key
   * is shown once, and only its hash is kept, so it cannot be shown again (README: Idempotency keys).
   */
  async rotateKey(
    tenantId: string,
    actor: AuditActor,
    id: string,
    idempotencyKey?: string | null,
    graceHours?: number | null,
  ): Promise<RotatedGatewayKey> {
    collect([rangeRule(graceHours, ['input', 'graceHours'], KEY_GRACE_HOURS)]);
    const grace = graceHours ?? 0;
    // The request a key stands for includes the grace only when one is asked (older keys stay valid).
    const keyed = this.idempotency?.request(tenantId, 'ROTATE_GATEWAY_KEY', idempotencyKey, grace ? { id, graceHours: grace } : { id }) ?? null;
    const replayed = keyed && (await this.idempotency!.find(keyed));
    if (replayed) return { gateway: restoreGateway(replayed), gatewayKey: null };
    const gatewayKey = generateToken('kpg');
    return this.db.transaction(async (tx) => {
      const earlier = keyed && (await this.idempotency!.claimInTx(tx, keyed));
      if (earlier) return { gateway: restoreGateway(earlier), gatewayKey: null };
      const gateway = await lockGateway(tx, tenantId, id, ['input', 'id']);
      const previous = gateway.redactedKey;
      // Grace 0: the old key stops now (its hash is gone, and the change drops cached answers).
      const [{ until }]: { until: Date | null }[] = await tx.query(
        `SELECT CASE WHEN $1::int > 0 THEN now() + make_interval(hours => $1::int) END AS until`,
        [grace],
      );
      Object.assign(gateway, {
        previousKeyHash: until ? gateway.keyHash : null,
        previousKeyExpiresAt: until,
        keyHash: hashToken(gatewayKey),
        redactedKey: redactToken(gatewayKey),
        keyRotatedAt: new Date(),
      });
      await tx.save(gateway);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_KEY_ROTATED',
        targetType: 'GATEWAY',
        targetId: id,
        details: {
          previousRedactedKey: previous,
          redactedKey: gateway.redactedKey,
          ...(until ? { graceHours: grace, previousKeyExpiresAt: until.toISOString() } : {}),
        },
      });
      if (keyed) await this.idempotency!.completeInTx(tx, keyed, id, gatewaySnapshot(gateway));
      return { gateway, gatewayKey, previousKeyExpiresAt: until };
    });
  }
}

/** The gateway row, locked for the transaction: it serializes changes to one gateway and what it serves. */
export async function lockGateway(tx: EntityManager, tenantId: string, id: string, field: string[]): Promise<GatewayEntity> {
  const gateway = isUuid(id) ? await tx.findOne(GatewayEntity, { where: { tenantId, id }, lock: { mode: 'pessimistic_write' } }) : null;
  if (!gateway) throw new NotFoundError('Gateway', field);
  return gateway;
}
