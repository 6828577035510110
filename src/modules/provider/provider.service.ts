import { In, type DataSource } from 'typeorm';
import { collect, DomainError, NotFoundError } from '../../errors';
import { API_SHAPES, AUTH_SCHEMES, type ApiShape, type AuthScheme } from '../../providers/types';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { nameRule, slugRule, urlRule } from '../common/rules';
import { ProviderEntity } from './provider.entity';
import { patternRule, prefixesRule } from './provider.rules';

export interface UpsertProvider {
  slug: string;
  name?: string | null;
  baseUrl?: string | null;
  authScheme?: AuthScheme | null;
  apiShape?: ApiShape | null;
  keyPrefixes?: string[] | null;
  keyPattern?: string | null;
  enabled?: boolean | null;
}

const EDITABLE = ['name', 'baseUrl', 'authScheme', 'apiShape', 'keyPrefixes', 'keyPattern', 'enabled'] as const;

/** The provider catalog is global (not tenant data): every tenant reads it, only platform admins change it. */
export class ProviderService {
  constructor(private readonly db: DataSource) {}

  list(): Promise<ProviderEntity[]> {
    return this.db.getRepository(ProviderEntity).find({ order: { name: 'ASC' } });
  }

  byIds(ids: readonly string[]): Promise<ProviderEntity[]> {
    return this.db.getRepository(ProviderEntity).findBy({ id: In([...ids]) });
  }

  async get(id: string, field: string[] | null = null): Promise<ProviderEntity> {
    const provider = isUuid(id) ? await this.db.getRepository(ProviderEntity).findOneBy({ id }) : null;
    if (!provider) throw new NotFoundError('Provider', field);
    return provider;
  }

  /** For key input: an unknown or disabled provider is a userErrors entry on the providerId field. */
  async usable(id: string, field: string[]): Promise<ProviderEntity> {
    const provider = isUuid(id) ? await this.db.getRepository(ProviderEntity).findOneBy({ id }) : null;
    if (!provider) throw new DomainError('UNKNOWN_PROVIDER', 'Unknown provider.', field);
    if (!provider.enabled) throw new DomainError('PROVIDER_DISABLED', `${provider.name} is disabled.`, field);
    return provider;
  }

  async upsert(actor: AuditActor, input: UpsertProvider): Promise<ProviderEntity> {
    collect([
      slugRule(input.slug, ['input', 'slug']),
      input.name != null ? nameRule(input.name, ['input', 'name']) : null,
      urlRule(input.baseUrl, ['input', 'baseUrl']),
      patternRule(input.keyPattern, ['input', 'keyPattern']),
      prefixesRule(input.keyPrefixes, ['input', 'keyPrefixes']),
      input.authScheme != null && !AUTH_SCHEMES.includes(input.authScheme)
        ? { field: ['input', 'authScheme'], code: 'INVALID_INPUT', message: 'Unknown auth scheme.' }
        : null,
      input.apiShape != null && !API_SHAPES.includes(input.apiShape)
        ? { field: ['input', 'apiShape'], code: 'INVALID_INPUT', message: 'Unknown API shape.' }
        : null,
    ]);
    return this.db.transaction(async (tx) => {
      // Serialize concurrent upserts of one slug without a unique-violation round trip.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`provider:${input.slug}`]);
      const existing = await tx.findOneBy(ProviderEntity, { slug: input.slug });
      const provider = existing ?? tx.create(ProviderEntity, { slug: input.slug, builtIn: false, enabled: true });
      if (!existing) {
        const missing = (['name', 'baseUrl', 'authScheme', 'apiShape', 'keyPattern'] as const).filter((k) => input[k] == null);
        collect(
          missing.map((k) => ({ field: ['input', k], code: 'INVALID_INPUT' as const, message: 'Required for a new provider.' })),
        );
        provider.keyPrefixes = [];
      }
      const changes: Record<string, unknown> = {};
      for (const key of EDITABLE) {
        const value = input[key];
        if (value == null) continue;
        const next = key === 'baseUrl' ? String(value).replace(/\/+$/, '') : value;
        if (JSON.stringify(provider[key]) === JSON.stringify(next)) continue;
        (provider as unknown as Record<string, unknown>)[key] = next;
        changes[key] = next;
      }
      if (existing && Object.keys(changes).length === 0) return existing;
      const saved = await tx.save(provider);
      await auditInTx(tx, actor, {
        tenantId: null,
        action: existing ? 'PROVIDER_UPDATED' : 'PROVIDER_CREATED',
        targetType: 'PROVIDER',
        targetId: saved.id,
        details: { slug: saved.slug, changes },
      });
      return saved;
    });
  }
}
