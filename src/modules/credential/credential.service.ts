import { In, type DataSource, type EntityManager } from 'typeorm';
import { redactSecret } from '../../crypto';
import { isUniqueViolation } from '../../db/pg-errors';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { collect, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import { keyRefsInTx } from './credential-key-refs';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { LIMITS, nameRule, rangeRule } from '../common/rules';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { enqueueManyInTx } from '../outbox/outbox.writer';
import type { KeyCheckLimiter } from '../key-check/key-check-limiter';
import type { ProviderEntity } from '../provider/provider.entity';
import { checkNewKey } from '../provider/new-key';
import type { ProviderService } from '../provider/provider.service';
import { TenantEntity } from '../tenant/tenant.entity';
import type { IdempotencyStore } from '../idempotency/idempotency.service';
import { CredentialInserter } from './credential-insert';
import { credentialSnapshot, restoreCredential } from './credential-snapshot';
import { insertVersionInTx, type KeyMaterialDeps } from './credential-material';
import { retireSupersededPendingInTx, revokeCredentialsInTx } from './credential-lifecycle.retire';
import { CredentialEntity, CredentialVersionEntity, type CredentialKind, type CredentialStatus } from './credential.entity';

export interface CredentialFilter {
  providerId?: string | null;
  status?: CredentialStatus | null;
  kind?: CredentialKind | null;
  includeRevoked?: boolean | null;
}

export interface CreateCredential {
  providerId: string;
  label: string;
  kind?: CredentialKind | null;
  secret: string;
  rotationPeriodDays?: number | null;
  /** A retry with the same key returns the first answer and writes nothing (README: Idempotency keys). */
  idempotencyKey?: string | null;
}

export interface UpdateCredential {
  label?: string | null;
  /** null clears the override (back to the tenant policy); undefined leaves it. */
  rotationPeriodDays?: number | null;
}

const DAY_MS = 86_400_000;
const LABEL_INDEX = 'uq_credentials_tenant_provider_label';

export class CredentialService {
  private readonly inserter: CredentialInserter;

  constructor(
    private readonly db: DataSource,
    private readonly material: KeyMaterialDeps,
    private readonly providers: Pick<ProviderService, 'usable'>,
    /** Storing, rotating and re-checking a key each make the worker ask the provider: limited like testProviderKey. */
    private readonly limiter: Pick<KeyCheckLimiter, 'take'>,
    private readonly idempotency: Pick<IdempotencyStore, 'request' | 'find' | 'claimInTx' | 'completeInTx'>,
  ) {
    this.inserter = new CredentialInserter(db, material);
  }

  async list(tenantId: string, filter: CredentialFilter, args: PageArgs): Promise<Page<CredentialEntity>> {
    const qb = this.db.getRepository(CredentialEntity).createQueryBuilder('c').where('c.tenantId = :tenantId', { tenantId });
    if (filter.providerId) qb.andWhere('c.providerId = :providerId', { providerId: isUuid(filter.providerId) ? filter.providerId : null });
    if (filter.status) qb.andWhere('c.status = :status', { status: filter.status });
    if (filter.kind) qb.andWhere('c.kind = :kind', { kind: filter.kind });
    if (!filter.includeRevoked && filter.status !== 'REVOKED') qb.andWhere('c.revokedAt IS NULL');
    return keysetPage(qb, 'credentials', tenantId, args);
  }

  byIds(tenantId: string, ids: readonly string[]): Promise<CredentialEntity[]> {
    return this.db.getRepository(CredentialEntity).findBy({ tenantId, id: In(ids.filter(isUuid)) });
  }

  async get(tenantId: string, id: string, field: string[] | null = null): Promise<CredentialEntity> {
    const found = isUuid(id) ? await this.db.getRepository(CredentialEntity).findOneBy({ tenantId, id }) : null;
    if (!found) throw new NotFoundError('Credential', field);
    return found;
  }

  versions(tenantId: string, credentialId: string): Promise<CredentialVersionEntity[]> {
    return this.db.getRepository(CredentialVersionEntity).find({
      where: { tenantId, credentialId },
      order: { version: 'DESC' },
    });
  }

  async create(tenantId: string, actor: AuditActor, input: CreateCredential): Promise<CredentialEntity> {
    // The request as the service reads it: an omitted field and its default are the same request.
    const keyed = this.idempotency.request(tenantId, 'CREATE_CREDENTIAL', input.idempotencyKey, {
      providerId: input.providerId,
      label: input.label,
      kind: input.kind ?? 'API_KEY',
      secret: input.secret,
      rotationPeriodDays: input.rotationPeriodDays ?? null,
    });
    // A replay costs no key check and writes nothing.
    const replayed = keyed && (await this.idempotency.find(keyed));
    if (replayed) return restoreCredential(replayed);
    await this.limiter.take({ tenantId, tokenId: actor.id ?? actor.type, kind: 'CREATE_CREDENTIAL' });
    const secret = await this.checkSecret(
      input.providerId,
      input.secret,
      ['input', 'providerId'],
      [nameRule(input.label, ['input', 'label'], 'LABEL'), rangeRule(input.rotationPeriodDays, ['input', 'rotationPeriodDays'], LIMITS.rotationDays)],
    );
    const row = {
      tenantId,
      provider: secret.provider,
      label: input.label.trim(),
      kind: input.kind ?? 'API_KEY',
      rotationPeriodDays: input.rotationPeriodDays ?? null,
      secret: secret.value,
    };
    try {
      const created = keyed
        ? await this.db.transaction(async (tx) => {
            const earlier = await this.idempotency.claimInTx(tx, keyed);
            if (earlier) return restoreCredential(earlier);
            const inserted = await this.inserter.insertInTx(tx, actor, row);
            if (inserted) await this.idempotency.completeInTx(tx, keyed, inserted.id, credentialSnapshot(inserted));
            return inserted;
          })
        : await this.inserter.insert(actor, row);
      // The tenant was resolved by scope before this call: gone now means deleted in between.
      if (!created) throw new NotFoundError('Tenant', ['input', 'tenantId']);
      return created;
    } catch (error) {
      throw this.mapConstraint(error);
    }
  }

  async update(tenantId: string, actor: AuditActor, id: string, input: UpdateCredential): Promise<CredentialEntity> {
    collect([
      input.label != null ? nameRule(input.label, ['input', 'label'], 'LABEL') : null,
      rangeRule(input.rotationPeriodDays, ['input', 'rotationPeriodDays'], LIMITS.rotationDays),
    ]);
    try {
      return await this.db.transaction(async (tx) => {
        const credential = await this.lockLive(tx, tenantId, id);
        const changes: Record<string, unknown> = {};
        if (input.label != null && input.label.trim() !== credential.label) changes.label = credential.label = input.label.trim();
        if (input.rotationPeriodDays !== undefined && input.rotationPeriodDays !== credential.rotationPeriodDays) {
          changes.rotationPeriodDays = credential.rotationPeriodDays = input.rotationPeriodDays;
          const tenant = await tx.findOneByOrFail(TenantEntity, { id: tenantId });
          const from = credential.rotatedAt ?? credential.createdAt;
          credential.rotateBy = new Date(from.getTime() + (credential.rotationPeriodDays ?? tenant.rotationPolicyDays) * DAY_MS);
        }
        if (Object.keys(changes).length === 0) return credential;
        await tx.save(credential);
        await auditInTx(tx, actor, { tenantId, action: 'CREDENTIAL_UPDATED', targetType: 'CREDENTIAL', targetId: id, details: { changes } });
        return credential;
      });
    } catch (error) {
      throw this.mapConstraint(error);
    }
  }

  /**
   * Stores the new key as a pending version. The worker promotes it once it validates; until then
   * the current version keeps serving, so a bad new key never replaces a working one.
   */
  async rotate(tenantId: string, actor: AuditActor, id: string, rawSecret: string, idempotencyKey?: string | null): Promise<CredentialEntity> {
    const keyed = this.idempotency.request(tenantId, 'ROTATE_CREDENTIAL', idempotencyKey, { id, secret: rawSecret });
    // A retried rotation after a timeout: the first answer, no second rotation, reload or grace window.
    const replayed = keyed && (await this.idempotency.find(keyed));
    if (replayed) return restoreCredential(replayed);
    await this.limiter.take({ tenantId, tokenId: actor.id ?? actor.type, kind: 'ROTATE_CREDENTIAL' });
    const existing = await this.get(tenantId, id, ['input', 'id']);
    const { provider, value } = await this.checkSecret(existing.providerId, rawSecret, null, []);
    return this.db.transaction(async (tx) => {
      const earlier = keyed && (await this.idempotency.claimInTx(tx, keyed));
      if (earlier) return restoreCredential(earlier);
      const credential = await this.lockLive(tx, tenantId, id);
      await retireSupersededPendingInTx(tx, tenantId, id);
      const version = credential.latestVersion + 1;
      const stored = await insertVersionInTx(
        tx,
        this.material,
        { tenantId, credentialId: id, version, state: 'PENDING', keyPrefixes: provider.keyPrefixes },
        value,
      );
      // The new key first, then the one serving now (what the rotation replaces once it validates).
      const previousRefs = credential.currentVersion ? await keyRefsInTx(tx, tenantId, id, [credential.currentVersion]) : [];
      const keyRefs = [{ ref: stored.keyRef, version }, ...previousRefs];
      const previousHint = credential.redactedKey;
      // rotated_at and rotate_by move when the new key validates and serves (worker), not now:
      // a rejected key must not silence the old key's rotation reminders.
      Object.assign(credential, {
        latestVersion: version,
        status: 'PENDING_VALIDATION',
        redactedKey: redactSecret(value, provider.keyPrefixes),
      });
      await tx.save(credential);
      await this.queueChecks(tx, tenantId, id, version);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'CREDENTIAL_ROTATED',
        targetType: 'CREDENTIAL',
        targetId: id,
        details: { version, previousRedactedKey: previousHint, redactedKey: credential.redactedKey, keyRefs },
      });
      if (keyed) await this.idempotency.completeInTx(tx, keyed, id, credentialSnapshot(credential));
      return credential;
    });
  }

  /** Revoking destroys the key material of every version and detaches the key from gateways. */
  async revoke(tenantId: string, actor: AuditActor, id: string): Promise<CredentialEntity> {
    return this.db.transaction(async (tx) => {
      const credential = await this.lockLive(tx, tenantId, id);
      const keyRefs = await keyRefsInTx(tx, tenantId, id);
      // Before the attachments go: they say which gateways must reload.
      const gateways = await bumpGatewaysInTx(tx, tenantId, { credentialId: id }, 'CREDENTIAL_REVOKED');
      const [revoked] = (await revokeCredentialsInTx(tx, tenantId, id)).credentials;
      Object.assign(credential, { status: 'REVOKED', revokedAt: revoked.revoked_at, updatedAt: revoked.updated_at });
      await auditInTx(tx, actor, {
        tenantId,
        action: 'CREDENTIAL_REVOKED',
        targetType: 'CREDENTIAL',
        targetId: id,
        details: { redactedKey: credential.redactedKey, detachedFromGateways: gateways, keyRefs },
      });
      return credential;
    });
  }

  /**
   * "Check this key now": queues a validation of the serving version (and of a pending rotation and
   * a PREVIOUS key in its grace period),
   * with an id of its own so it never collides with the create/rotate or scheduled checks.
   */
  async requestValidation(tenantId: string, actor: AuditActor, id: string): Promise<CredentialEntity> {
    await this.limiter.take({ tenantId, tokenId: actor.id ?? actor.type, kind: 'REVALIDATE_CREDENTIAL' });
    return this.db.transaction(async (tx) => {
      const credential = await this.lockLive(tx, tenantId, id);
      const run = `manual${Date.now()}`;
      // A key still served in its grace period (PREVIOUS) is checked too: found invalid, it stops being served.
      const previous: { version: number }[] = await tx.query(
        `SELECT version FROM credential_versions WHERE tenant_id = $1 AND credential_id = $2 AND state = 'PREVIOUS'`,
        [tenantId, id],
      );
      const versions = [
        ...new Set([credential.currentVersion ?? credential.latestVersion, credential.latestVersion, ...previous.map((p) => p.version)]),
      ];
      await enqueueManyInTx(
        tx,
        versions.map((version) => ({ name: 'validate-credential', payload: { tenantId, credentialId: id, version, sweep: run } })),
      );
      await auditInTx(tx, actor, {
        tenantId,
        action: 'CREDENTIAL_VALIDATION_REQUESTED',
        targetType: 'CREDENTIAL',
        targetId: id,
        details: { versions, redactedKey: credential.redactedKey, keyRefs: await keyRefsInTx(tx, tenantId, id, versions) },
      });
      return credential;
    });
  }

  private async lockLive(tx: EntityManager, tenantId: string, id: string): Promise<CredentialEntity> {
    const credential = isUuid(id) ? await tx.findOne(CredentialEntity, { where: { tenantId, id }, lock: { mode: 'pessimistic_write' } }) : null;
    if (!credential) throw new NotFoundError('Credential', ['input', 'id']);
    if (credential.revokedAt) throw new DomainError('CREDENTIAL_REVOKED', 'The credential is revoked.', ['input', 'id']);
    return credential;
  }

  /** All input checks before any write, reported together; the secret's value is never in a message. */
  private async checkSecret(
    providerId: string,
    raw: string,
    providerField: string[] | null,
    others: Parameters<typeof collect>[0],
  ): Promise<{ provider: ProviderEntity; value: string }> {
    return checkNewKey(this.providers, { providerId, providerField: providerField ?? ['input', 'id'], secret: raw }, others);
  }

  /** The duplicate check is not queued here: the validation worker queues it once the new key validates. */
  private async queueChecks(tx: EntityManager, tenantId: string, credentialId: string, version: number): Promise<void> {
    await enqueueManyInTx(tx, [{ name: 'validate-credential', payload: { tenantId, credentialId, version } }]);
  }

  private mapConstraint(error: unknown): unknown {
    if (isUniqueViolation(error, LABEL_INDEX)) {
      return new DomainError('LABEL_TAKEN', 'Another credential for this provider already has that label.', ['input', 'label']);
    }
    return error;
  }
}
