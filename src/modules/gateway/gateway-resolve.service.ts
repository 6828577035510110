import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashToken, type SecretBox } from '../../crypto';
import { auditInTx } from '../audit/audit.writer';
import type { CredentialMode } from './gateway.entity';
import {
  resolveGatewayConfig,
  type AttachedRow,
  type PlatformKeyRow,
  type ResolvedProvider,
  type ResolveGateway,
  type ResolveInput,
  type ResolveProvider,
} from './gateway-resolve';

export interface GatewayConfigBody {
  gatewayId: string;
  configVersion: number;
  generatedAt: string;
  providers: ResolvedProvider[];
}

export type PullResult =
  | { kind: 'UNAUTHENTICATED' }
  | { kind: 'NOT_MODIFIED'; etag: string }
  | { kind: 'OK'; etag: string; body: GatewayConfigBody };

const GATEWAY_KEY = /^kpg_[A-Za-z0-9_-]{43}$/;
/** A gateway polling an unchanged config costs no write more often than this. */
const RECORD_EVERY_MS = 10_000;

interface GatewayRow {
  id: string;
  tenant_id: string;
  credential_mode: CredentialMode;
  config_version: number;
  pulled_config_version: number | null;
  pulled_at: Date | null;
  byok_mode: ResolveGateway['tenantByokMode'];
  db_now: Date;
}

/**
 * The gateway credential feed: authenticates a gateway by its own key, resolves what it is served
 * (decrypted: this is the one place plaintext leaves Keyplane, by design), and records the pull.
 */
export class GatewayResolveService {
  constructor(
    private readonly db: DataSource,
    private readonly box: Pick<SecretBox, 'open'>,
    /** Ops must hear about stored keys that no longer decrypt (a missing KEK version, say): ids only. */
    private readonly warn: (details: Record<string, unknown>, message: string) => void = () => {},
  ) {}

  async pull(authorization: string | undefined, ifNoneMatch: string | undefined, requestId: string | null): Promise<PullResult> {
    const token = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    // Malformed keys never reach the database; a well-formed one costs one indexed lookup.
    if (!token || !GATEWAY_KEY.test(token)) return { kind: 'UNAUTHENTICATED' };
    const [gw]: GatewayRow[] = await this.db.query(
      `SELECT g.id, g.tenant_id, g.credential_mode, g.config_version, g.pulled_config_version, g.pulled_at,
              t.byok_mode, now() AS db_now
         FROM gateways g JOIN tenants t ON t.id = g.tenant_id
        WHERE g.key_hash = $1`,
      [hashToken(token)],
    );
    if (!gw) return { kind: 'UNAUTHENTICATED' };
    // The version is read before the content, so a served version never claims content it lacks.
    const gateway: ResolveGateway = { id: gw.id, tenantId: gw.tenant_id, credentialMode: gw.credential_mode, tenantByokMode: gw.byok_mode };
    const providers = resolveGatewayConfig(await this.load(gateway, gw.db_now), (sealed, ctx) => this.box.open(sealed, ctx));
    const unreadable = providers.flatMap((p) => p.skipped.filter((s) => s.reason === 'UNREADABLE'));
    if (unreadable.length) this.warn({ gatewayId: gw.id, unreadable }, 'gateway config: stored keys could not be decrypted');
    const etag = configEtag(gw.id, gw.config_version, providers);
    await this.recordPull(gw);
    if (etagMatches(ifNoneMatch, etag)) return { kind: 'NOT_MODIFIED', etag };
    await this.auditPlatformKeys(gw, providers, requestId);
    return {
      kind: 'OK',
      etag,
      body: { gatewayId: gw.id, configVersion: gw.config_version, generatedAt: new Date().toISOString(), providers },
    };
  }

  /** Every row is filtered by the gateway's tenant, even where a join would already imply it. */
  private async load(gateway: ResolveGateway, now: Date): Promise<ResolveInput> {
    const [attached, overrides] = await Promise.all([
      this.db.query(
        `SELECT gc.provider_id, c.id AS credential_id, c.tenant_id, c.label, c.status, c.current_version,
                c.revoked_at IS NOT NULL AS revoked, v.version, v.state, v.retire_after, v.redacted_key,
                v.kek_version, v.wrapped_key, v.ciphertext
           FROM gateway_credentials gc
           JOIN credentials c ON c.id = gc.credential_id AND c.tenant_id = $2
           LEFT JOIN credential_versions v
             ON v.credential_id = c.id AND v.tenant_id = $2 AND v.state IN ('ACTIVE', 'PREVIOUS')
          WHERE gc.gateway_id = $1 AND gc.tenant_id = $2
          ORDER BY gc.provider_id, gc.priority, gc.created_at, c.id, v.version DESC`,
        [gateway.id, gateway.tenantId],
      ) as Promise<Record<string, any>[]>,
      this.db.query(
        'SELECT provider_id, credential_mode FROM gateway_provider_modes WHERE gateway_id = $1 AND tenant_id = $2',
        [gateway.id, gateway.tenantId],
      ) as Promise<{ provider_id: string; credential_mode: CredentialMode }[]>,
    ]);
    const needsPlatform =
      gateway.tenantByokMode === 'PLATFORM' ||
      gateway.credentialMode !== 'USER_PROVIDED' ||
      overrides.some((o) => o.credential_mode !== 'USER_PROVIDED');
    const platform: Record<string, any>[] = needsPlatform
      ? await this.db.query(
          `SELECT id, provider_id, label, redacted_key, kek_version, wrapped_key, ciphertext
             FROM platform_keys WHERE revoked_at IS NULL AND ciphertext IS NOT NULL
            ORDER BY provider_id, priority, created_at, id`,
        )
      : [];
    const ids = [...new Set([...attached, ...overrides, ...platform].map((r) => r.provider_id as string))];
    const providers: Record<string, any>[] = ids.length
      ? await this.db.query('SELECT id, slug, name, base_url, auth_scheme FROM providers WHERE id = ANY($1::uuid[])', [ids])
      : [];
    return {
      gateway,
      now,
      overrides: overrides.map((o) => ({ providerId: o.provider_id, credentialMode: o.credential_mode })),
      providers: providers.map((p): ResolveProvider => ({ id: p.id, slug: p.slug, name: p.name, baseUrl: p.base_url, authScheme: p.auth_scheme })),
      attached: attached.map(
        (r): AttachedRow => ({
          tenantId: r.tenant_id,
          providerId: r.provider_id,
          credentialId: r.credential_id,
          label: r.label,
          status: r.status,
          currentVersion: r.current_version,
          revoked: r.revoked,
          version: r.version,
          state: r.state,
          retireAfter: r.retire_after,
          redactedKey: r.redacted_key,
          sealed: r.ciphertext && r.wrapped_key && r.kek_version != null
            ? { kekVersion: r.kek_version, wrappedKey: r.wrapped_key, ciphertext: r.ciphertext }
            : null,
        }),
      ),
      platformKeys: platform.map(
        (k): PlatformKeyRow => ({
          id: k.id,
          providerId: k.provider_id,
          label: k.label,
          redactedKey: k.redacted_key,
          sealed: k.wrapped_key && k.kek_version != null ? { kekVersion: k.kek_version, wrappedKey: k.wrapped_key, ciphertext: k.ciphertext } : null,
        }),
      ),
    };
  }

  /** Drift is measured from this. Polling an unchanged version writes at most every 10 s. */
  private async recordPull(gw: GatewayRow): Promise<void> {
    const fresh =
      gw.pulled_config_version === gw.config_version &&
      gw.pulled_at != null &&
      gw.db_now.getTime() - gw.pulled_at.getTime() < RECORD_EVERY_MS;
    if (fresh) return;
    // GREATEST: versions only grow, so a slow concurrent pull of an older version cannot move it back.
    await this.db.query(
      `UPDATE gateways SET pulled_config_version = GREATEST(COALESCE(pulled_config_version, 0), $3), pulled_at = now()
        WHERE id = $1 AND tenant_id = $2`,
      [gw.id, gw.tenant_id, gw.config_version],
    );
  }

  /** Serving platform keys to a tenant's gateway is always on the record (ids only, never keys). */
  private async auditPlatformKeys(gw: GatewayRow, providers: ResolvedProvider[], requestId: string | null): Promise<void> {
    const served = providers.flatMap((p) =>
      p.credentials.flatMap((c) => (c.source === 'PLATFORM' ? [{ provider: p.provider.slug, platformKeyId: c.platformKeyId }] : [])),
    );
    if (served.length === 0) return;
    await auditInTx(this.db.manager, { type: 'SYSTEM', id: gw.id, requestId }, {
      tenantId: gw.tenant_id,
      action: 'GATEWAY_PLATFORM_KEYS_SERVED',
      targetType: 'GATEWAY',
      targetId: gw.id,
      details: {
        configVersion: gw.config_version,
        providers: [...new Set(served.map((s) => s.provider))],
        platformKeyIds: served.map((s) => s.platformKeyId),
      },
    });
  }
}

/**
 * Strong ETag over everything served except the keys themselves (a hash of a key would let anyone
 * holding the header confirm a guessed key). Ids and versions are immutable, so it still changes
 * whenever a served key, mode, status, provider setting or grace period changes.
 */
export function configEtag(gatewayId: string, configVersion: number, providers: ResolvedProvider[]): string {
  const shape = providers.map((p) => ({ ...p, credentials: p.credentials.map(({ key: _key, ...rest }) => rest) }));
  const digest = createHash('sha256').update(JSON.stringify([gatewayId, configVersion, shape])).digest('base64url');
  return `"${configVersion}-${digest.slice(0, 22)}"`;
}

/** If-None-Match: a list of tags, weak ones compared weakly (RFC 9110 13.1.2), or "*". */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
