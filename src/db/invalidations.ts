import { Client } from 'pg';

/** The channel the invalidation triggers notify on (migrations/…-cache-invalidation.ts). */
export const INVALIDATE_CHANNEL = 'keyplane_invalidate';
/**
 * Announced writes: the API NOTIFYs a tenant id here after each mutation when read replicas are
 * configured, so every process sends that tenant's next reads to the primary until its replicas
 * have replayed past it (src/db/replicas.ts). Not a cache invalidation: caches stay.
 */
export const WRITES_CHANNEL = 'keyplane_writes';
/** A tenant id, or '*' for everything (platform-wide tables, TRUNCATE, a lost listener). */
export type InvalidationScope = string;

const RECONNECT_MS = 1000;

interface Log {
  warn(details: Record<string, unknown>, message: string): void;
}

/**
 * Hears PostgreSQL's change notifications on one dedicated connection and tells the read caches.
 *
 * The rules that keep a cache from ever serving what the database no longer says:
 * - Nothing is cached or served from cache unless the listener is connected. When it drops,
 *   everything is dropped and every request goes to the database until it is back.
 * - A read takes a ticket before it queries. Its result is stored only if nothing at all was
 *   invalidated in between (a global generation), so a read that raced a change is never kept.
 * - After a mutation, `sync()` waits until every notification committed before it has been
 *   heard: the process that made a change never serves the state before it. Other API processes
 *   hear it within the notification latency (about a millisecond on one host).
 */
export class Invalidations {
  private client: Client | null = null;
  private connected = false;
  private generation = 0;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private readonly handlers = new Set<(scope: InvalidationScope) => void>();
  private readonly writeHandlers = new Set<(key: string) => void>();

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Log,
  ) {}

  /** Connects and listens. A failure is logged and retried: meanwhile nothing is cached. */
  async start(): Promise<void> {
    await this.connect();
  }

  get listening(): boolean {
    return this.connected;
  }

  /** Take before a read whose result may be cached; null while not listening. */
  ticket(): number | null {
    return this.connected ? this.generation : null;
  }

  /** The read that took `ticket` may be cached: still listening, and nothing changed since. */
  unchangedSince(ticket: number | null): boolean {
    return ticket !== null && this.connected && ticket === this.generation;
  }

  onInvalidate(handler: (scope: InvalidationScope) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Hears announced writes (announceWrite, from any process): a tenant id or '*'. */
  onWrite(handler: (key: string) => void): () => void {
    this.writeHandlers.add(handler);
    return () => this.writeHandlers.delete(handler);
  }

  /**
   * Tells every listening process (this one included) that `key` (a tenant id, '*': any tenant)
   * has just committed a write. Also a round trip on the listener connection, so it syncs as
   * sync() does. False while not listening: the caller announces another way.
   */
  async announceWrite(key: string): Promise<boolean> {
    if (!this.client || !this.connected) return false;
    try {
      await this.client.query('SELECT pg_notify($1, $2)', [WRITES_CHANNEL, key]);
      return true;
    } catch {
      // The connection is gone: lost() has already stopped this process's replica routing.
      return false;
    }
  }

  /**
   * Resolves once every notification committed before the call has been heard: PostgreSQL sends
   * a listening session its pending notifications before it answers the session's next command.
   */
  sync(): Promise<void> {
    if (!this.client || !this.connected) return Promise.resolve();
    if (!this.inflight) {
      this.inflight = this.roundTrip().finally(() => (this.inflight = null));
      return this.inflight;
    }
    // A round trip already sent may have left before the caller's commit: the caller shares the
    // next one instead (so concurrent mutations cost at most two, not one each).
    this.queued ??= this.inflight.then(() => {
      this.queued = null;
      return this.sync();
    });
    return this.queued;
  }

  private async roundTrip(): Promise<void> {
    try {
      await this.client?.query('SELECT 1');
    } catch {
      // The connection is gone: lost() has already dropped every cache.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.drop();
    if (client) await client.end().catch(() => {});
  }

  private invalidate(scope: InvalidationScope): void {
    this.generation++;
    for (const handler of this.handlers) handler(scope);
  }

  /** Not listening: nothing may be served from or stored in a cache. */
  private drop(): void {
    this.connected = false;
    this.client = null;
    this.invalidate('*');
  }

  private async connect(): Promise<void> {
    this.retry = null;
    if (this.closed) return;
    const client = new Client({ connectionString: this.databaseUrl, application_name: 'keyplane-invalidations' });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === INVALIDATE_CHANNEL) this.invalidate(message.payload || '*');
      else if (message.channel === WRITES_CHANNEL) for (const handler of this.writeHandlers) handler(message.payload || '*');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATE_CHANNEL}; LISTEN ${WRITES_CHANNEL}`);
    } catch (error) {
      client.end().catch(() => {});
      this.lost(client, error);
      return;
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => {});
      return;
    }
    // Changes made while nobody listened were not heard: start from nothing.
    this.invalidate('*');
    this.connected = true;
  }

  private lost(client: Client, error: unknown): void {
    if (this.client !== client) return; // an older connection's late event
    const wasConnected = this.connected;
    this.drop();
    if (this.closed || this.retry) return;
    if (wasConnected || error) {
      // Class and message only: a pg error carries no parameters, but say nothing more than needed.
      const err = error instanceof Error ? { name: error.name, message: error.message } : undefined;
      this.log.warn({ err }, 'cache invalidation listener lost; caches off until it reconnects');
    }
    this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.retry.unref();
  }
}

interface Entry<V> {
  value: V;
  tenantId: string;
  expiresAt: number;
}

/**
 * A bounded map of reads, each tagged with its tenant, dropped when the tenant (or everything) is
 * invalidated, and in any case after `ttlMs`. Keys must not be secrets (use a token's hash).
 */
export class InvalidatedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly byTenant = new Map<string, Set<string>>();

  constructor(
    private readonly bus: Invalidations,
    private readonly options: { maxEntries: number; ttlMs: number },
  ) {
    bus.onInvalidate((scope) => (scope === '*' ? this.clear() : this.dropTenant(scope)));
  }

  get(key: string): V | undefined {
    if (!this.bus.listening) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores what a read returned, unless anything was invalidated since its ticket. */
  set(ticket: number | null, key: string, tenantId: string, value: V, ttlMs = this.options.ttlMs): void {
    if (!this.bus.unchangedSince(ticket) || ttlMs <= 0 || this.options.maxEntries <= 0) return;
    this.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    this.entries.set(key, { value, tenantId, expiresAt: Date.now() + Math.min(ttlMs, this.options.ttlMs) });
    let keys = this.byTenant.get(tenantId);
    if (!keys) this.byTenant.set(tenantId, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const keys = this.byTenant.get(entry.tenantId);
    keys?.delete(key);
    if (keys?.size === 0) this.byTenant.delete(entry.tenantId);
  }

  clear(): void {
    this.entries.clear();
    this.byTenant.clear();
  }

  private dropTenant(tenantId: string): void {
    const keys = this.byTenant.get(tenantId);
    if (!keys) return;
    for (const key of keys) this.entries.delete(key);
    this.byTenant.delete(tenantId);
  }
}
