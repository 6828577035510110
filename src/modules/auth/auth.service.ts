import type { DataSource } from 'typeorm';
import { hashToken, safeEqual } from '../../crypto';
import { InvalidatedCache, type Invalidations } from '../../db/invalidations';
import { AccessError } from '../../errors';
import type { TenantRole } from '../token/token.entity';
import type { Actor } from './actor';
import { bearerToken } from './bearer';

const LAST_USED_RESOLUTION_MS = 60_000;
const LIVE_TOKENS_BATCH = 500;

interface KnownToken {
  actor: Actor;
  lastUsedAt: number | null;
}

/**
 * Resolves the bearer token once per request. Tokens that resolved are kept in memory by their hash
 * (never the token), dropped the moment PostgreSQL reports a change to the tenant's tokens (see
 * Invalidations): a revocation committed by this process holds for its next request, one committed
 * elsewhere within the notification latency. Unknown tokens are never cached.
 */
export class AuthService {
  private readonly known: InvalidatedCache<KnownToken>;
  /** Hashed once: each request hashes its token once, and compares 32 bytes in constant time. */
  private readonly adminHash: Buffer;

  constructor(
    private readonly db: DataSource,
    adminToken: string,
    private readonly onError: (error: unknown) => void,
    private readonly invalidations: Invalidations,
    cache: { maxEntries: number; ttlMs: number },
    /** A revoked token was presented: a security event (it may be a leaked one being tried). */
    private readonly onRevokedUse: (token: { id: string; tenantId: string }) => void = () => {},
  ) {
    this.known = new InvalidatedCache(invalidations, cache);
    this.adminHash = hashToken(adminToken);
  }

  /** null when no credentials were sent; AccessError when some were sent and are not valid. */
  async authenticate(authorization: string | undefined): Promise<Actor | null> {
    if (!authorization) return null;
    const token = bearerToken(authorization);
    if (!token) throw new AccessError('UNAUTHENTICATED', 'Send "Authorization: Bearer <token>".');
    const hash = hashToken(token);
    if (safeEqual(hash, this.adminHash)) {
      return { type: 'PLATFORM_ADMIN', id: 'platform-admin', tenantId: null, role: 'PLATFORM_ADMIN', name: 'platform admin' };
    }
    if (token.startsWith('kp_')) {
      const key = hash.toString('base64');
      const known = this.known.get(key) ?? (await this.lookup(hash, key));
      if (known) {
        this.touch(known);
        return known.actor;
      }
    }
    throw new AccessError('UNAUTHENTICATED', 'The token is not valid.');
  }

  /**
   * What the database says now about tokens held by open sockets, bypassing the cache: the live
   * (unrevoked) ones among `hashes`, by base64 hash. A token missing from the answer was revoked or
   * deleted (with its tenant).
   */
  async liveTokens(hashes: readonly Buffer[]): Promise<Map<string, { tenantId: string; role: TenantRole }>> {
    const live = new Map<string, { tenantId: string; role: TenantRole }>();
    for (let i = 0; i < hashes.length; i += LIVE_TOKENS_BATCH) {
      const rows: { token_hash: Buffer; tenant_id: string; role: TenantRole }[] = await this.db.query(
        'SELECT token_hash, tenant_id, role FROM api_tokens WHERE token_hash = ANY($1) AND revoked_at IS NULL',
        [hashes.slice(i, i + LIVE_TOKENS_BATCH)],
      );
      for (const row of rows) live.set(row.token_hash.toString('base64'), { tenantId: row.tenant_id, role: row.role });
    }
    return live;
  }

  private async lookup(hash: Buffer, key: string): Promise<KnownToken | null> {
    const ticket = this.invalidations.ticket();
    // Revoked rows are read too, only to tell a revoked token's use (a security event) from an unknown one's.
    const rows: { id: string; tenant_id: string; role: 'ADMIN' | 'VIEWER'; name: string; last_used_at: Date | null; revoked: boolean }[] =
      await this.db.query('SELECT id, tenant_id, role, name, last_used_at, revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE token_hash = $1', [
        hash,
      ]);
    const row = rows[0];
    if (!row) return null;
    if (row.revoked) {
      this.onRevokedUse({ id: row.id, tenantId: row.tenant_id });
      return null;
    }
    const known: KnownToken = {
      actor: Object.freeze({ type: 'API_TOKEN', id: row.id, tenantId: row.tenant_id, role: row.role, name: row.name }),
      lastUsedAt: row.last_used_at?.getTime() ?? null,
    };
    this.known.set(ticket, key, row.tenant_id, known);
    return known;
  }

  /** last_used_at at minute resolution, off the request path: a write per request would cost more than it tells. */
  private touch(known: KnownToken): void {
    const now = Date.now();
    if (known.lastUsedAt !== null && now - known.lastUsedAt < LAST_USED_RESOLUTION_MS) return;
    known.lastUsedAt = now;
    this.db.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [known.actor.id]).catch(this.onError);
  }
}
