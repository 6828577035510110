import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashToken, type Sealed, type SealContext, type SecretBox } from '../../crypto';
import { InvalidatedCache, type Invalidations } from '../../db/invalidations';
import { auditInTx } from '../audit/audit.writer';
import { bearerToken } from '../auth/bearer';
import { resolveGatewayConfig, type Opener, type ResolveInput, type ResolvedProvider } from './gateway-config';
import { GatewayConfigLoader, type LoadedConfig } from './gateway-config.loader';

export interface GatewayConfigBody {
  gatewayId: string;
  configVersion: number;
  generatedAt: string;
  providers: ResolvedProvider[];
}

export type PullResult = { kind: 'UNAUTHENTICATED' } | { kind: 'NOT_MODIFIED'; etag: string } | { kind: 'OK'; etag: string; body: GatewayConfigBody };

const GATEWAY_KEY = /^kpg_[A-Za-z0-9_-]{43}$/;
/** A gateway polling an unchanged config costs no write more often than this. */
const RECORD_EVERY_MS = 10_000;
/** The ETag pass decides what is served without opening anything. */
const NO_OPEN = () => '';

/** What a 304 needs to know about a gateway key: no keys, no ciphertext. */
interface KnownConfig {
  gatewayId: string;
  tenantId: string;
  configVersion: number;
  etag: string;
  /** The last pull written to the gateway row (drift), on this process's clock. */
  recordedVersion: number | null;
  recordedAt: number | null;
}

/**
 * The gateway credential feed: authenticates a gateway by its own key, resolves what it is served
 * (decrypted: this is the one place plaintext leaves Keyplane, by design), and records the pull.
 *
 * A poll whose ETag still matches (the common case) touches no database: the ETag of each key
 * that resolved is kept in memory (by key hash), dropped when PostgreSQL reports any change to the
 * tenant's gateways, keys, attachments or providers (see Invalidations), and in any case when a
 * served grace period ends. A 200 always reads and decrypts from the database.
 */
export class GatewayConfigService {
  private readonly loader: GatewayConfigLoader;
  private readonly known: InvalidatedCache<KnownConfig>;

  constructor(
    private readonly db: DataSource,
    private readonly box: Pick<SecretBox, 'open'>,
    private readonly invalidations: Invalidations,
    cache: { maxEntries: number; ttlMs: number },
    /** Ops must hear about stored keys that no longer decrypt (a missing KEK version, say): ids only. */
    private readonly warn: (details: Record<string, unknown>, message: string) => void = () => {},
  ) {
    this.loader = new GatewayConfigLoader(db);
    this.known = new InvalidatedCache(invalidations, cache);
  }

  /**
   * The poll answered from memory alone, with no await: the ETag when this key's config is known
   * here, matches If-None-Match and its pull was recorded less than 10 s ago; otherwise null (ask
   * pull(), which also decides and records everything else).
   */
  knownNotModified(authorization: string | undefined, ifNoneMatch: string | undefined): string | null {
    const gatewayKey = ifNoneMatch ? gatewayKeyOf(authorization) : null;
    const cached = gatewayKey && this.known.get(gatewayKey.cacheKey);
    if (!cached || !etagMatches(ifNoneMatch, cached.etag) || !recordedRecently(cached)) return null;
    return cached.etag;
  }

  async pull(authorization: string | undefined, ifNoneMatch: string | undefined, requestId: string | null): Promise<PullResult> {
    const gatewayKey = gatewayKeyOf(authorization);
    // Malformed keys never reach the database; a well-formed one costs one indexed lookup.
    if (!gatewayKey) return { kind: 'UNAUTHENTICATED' };
    const { hash, cacheKey: key } = gatewayKey;
    const cached = ifNoneMatch ? this.known.get(key) : undefined;
    if (cached && etagMatches(ifNoneMatch, cached.etag)) {
      await this.recordPull(cached);
      return { kind: 'NOT_MODIFIED', etag: cached.etag };
    }
    const ticket = this.invalidations.ticket();
    // Without If-None-Match the answer is a 200 for sure: load the material in the same round trip.
    const loaded = await this.loader.byKeyHash(hash, !ifNoneMatch);
    if (!loaded) return { kind: 'UNAUTHENTICATED' };
    // From metadata only (what is served, never the keys), so a 304 decrypts nothing. A key that
    // stops decrypting does not change it: a gateway keeps the copy it has rather than lose that key.
    const etag = configEtag(loaded.gateway.id, loaded.configVersion, resolveGatewayConfig(loaded.input, NO_OPEN));
    const known = this.remember(ticket, key, loaded, etag);
    await this.recordPull(known);
    if (etagMatches(ifNoneMatch, etag)) return { kind: 'NOT_MODIFIED', etag };
    // Content read after the version and ETag: the body is never older than what they claim
    // (at worst newer, which costs the gateway one more 200, never a stale 304).
    const full = loaded.material ? loaded : await this.loader.withMaterial(loaded.gateway.tenantId, loaded.gateway.id);
    if (!full) return { kind: 'UNAUTHENTICATED' }; // deleted in between
    const providers = resolveGatewayConfig(full.input, await openAll(this.box, full.input));
    const unreadable = providers.flatMap((p) => p.skipped.filter((s) => s.reason === 'UNREADABLE'));
    if (unreadable.length)
      this.warn(
        { gatewayId: loaded.gateway.id, tenantId: loaded.gateway.tenantId, unreadable },
        'gateway config: stored keys could not be decrypted',
      );
    await this.auditPlatformKeys(loaded, providers, requestId);
    return {
      kind: 'OK',
      // A degraded answer gets its own tag, which never matches the metadata one: the gateway keeps
      // pulling until the keys decrypt again instead of caching the partial config for good.
      etag: unreadable.length ? configEtag(loaded.gateway.id, loaded.configVersion, providers) : etag,
      body: { gatewayId: loaded.gateway.id, configVersion: loaded.configVersion, generatedAt: new Date().toISOString(), providers },
    };
  }

  /** Keeps what a 304 needs, until a change is heard or the next grace period served here ends. */
  private remember(ticket: number | null, key: string, loaded: LoadedConfig, etag: string): KnownConfig {
    const now = loaded.dbNow.getTime();
    const known: KnownConfig = {
      gatewayId: loaded.gateway.id,
      tenantId: loaded.gateway.tenantId,
      configVersion: loaded.configVersion,
      etag,
      recordedVersion: loaded.pulledConfigVersion,
      recordedAt: loaded.pulledAt ? Date.now() - (now - loaded.pulledAt.getTime()) : null,
    };
    // What is served changes by itself when a PREVIOUS version's grace period ends.
    const ends = loaded.input.attached.flatMap((a) => (a.retireAfter && a.retireAfter.getTime() > now ? [a.retireAfter.getTime() - now] : []));
    // A rotated key stops authenticating when its grace ends: no cached 304 may answer it after that.
    if (loaded.previousKeyExpiresAt && loaded.previousKeyExpiresAt.getTime() > now) ends.push(loaded.previousKeyExpiresAt.getTime() - now);
    this.known.set(ticket, key, known.tenantId, known, ends.length ? Math.min(...ends) : Infinity);
    return known;
  }

  /** Drift is measured from this. Polling an unchanged version writes at most every 10 s. */
  private async recordPull(known: KnownConfig): Promise<void> {
    if (recordedRecently(known)) return;
    const now = Date.now();
    // Claimed before the write, so concurrent polls do not all write.
    known.recordedVersion = known.configVersion;
    known.recordedAt = now;
    // GREATEST: versions only grow, so a slow concurrent pull of an older version cannot move it back.
    await this.db.query(
      `UPDATE gateways SET pulled_config_version = GREATEST(COALESCE(pulled_config_version, 0), $3), pulled_at = now()
        WHERE id = $1 AND tenant_id = $2`,
      [known.gatewayId, known.tenantId, known.configVersion],
    );
  }

  /** Serving platform keys to a tenant's gateway is always on the record (ids only, never keys). */
  private async auditPlatformKeys(
    { gateway: gw, configVersion }: LoadedConfig,
    providers: ResolvedProvider[],
    requestId: string | null,
  ): Promise<void> {
    const served = providers.flatMap((p) =>
      p.credentials.flatMap((c) => (c.source === 'PLATFORM' ? [{ provider: p.provider.slug, platformKeyId: c.platformKeyId }] : [])),
    );
    if (served.length === 0) return;
    await auditInTx(
      this.db.manager,
      { type: 'SYSTEM', id: gw.id, requestId },
      {
        tenantId: gw.tenantId,
        action: 'GATEWAY_PLATFORM_KEYS_SERVED',
        targetType: 'GATEWAY',
        targetId: gw.id,
        details: {
          configVersion,
          providers: [...new Set(served.map((s) => s.provider))],
          platformKeyIds: served.map((s) => s.platformKeyId),
        },
      },
    );
  }
}

/** A well-formed gateway key from an Authorization header, as its hash (the lookup and cache key). */
function gatewayKeyOf(authorization: string | undefined): { hash: Buffer; cacheKey: string } | null {
  const token = bearerToken(authorization);
  if (!token || !GATEWAY_KEY.test(token)) return null;
  const hash = hashToken(token);
  return { hash, cacheKey: hash.toString('base64') };
}

function recordedRecently(known: KnownConfig): boolean {
  return known.recordedVersion === known.configVersion && known.recordedAt !== null && Date.now() - known.recordedAt < RECORD_EVERY_MS;
}

/**
 * Strong ETag over everything served except the keys themselves (a hash of a key would let anyone
 * holding the header confirm a guessed key). Ids and versions are immutable, so it still changes
 * whenever a served key, mode, status, provider setting or grace period changes.
 */
export function configEtag(gatewayId: string, configVersion: number, providers: ResolvedProvider[]): string {
  const shape = providers.map((p) => ({ ...p, credentials: p.credentials.map(({ key: _key, ...rest }) => rest) }));
  const digest = createHash('sha256')
    .update(JSON.stringify([gatewayId, configVersion, shape]))
    .digest('base64url');
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

/**
 * Opens every key the config would serve, all at once (an HSM provider runs them on several
 * sessions), and returns a synchronous opener over the results for resolveGatewayConfig: the same
 * keys, in the same order, each failing exactly as its own open failed.
 */
async function openAll(box: Pick<SecretBox, 'open'>, input: ResolveInput): Promise<Opener> {
  const wanted: [Sealed, SealContext][] = [];
  resolveGatewayConfig(input, (sealed, ctx) => {
    wanted.push([sealed, ctx]);
    return '';
  });
  const opened = await Promise.allSettled(wanted.map(([sealed, ctx]) => box.open(sealed, ctx)));
  const bySealed = new Map(wanted.map(([sealed], i) => [sealed, opened[i]] as const));
  return (sealed) => {
    const r = bySealed.get(sealed);
    if (!r) throw new Error('not opened');
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  };
}
