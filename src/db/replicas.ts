import { performance } from 'node:perf_hooks';
import { Pool, type PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { DatabaseReplicaSettings } from '../config';
import { currentReplica, type ReplicaTarget } from './read-scope';
import { freshAsOf, parseLsn, replicaMetrics, type ReplicaMetrics, type Sample } from './replica-measure';

export type FallbackReason = 'down' | 'lag' | 'recent_write' | 'listener';

interface Log {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
}

class Replica implements ReplicaTarget {
  up = false;
  /** Whether any probe has told up from down yet (the first verdict is logged either way). */
  judged = false;
  /** Every primary commit before this (performance.now() time) is on the replica. */
  freshAt = Number.NEGATIVE_INFINITY;
  constructor(
    readonly name: string,
    readonly pool: Pool,
  ) {}
}

/**
 * Read replicas for the API's read-only GraphQL queries (docs/scale.md "PostgreSQL read replicas").
 *
 * How fresh a replica is, is measured, not assumed: every probe reads the primary's WAL insert
 * position (taking the time first), then each replica's replay position. A replica that has
 * replayed a position the primary had reached at time t holds every commit made before t; its
 * staleness at any later moment is at most `now - t`, which keeps growing when probes stop
 * (a hung replica, a lost primary), so silence never looks fresh. A replica serves a read only when
 *  - that staleness is within DATABASE_REPLICA_MAX_LAG_MS, and
 *  - t is after the last write this process knows of for the caller's tenant (its own mutations,
 *    any process's mutations announced on the primary, the tenant's change notifications), so a
 *    client always reads its own writes, whichever process it reached.
 * Otherwise the read goes to the primary and keyplane_db_replica_fallback_total says why.
 *
 * TypeORM's replication mode carries the reads: the DataSource has `replication` with
 * defaultMode 'master', and only a request the router put on a replica (readScope) makes its
 * SELECT query builders ask for a 'slave' connection, which the router hands out. The replica pools
 * are the router's own because TypeORM connects its slave pools eagerly at initialize (one replica
 * down would stop the API starting) and picks among them at random, blind to lag.
 */
export class ReplicaRouter {
  readonly metrics: ReplicaMetrics;
  private readonly replicas: Replica[];
  private readonly primary: Pool;
  private samples: Sample[] = [];
  /** Last write heard per tenant (performance.now()); '*': a write that may touch any tenant. */
  private readonly writes = new Map<string, number>();
  private globalWrite = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private closed = false;
  private readonly probeTimeoutMs: number;

  constructor(
    primaryUrl: string,
    private readonly settings: DatabaseReplicaSettings,
    private readonly log: Log,
    poolSize: number,
    /** Whether writes from other processes can be heard (the invalidation listener is connected). */
    private readonly hearing: () => boolean,
  ) {
    const probeTimeout = (this.probeTimeoutMs = Math.max(1000, settings.probeIntervalMs * 2));
    this.primary = new Pool({
      connectionString: primaryUrl,
      max: 1,
      application_name: 'keyplane-replica-probe',
      connectionTimeoutMillis: probeTimeout,
      query_timeout: probeTimeout,
    });
    this.primary.on('error', () => {});
    // Replicas are named by their position in DATABASE_REPLICA_URLS: never by host in logs or labels.
    this.replicas = settings.urls.map((url, i) => {
      const pool = new Pool({ connectionString: url, max: poolSize, application_name: 'keyplane-api-replica', connectionTimeoutMillis: 2000 });
      pool.on('error', () => this.markDown(this.replicas[i], 'connection error'));
      return new Replica(String(i), pool);
    });
    this.metrics = replicaMetrics();
  }

  /** Makes the DataSource's query builders read through this router (see the class comment). */
  attach(db: DataSource): void {
    db.defaultReplicationModeForReads = () => (currentReplica() ? 'slave' : 'master');
    const driver = db.driver as unknown as {
      obtainMasterConnection(): Promise<[PoolClient, (err?: unknown) => void]>;
      obtainSlaveConnection(): Promise<[PoolClient, (err?: unknown) => void]>;
    };
    driver.obtainSlaveConnection = async () => {
      const target = this.replicas.find((r) => r === currentReplica());
      if (!target) return driver.obtainMasterConnection();
      try {
        const client = await target.pool.connect();
        return [client, (err?: unknown) => client.release(err instanceof Error ? err : undefined)];
      } catch (error) {
        // Went away since the last probe: this read, and the next ones until a probe finds it, use the primary.
        this.markDown(target, (error as { code?: string }).code ?? 'connect failed');
        this.metrics.fallbacks.labels('down').inc();
        return driver.obtainMasterConnection();
      }
    };
  }

  start(): void {
    const tick = () => {
      if (this.closed) return;
      this.probing = this.probe().finally(() => {
        this.probing = null;
        if (!this.closed) this.timer = setTimeout(tick, this.settings.probeIntervalMs).unref();
      });
    };
    tick();
  }

  /** Resolves after one more full probe (tests, and callers that just changed a replica's state). */
  async probeNow(): Promise<void> {
    await this.probing;
    await this.probe();
  }

  /** A write for this tenant ('*': any tenant) committed before now: its reads wait for replicas to pass it. */
  noteWrite(key: string): void {
    const now = performance.now();
    if (key === '*') this.globalWrite = now;
    else this.writes.set(key, now);
    // Writes older than the lag bound no longer decide anything: a replica fresh enough to be used is past them.
    if (this.writes.size > 10_000) this.pruneWrites(now);
  }

  /**
   * The replica a query for `key` (a tenant id, or '*' for the platform) may read from, or null
   * with the reason counted. Called once per query operation.
   */
  route(key: string): ReplicaTarget | null {
    const reason = this.refusal(key);
    if (typeof reason === 'string') {
      this.metrics.fallbacks.labels(reason).inc();
      this.metrics.reads.labels('primary').inc();
      return null;
    }
    this.metrics.reads.labels('replica').inc();
    return reason;
  }

  private refusal(key: string): Replica | FallbackReason {
    if (!this.hearing()) return 'listener';
    const now = performance.now();
    const up = this.replicas.filter((r) => r.up);
    if (up.length === 0) return 'down';
    const current = up.filter((r) => now - r.freshAt <= this.settings.maxLagMs);
    if (current.length === 0) return 'lag';
    const mustHave = Math.max(this.globalWrite, key === '*' ? Number.NEGATIVE_INFINITY : (this.writes.get(key) ?? Number.NEGATIVE_INFINITY));
    const fresh = current.filter((r) => r.freshAt > mustHave);
    if (fresh.length === 0) return 'recent_write';
    return fresh[Math.floor(Math.random() * fresh.length)];
  }

  /** Replica states for /readyz's body (never a reason to be unready: the primary serves instead). */
  status(): Record<string, 'ok' | 'lagging' | 'down'> {
    const now = performance.now();
    return Object.fromEntries(
      this.replicas.map((r) => [`replica-${r.name}`, !r.up ? 'down' : now - r.freshAt <= this.settings.maxLagMs ? 'ok' : 'lagging']),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.probing;
    await Promise.all([this.primary.end().catch(() => {}), ...this.replicas.map((r) => r.pool.end().catch(() => {}))]);
  }

  private async probe(): Promise<void> {
    const at = performance.now();
    try {
      const { rows } = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      this.samples.push({ at, lsn: parseLsn(rows[0].lsn) });
    } catch {
      // No sample: replicas cannot be shown fresher than before, so their measured lag grows.
    }
    // Keep what can still matter: samples within the bound (and one before it), and always the newest.
    const horizon = at - 2 * this.settings.maxLagMs;
    while (this.samples.length > 1 && this.samples[1].at < horizon) this.samples.shift();
    await Promise.all(this.replicas.map((r) => this.probeReplica(r)));
  }

  private async probeReplica(replica: Replica): Promise<void> {
    let row: { standby: boolean; lsn: string | null };
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a replica that hangs must not hold up the probes of the primary and the others.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('probe timed out'), { code: 'ETIMEDOUT' })), this.probeTimeoutMs);
      });
      const result = await Promise.race([
        replica.pool.query<{ standby: boolean; lsn: string | null }>('SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn'),
        timeout,
      ]);
      row = result.rows[0];
    } catch (error) {
      this.markDown(replica, (error as { code?: string }).code ?? 'probe failed');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (!row.standby || row.lsn === null) {
      // A promoted or wrongly named server: what it holds may not be the primary's history.
      this.markDown(replica, 'not a standby (pg_is_in_recovery() is false)');
      return;
    }
    const fresh = freshAsOf(this.samples, parseLsn(row.lsn));
    if (fresh !== null && fresh > replica.freshAt) replica.freshAt = fresh;
    if (!replica.up) this.log.info({ replica: replica.name }, 'database replica reachable');
    replica.up = true;
    replica.judged = true;
    this.metrics.up.labels(replica.name).set(1);
    this.metrics.lag.labels(replica.name).set(Number.isFinite(replica.freshAt) ? (performance.now() - replica.freshAt) / 1000 : -1);
  }

  private markDown(replica: Replica | undefined, why: string): void {
    if (!replica) return;
    if (replica.up || !replica.judged) {
      this.log.warn({ replica: replica.name, reason: why }, 'database replica unreachable; its reads go to the primary');
    }
    replica.up = false;
    replica.judged = true;
    this.metrics.up.labels(replica.name).set(0);
  }

  private pruneWrites(now: number): void {
    for (const [key, at] of this.writes) if (now - at > this.settings.maxLagMs) this.writes.delete(key);
  }
}
