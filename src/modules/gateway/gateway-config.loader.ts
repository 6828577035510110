import type { DataSource } from 'typeorm';
import type { Sealed } from '../../crypto';
import { preparedQuery } from '../../db/prepared';
import type { CredentialMode } from './gateway.entity';
import type { AttachedRow, PlatformKeyRow, ResolveGateway, ResolveInput, ResolveProvider } from './gateway-config';

/*
 * Everything a gateway is served, in ONE round trip: the gateway by its key hash (or id), its tenant's
 * BYOK mode, attachments with their usable versions, provider overrides, platform keys and providers
 * (with the host the tenant confirmed and whether keys of it were revoked, for the reasons).
 * A gateway polls every few seconds; a poll whose ETag is known in memory does not get here
 * (GatewayConfigService), so this runs on a first poll, after a change, and for every 200.
 *
 * Without `material` the rows carry no ciphertext, only whether there is some: enough to decide what
 * is served (and so the ETag), not to decrypt it.
 */

export interface LoadedConfig {
  gateway: ResolveGateway;
  configVersion: number;
  pulledConfigVersion: number | null;
  pulledAt: Date | null;
  dbNow: Date;
  /** A rotated key's grace end: a cached answer for it must not outlive it. */
  previousKeyExpiresAt: Date | null;
  /** Sealed material is present (and openable) only when loaded with `material`. */
  input: ResolveInput;
  material: boolean;
}

/** Stands for material that exists but was not loaded; opening it is never attempted. */
const NOT_LOADED: Sealed = Object.freeze({ kekVersion: 0, wrappedKey: Buffer.alloc(0), ciphertext: Buffer.alloc(0) });

function buildSql(gatewayWhere: string, material: boolean): string {
  const sealed = (t: string) =>
    material ? `, ${t}.kek_version, encode(${t}.wrapped_key, 'hex') AS wrapped_key, encode(${t}.ciphertext, 'hex') AS ciphertext` : '';
  const served = `gateway_id = g.id AND tenant_id = g.tenant_id`;
  const platformKeys = `platform_keys k WHERE x.needs_platform AND k.revoked_at IS NULL AND k.ciphertext IS NOT NULL`;
  // Correlated subqueries driven by the gateway row (its indexes), each aggregated to one JSON value.
  // Every row is filtered by the gateway's tenant, even where a join would already imply it.
  return `
SELECT g.id, g.tenant_id, g.credential_mode, g.config_version, g.pulled_config_version, g.pulled_at, t.byok_mode, now() AS db_now,
  g.previous_key_expires_at,
  (SELECT json_agg(a ORDER BY a.provider_id, a.priority, a.attached_at, a.credential_id, a.version DESC) FROM (
     SELECT gc.provider_id, gc.priority, gc.created_at AS attached_at, c.id AS credential_id, c.tenant_id, c.label,
            c.status, c.current_version, c.revoked_at IS NOT NULL AS revoked, v.version, v.state, v.retire_after, v.redacted_key,
            (v.ciphertext IS NOT NULL AND v.wrapped_key IS NOT NULL AND v.kek_version IS NOT NULL) AS has_material ${sealed('v')}
       FROM gateway_credentials gc
       JOIN credentials c ON c.id = gc.credential_id AND c.tenant_id = g.tenant_id
       LEFT JOIN credential_versions v ON v.credential_id = c.id AND v.tenant_id = g.tenant_id AND v.state IN ('ACTIVE', 'PREVIOUS')
      WHERE gc.gateway_id = g.id AND gc.tenant_id = g.tenant_id) a) AS attached,
  (SELECT json_agg(m) FROM (SELECT provider_id, credential_mode FROM gateway_provider_modes WHERE ${served}) m) AS overrides,
  (SELECT json_agg(k ORDER BY k.provider_id, k.priority, k.created_at, k.id) FROM (
     SELECT k.id, k.provider_id, k.label, k.redacted_key, k.priority, k.created_at,
            (k.wrapped_key IS NOT NULL AND k.kek_version IS NOT NULL) AS has_material ${sealed('k')}
       FROM ${platformKeys}) k) AS platform,
  (SELECT json_agg(p) FROM (
     SELECT p.id, p.slug, p.name, p.base_url, p.auth_scheme, p.enabled, hc.base_url AS confirmed_base_url,
            EXISTS (SELECT 1 FROM credentials c WHERE c.tenant_id = g.tenant_id AND c.provider_id = p.id
                       AND c.revoked_at IS NOT NULL) AS tenant_revoked,
            (x.needs_platform AND EXISTS (SELECT 1 FROM platform_keys k WHERE k.provider_id = p.id
                                            AND k.revoked_at IS NOT NULL)) AS platform_revoked
       FROM providers p
       LEFT JOIN provider_host_confirmations hc ON hc.tenant_id = g.tenant_id AND hc.provider_id = p.id
      -- Every enabled provider is listed (absence is explicit), disabled ones only while referenced.
      WHERE p.enabled
         OR p.id IN (SELECT provider_id FROM gateway_credentials WHERE ${served}
                     UNION ALL SELECT provider_id FROM gateway_provider_modes WHERE ${served}
                     UNION ALL SELECT k.provider_id FROM ${platformKeys})) p) AS providers
  FROM gateways g
  JOIN tenants t ON t.id = g.tenant_id
  -- Platform keys are read only when some mode could serve them.
  CROSS JOIN LATERAL (
    SELECT t.byok_mode = 'PLATFORM' OR g.credential_mode <> 'USER_PROVIDED' OR EXISTS (
             SELECT 1 FROM gateway_provider_modes WHERE ${served} AND credential_mode <> 'USER_PROVIDED') AS needs_platform
  ) x
 WHERE ${gatewayWhere}`;
}

// Prepared (named) statements: planning this query costs more than running it, and it runs on every poll.
// The current key, or a rotated one during its grace period (rotateGatewayKey graceHours).
const BY_KEY = `(g.key_hash = $1 OR (g.previous_key_hash = $1 AND g.previous_key_expires_at > now()))`;
const META = { name: 'gateway-config-by-key', text: buildSql(BY_KEY, false) };
const FULL = { name: 'gateway-config-by-key-full', text: buildSql(BY_KEY, true) };
const BY_ID = { name: 'gateway-config-by-id-full', text: buildSql('g.tenant_id = $1 AND g.id = $2', true) };

export class GatewayConfigLoader {
  constructor(private readonly db: DataSource) {}

  /** Authenticates and loads in one query; `material` only when a full answer is certain to follow. */
  async byKeyHash(keyHash: Buffer, material: boolean): Promise<LoadedConfig | null> {
    const q = material ? FULL : META;
    const [row] = await preparedQuery(this.db, q.name, q.text, [keyHash]);
    return row ? toLoaded(row, material) : null;
  }

  async withMaterial(tenantId: string, gatewayId: string): Promise<LoadedConfig | null> {
    const [row] = await preparedQuery(this.db, BY_ID.name, BY_ID.text, [tenantId, gatewayId]);
    return row ? toLoaded(row, true) : null;
  }
}

function sealedOf(r: Record<string, any>, material: boolean): Sealed | null {
  if (!r.has_material) return null;
  if (!material) return NOT_LOADED;
  return { kekVersion: r.kek_version, wrappedKey: Buffer.from(r.wrapped_key, 'hex'), ciphertext: Buffer.from(r.ciphertext, 'hex') };
}

function toLoaded(row: Record<string, any>, material: boolean): LoadedConfig {
  const gateway: ResolveGateway = { id: row.id, tenantId: row.tenant_id, credentialMode: row.credential_mode, tenantByokMode: row.byok_mode };
  const attached: Record<string, any>[] = row.attached ?? [];
  const overrides: { provider_id: string; credential_mode: CredentialMode }[] = row.overrides ?? [];
  const platform: Record<string, any>[] = row.platform ?? [];
  const providers: Record<string, any>[] = row.providers ?? [];
  return {
    gateway,
    configVersion: row.config_version,
    pulledConfigVersion: row.pulled_config_version,
    pulledAt: row.pulled_at,
    dbNow: row.db_now,
    previousKeyExpiresAt: row.previous_key_expires_at ?? null,
    material,
    input: {
      gateway,
      now: row.db_now,
      overrides: overrides.map((o) => ({ providerId: o.provider_id, credentialMode: o.credential_mode })),
      providers: providers.map((p): ResolveProvider => ({
        id: p.id,
        slug: p.slug,
        name: p.name,
        baseUrl: p.base_url,
        authScheme: p.auth_scheme,
        enabled: p.enabled,
        confirmedBaseUrl: p.confirmed_base_url,
        tenantRevoked: p.tenant_revoked,
        platformRevoked: p.platform_revoked,
      })),
      attached: attached.map((r): AttachedRow => ({
        tenantId: r.tenant_id,
        providerId: r.provider_id,
        credentialId: r.credential_id,
        label: r.label,
        status: r.status,
        currentVersion: r.current_version,
        revoked: r.revoked,
        version: r.version,
        state: r.state,
        // JSON carries timestamps as text; the resolver compares and prints Dates.
        retireAfter: r.retire_after == null ? null : new Date(r.retire_after),
        redactedKey: r.redacted_key,
        sealed: sealedOf(r, material),
      })),
      platformKeys: platform.map((k): PlatformKeyRow => ({
        id: k.id,
        providerId: k.provider_id,
        label: k.label,
        redactedKey: k.redacted_key,
        sealed: sealedOf(k, material),
      })),
    },
  };
}
