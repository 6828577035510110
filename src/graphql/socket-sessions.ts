import type { InvalidationScope, Invalidations } from '../db/invalidations';
import type { AuthService } from '../modules/auth/auth.service';
import type { TenantRole } from '../modules/token/token.entity';

/**
 * Close codes of a subscription socket whose token changed (README, "Live updates"):
 * - 4401: the token was revoked or deleted, or its tenant deleted. graphql-ws clients treat it as
 *   fatal and do not reconnect: a new token is needed.
 * - 4403: the token's role or tenant changed. graphql-ws clients reconnect, and the new connection
 *   runs under what the token is now.
 */
export const CLOSE_TOKEN_REVOKED = { code: 4401, reason: 'Token revoked' } as const;
export const CLOSE_TOKEN_CHANGED = { code: 4403, reason: 'Token changed' } as const;

/** The backstop re-check of every open socket's token, for a notification that was never heard. */
export const RECHECK_INTERVAL_MS = 15_000;

export interface TokenSession {
  /** SHA-256 of the bearer token (never the token). */
  tokenHash: Buffer;
  tenantId: string;
  role: TenantRole;
  close(code: number, reason: string): void;
}

interface Log {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
}

/**
 * The tenant tokens behind this process's open WebSockets, re-checked against PostgreSQL whenever
 * the invalidation listener reports a change to the tenant (any token change notifies, see
 * migrations/…-cache-invalidation.ts) and every RECHECK_INTERVAL_MS in any case. One query per
 * round for all affected sockets, never one per socket; notifications that arrive during a round
 * are folded into the next one.
 */
export class TokenSessions {
  private readonly byTenant = new Map<string, Set<TokenSession>>();
  /** Tenants to re-check in the next round; '*' means every session. */
  private pending = new Set<InvalidationScope>();
  private running: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly auth: Pick<AuthService, 'liveTokens'>,
    private readonly invalidations: Invalidations,
    private readonly log: Log,
    recheckMs = RECHECK_INTERVAL_MS,
  ) {
    this.unsubscribe = invalidations.onInvalidate((scope) => this.recheck(scope));
    this.timer = setInterval(() => this.recheck('*'), recheckMs);
    this.timer.unref();
  }

  /** Take before authenticating the socket; pass to add() so a change in between is not missed. */
  ticket(): number | null {
    return this.invalidations.ticket();
  }

  /** Tracks a socket until the returned function is called (when it closes). */
  add(session: TokenSession, ticket: number | null): () => void {
    let sessions = this.byTenant.get(session.tenantId);
    if (!sessions) this.byTenant.set(session.tenantId, (sessions = new Set()));
    sessions.add(session);
    // A revocation committed while this socket authenticated may have been handled before it was tracked.
    if (!this.invalidations.unchangedSince(ticket)) this.recheck(session.tenantId);
    return () => {
      sessions.delete(session);
      if (sessions.size === 0 && this.byTenant.get(session.tenantId) === sessions) this.byTenant.delete(session.tenantId);
    };
  }

  get size(): number {
    let n = 0;
    for (const sessions of this.byTenant.values()) n += sessions.size;
    return n;
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  private recheck(scope: InvalidationScope): void {
    if (scope !== '*' && !this.byTenant.has(scope)) return;
    this.pending.add(scope);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const scopes = this.pending;
      this.pending = new Set();
      const sessions = scopes.has('*')
        ? [...this.byTenant.values()].flatMap((s) => [...s])
        : [...scopes].flatMap((t) => [...(this.byTenant.get(t) ?? [])]);
      if (sessions.length === 0) continue;
      try {
        await this.verify(sessions);
      } catch (error) {
        // Kept open and checked again on the next notification or tick; a pg error carries no parameters.
        const err = error instanceof Error ? { name: error.name, message: error.message } : undefined;
        this.log.warn({ err, sockets: sessions.length }, 'could not re-check the tokens of open websockets');
      }
    }
  }

  private async verify(sessions: TokenSession[]): Promise<void> {
    const hashes = [...new Map(sessions.map((s) => [s.tokenHash.toString('base64'), s.tokenHash])).values()];
    const live = await this.auth.liveTokens(hashes);
    let closed = 0;
    for (const session of sessions) {
      const now = live.get(session.tokenHash.toString('base64'));
      const close = !now ? CLOSE_TOKEN_REVOKED : now.tenantId !== session.tenantId || now.role !== session.role ? CLOSE_TOKEN_CHANGED : null;
      if (!close) continue;
      closed++;
      session.close(close.code, close.reason);
    }
    if (closed > 0) this.log.info({ sockets: closed }, 'closed websockets whose token was revoked or changed');
  }
}
