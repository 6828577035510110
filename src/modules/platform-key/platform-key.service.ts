import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { redactSecret, SEALS, type Fingerprinter, type SecretBox } from '../../crypto';
import { DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { LIMITS, nameRule, rangeRule } from '../common/rules';
import { bumpPlatformGatewaysInTx } from '../gateway/gateway-reload';
import type { ProviderEntity } from '../provider/provider.entity';
import { checkNewKey } from '../provider/new-key';
import type { ProviderService } from '../provider/provider.service';
import { PlatformKeyEntity } from './platform-key.entity';

export interface CreatePlatformKey {
  providerId: string;
  label: string;
  secret: string;
  priority?: number | null;
}

/**
 * Keys the platform owns, served to BUNDLED and HYBRID gateways of every tenant. Platform admins
 * only; global data, so audit rows carry no tenant.
 */
export class PlatformKeyService {
  constructor(
    private readonly db: DataSource,
    private readonly box: Pick<SecretBox, 'seal'>,
    private readonly providers: Pick<ProviderService, 'usable'>,
    private readonly fingerprinter: Pick<Fingerprinter, 'fingerprint' | 'auditKeyRef'>,
  ) {}

  list(providerId?: string | null): Promise<PlatformKeyEntity[]> {
    if (providerId != null && !isUuid(providerId)) return Promise.resolve([]);
    return this.db.getRepository(PlatformKeyEntity).find({
      where: providerId != null ? { providerId } : {},
      order: { providerId: 'ASC', priority: 'ASC', createdAt: 'ASC' },
    });
  }

  async create(actor: AuditActor, input: CreatePlatformKey): Promise<PlatformKeyEntity> {
    const { provider, value } = await this.checkInput(input);
    return this.db.transaction(async (tx) => {
      const id = randomUUID();
      const sealed = await this.box.seal(value, SEALS.platformKey.context({ objectId: id }));
      const [last]: { max: number | null }[] = await tx.query(
        'SELECT max(priority) AS max FROM platform_keys WHERE provider_id = $1 AND revoked_at IS NULL',
        [provider.id],
      );
      const priority = input.priority ?? Math.min(last?.max == null ? 0 : last.max + 1, LIMITS.priority.max);
      await tx.insert(PlatformKeyEntity, {
        id,
        providerId: provider.id,
        label: input.label.trim(),
        priority,
        kekVersion: sealed.kekVersion,
        wrappedKey: sealed.wrappedKey,
        ciphertext: sealed.ciphertext,
        redactedKey: redactSecret(value, provider.keyPrefixes),
        keyRef: this.fingerprinter.auditKeyRef(null, this.fingerprinter.fingerprint(value)),
      });
      const key = await tx.findOneByOrFail(PlatformKeyEntity, { id });
      const reloaded = await bumpPlatformGatewaysInTx(tx, provider.id);
      await auditPlatformKeyChangeInTx(tx, actor, { providerId: provider.id, platformKeyId: id, change: 'CREATED' });
      await auditInTx(tx, actor, {
        tenantId: null,
        action: 'PLATFORM_KEY_CREATED',
        targetType: 'PLATFORM_KEY',
        targetId: id,
        details: {
          provider: provider.slug,
          label: key.label,
          priority,
          redactedKey: key.redactedKey,
          reloadedGateways: reloaded,
          // A platform key has one version.
          keyRefs: [{ ref: key.keyRef, version: 1 }],
        },
      });
      return key;
    });
  }

  /** Destroys the key material; the row stays for the audit trail. Gateways reload without it. */
  async revoke(actor: AuditActor, id: string): Promise<PlatformKeyEntity> {
    return this.db.transaction(async (tx) => {
      const key = isUuid(id) ? await tx.findOne(PlatformKeyEntity, { where: { id }, lock: { mode: 'pessimistic_write' } }) : null;
      if (!key) throw new NotFoundError('Platform key', ['input', 'id']);
      if (key.revokedAt) throw new DomainError('ALREADY_REVOKED', 'The platform key is already revoked.', ['input', 'id']);
      Object.assign(key, { kekVersion: null, wrappedKey: null, ciphertext: null, revokedAt: new Date() });
      await tx.save(key);
      const reloaded = await bumpPlatformGatewaysInTx(tx, key.providerId);
      await auditPlatformKeyChangeInTx(tx, actor, { providerId: key.providerId, platformKeyId: id, change: 'REVOKED' });
      await auditInTx(tx, actor, {
        tenantId: null,
        action: 'PLATFORM_KEY_REVOKED',
        targetType: 'PLATFORM_KEY',
        targetId: id,
        details: {
          providerId: key.providerId,
          label: key.label,
          redactedKey: key.redactedKey,
          reloadedGateways: reloaded,
          keyRefs: [{ ref: key.keyRef, version: 1 }],
        },
      });
      return key;
    });
  }

  /** Every rule reported at once, before any write; messages never carry the key. */
  private async checkInput(input: CreatePlatformKey): Promise<{ provider: ProviderEntity; value: string }> {
    return checkNewKey(this.providers, { providerId: input.providerId, providerField: ['input', 'providerId'], secret: input.secret }, [
      nameRule(input.label, ['input', 'label'], 'LABEL'),
      rangeRule(input.priority, ['input', 'priority'], LIMITS.priority),
    ]);
  }
}

/**
 * Puts a platform key change in the trail of every tenant it may affect: those that left BYOK, and
 * those with a gateway whose effective mode for the provider is BUNDLED or HYBRID. ONE
 * INSERT … SELECT in the caller's transaction, however many tenants. Ids only: the platform's
 * labels and key hints stay in its own (tenant-less) row.
 */
export async function auditPlatformKeyChangeInTx(
  tx: EntityManager,
  actor: AuditActor,
  change: { providerId: string; platformKeyId: string; change: 'CREATED' | 'REVOKED' },
): Promise<void> {
  await tx.query(
    `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details, request_id)
     SELECT t.id, $3, $4, 'PLATFORM_KEYS_CHANGED', 'PLATFORM_KEY', $2::text,
            jsonb_build_object('change', $5::text, 'providerId', $1::uuid, 'platformKeyId', $2::uuid,
                               'provider', (SELECT slug FROM providers WHERE id = $1)), $6
       FROM tenants t
      WHERE t.byok_mode = 'PLATFORM'
         OR EXISTS (SELECT 1 FROM gateways g
                     WHERE g.tenant_id = t.id
                       AND COALESCE((SELECT m.credential_mode FROM gateway_provider_modes m
                                      WHERE m.gateway_id = g.id AND m.tenant_id = g.tenant_id AND m.provider_id = $1),
                                    g.credential_mode) IN ('BUNDLED', 'HYBRID'))
      ORDER BY t.id -- audit chain heads locked in one order (docs/audit.md)`,
    [change.providerId, change.platformKeyId, actor.type, actor.id, change.change, actor.requestId],
  );
}
