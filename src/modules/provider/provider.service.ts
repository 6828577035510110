import { In, type DataSource } from 'typeorm';
import { InvalidatedCache, type Invalidations } from '../../db/invalidations';
import { collect, DomainError, NotFoundError } from '../../errors';
import { API_SHAPES, AUTH_SCHEMES, type ApiShape, type AuthScheme } from '../../providers/types';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { nameRule, slugRule, urlRule, type UrlPolicy } from '../common/rules';
import { ProviderEntity } from './provider.entity';
import { recordHostChangeInTx } from './provider-hosts';
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

/** Catalog rows are platform-wide: only a platform-wide invalidation ('*') drops them. */
const CATALOG = '';

/**
 * The provider catalog is global (not tenant data): every tenant reads it, only platform admins
 * change it. Rows read by id are kept in memory (frozen) when an Invalidations listener is given,
 * dropped whenever PostgreSQL reports a change to the catalog.
 */
export class ProviderService {
  private readonly cache: InvalidatedCache<Readonly<ProviderEntity>> | null;

  constructor(
    private readonly db: DataSource,
    private readonly urlPolicy: UrlPolicy,
    private readonly invalidations: Invalidations | null = null,
    cache: { maxEntries: number; ttlMs: number } = { maxEntries: 0, ttlMs: 0 },
  ) {
    this.cache = invalidations ? new InvalidatedCache(invalidations, cache) : null;
  }

  list(): Promise<ProviderEntity[]> {
    return this.db.getRepository(ProviderEntity).find({ order: { name: 'ASC' } });
  }

  /** Read-only rows: callers that change a provider load it themselves. */
  async byIds(ids: readonly string[]): Promise<Readonly<ProviderEntity>[]> {
    const found: Readonly<ProviderEntity>[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.cache?.get(id);
      if (hit) found.push(hit);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const ticket = this.invalidations?.ticket() ?? null;
    const rows = await this.db.getRepository(ProviderEntity).findBy({ id: In(missing) });
    for (const row of rows) {
      Object.freeze(row);
      this.cache?.set(ticket, row.id, CATALOG, row);
      found.push(row);
    }
    return found;
  }

  private async byId(id: string): Promise<Readonly<ProviderEntity> | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.byIds([id]);
    return row ?? null;
  }

  async get(id: string, field: string[] | null = null): Promise<Readonly<ProviderEntity>> {
    const provider = await this.byId(id);
    if (!provider) throw new NotFoundError('Provider', field);
    return provider;
  }

  /** For key input: an unknown or disabled provider is a userErrors entry on the providerId field. */
  async usable(id: string, field: string[]): Promise<Readonly<ProviderEntity>> {
    const provider = await this.byId(id);
    if (!provider) throw new DomainError('UNKNOWN_PROVIDER', 'Unknown provider.', field);
    if (!provider.enabled) throw new DomainError('PROVIDER_DISABLED', `${provider.name} is disabled.`, field);
    return provider;
  }

  async upsert(actor: AuditActor, input: UpsertProvider): Promise<ProviderEntity> {
    collect([
      slugRule(input.slug, ['input', 'slug']),
      input.name != null ? nameRule(input.name, ['input', 'name']) : null,
      urlRule(input.baseUrl, ['input', 'baseUrl'], this.urlPolicy),
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
        collect(missing.map((k) => ({ field: ['input', k], code: 'INVALID_INPUT' as const, message: 'Required for a new provider.' })));
        provider.keyPrefixes = [];
      }
      const previousBaseUrl = existing?.baseUrl ?? null;
      const changes: Record<string, unknown> = {};
      for (const key of EDITABLE) {
        const value = input[key];
        if (value == null) continue;
        const next = key === 'baseUrl' ? String(value).replace(/\/+$/, '') : value;
        if (JSON.stringify(provider[key]) === JSON.stringify(next)) continue;
        (provider as unknown as Record<string, unknown>)[key] = next;
        changes[key] = next;
      }
      if (existing?.builtIn && 'baseUrl' in changes) {
        // Every tenant's keys of a built-in provider would follow: only operator config may repoint one.
        throw new DomainError(
          'BUILT_IN_PROVIDER_PINNED',
          `${existing.name} is a built-in provider: its host is set by operator configuration (PROVIDER_BASE_URL_*), not by the API.`,
          ['input', 'baseUrl'],
        );
      }
      if (existing && Object.keys(changes).length === 0) return existing;
      const saved = await tx.save(provider);
      if (existing && previousBaseUrl !== null && 'baseUrl' in changes) {
        await recordHostChangeInTx(tx, actor, {
          provider: { id: saved.id, slug: saved.slug },
          previousBaseUrl,
          baseUrl: saved.baseUrl,
          source: 'UPSERT_PROVIDER',
        });
      }
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
