import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import { connectRedis, redisTargetOf, type RedisClient, type RedisTarget } from '../../queue/connection';
import { ACQUIRE_SCRIPT, LEAVE_SCRIPT, RELEASE_SCRIPT, REPORT_SCRIPT, WAIT_SCRIPT } from './slot-scripts';
import {
  afterOutcome,
  decide,
  waitersKey,
  type AcquireReply,
  type CircuitState,
  type Holders,
  type Refusal,
  type SlotKeys,
  type SlotLimits,
} from './slots';

export interface AcquireArgs {
  keys: SlotKeys;
  holder: string;
  limits: SlotLimits;
  leaseMs: number;
  backoffAfter: number;
}
export interface WaitArgs {
  /** The semaphore that refused (slots.ts refusingKey). */
  key: string;
  /** Its maximum: should it have room by now, the oldest waiters are handed back to be woken. */
  limit: number;
  holder: string;
  /** Waiters older than this are dropped: their put-back timer fired already. */
  maxWaitMs: number;
}
export interface ReportArgs {
  circuit: string;
  unreachable: boolean;
  backoffAfter: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Where the slots and circuits of every worker process are shared: Redis (slot-scripts.ts) or
 * PostgreSQL (functions of migration OutboundSlots), per QUEUE_BACKEND, as the key-check store.
 */
export interface SlotStore {
  acquire(args: AcquireArgs): Promise<AcquireReply>;
  /** Records a put-back job as waiting on a semaphore; returns holders to wake (it may have room by now). */
  wait(args: WaitArgs): Promise<string[]>;
  /** Frees the holder's slots; returns the oldest waiter of each freed semaphore, to be woken. */
  release(keys: SlotKeys, holder: string, maxWaitMs: number): Promise<string[]>;
  /** Returns whether this report opened the circuit (a new backoff window). */
  report(args: ReportArgs): Promise<boolean>;
  /** The end of a call: `report`, then `release`, in one round trip. */
  leave(keys: SlotKeys, holder: string, maxWaitMs: number, outcome: ReportArgs): Promise<{ opened: boolean; woken: string[] }>;
  close(): Promise<void>;
}

const slotKeyList = (k: SlotKeys) => [k.tenant, k.destination, k.tenantDestination];
const waiterKeyList = (k: SlotKeys) => slotKeyList(k).map(waitersKey);

type SlotRedis = RedisClient & {
  keyplaneOutboundAcquire(...args: (string | number)[]): Promise<[number, string, number]>;
  keyplaneOutboundWait(...args: (string | number)[]): Promise<string[]>;
  keyplaneOutboundRelease(...args: (string | number)[]): Promise<string[]>;
  keyplaneOutboundReport(key: string, ...args: (string | number)[]): Promise<number>;
  keyplaneOutboundLeave(...args: (string | number)[]): Promise<[number, ...string[]]>;
};

export function redisSlotStore(redis: RedisClient): SlotStore {
  const r = redis as SlotRedis;
  r.defineCommand('keyplaneOutboundAcquire', { numberOfKeys: 7, lua: ACQUIRE_SCRIPT });
  r.defineCommand('keyplaneOutboundWait', { numberOfKeys: 2, lua: WAIT_SCRIPT });
  r.defineCommand('keyplaneOutboundRelease', { numberOfKeys: 6, lua: RELEASE_SCRIPT });
  r.defineCommand('keyplaneOutboundReport', { numberOfKeys: 1, lua: REPORT_SCRIPT });
  r.defineCommand('keyplaneOutboundLeave', { numberOfKeys: 7, lua: LEAVE_SCRIPT });
  return {
    async acquire({ keys, holder, limits, leaseMs, backoffAfter }) {
      await connected(r, 1_000);
      const [granted, reason, retryInMs] = await r.keyplaneOutboundAcquire(
        ...slotKeyList(keys),
        keys.circuit,
        ...waiterKeyList(keys),
        holder,
        limits.tenant,
        limits.destination,
        limits.tenantDestination,
        Math.ceil(leaseMs),
        backoffAfter,
      );
      return granted === 1 ? { granted: true } : { granted: false, reason: reason as Refusal, retryInMs: Number(retryInMs) };
    },
    async wait({ key, limit, holder, maxWaitMs }) {
      return r.keyplaneOutboundWait(key, waitersKey(key), holder, limit, Math.ceil(maxWaitMs));
    },
    async release(keys, holder, maxWaitMs) {
      return r.keyplaneOutboundRelease(...slotKeyList(keys), ...waiterKeyList(keys), holder, Math.ceil(maxWaitMs));
    },
    async report(a) {
      const failures = await r.keyplaneOutboundReport(a.circuit, a.unreachable ? 1 : 0, a.backoffAfter, a.backoffBaseMs, a.backoffMaxMs);
      return failures >= a.backoffAfter;
    },
    async leave(keys, holder, maxWaitMs, a) {
      const [failures, ...woken] = await r.keyplaneOutboundLeave(
        ...slotKeyList(keys),
        ...waiterKeyList(keys),
        a.circuit,
        holder,
        Math.ceil(maxWaitMs),
        a.unreachable ? 1 : 0,
        a.backoffAfter,
        a.backoffBaseMs,
        a.backoffMaxMs,
      );
      return { opened: failures >= a.backoffAfter, woken };
    },
    async close() {
      if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
      else r.disconnect();
    },
  };
}

/** Right after start-up the connection may not be up yet: the first takes wait a moment for it. */
async function connected(r: RedisClient, ms: number): Promise<void> {
  if (r.status !== 'connecting' && r.status !== 'connect' && r.status !== 'wait') return;
  if (r.status === 'wait') void r.connect().catch(() => undefined);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      r.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    r.once('ready', done);
  });
}

/**
 * On the worker's own DataSource: on this backend the jobs are in the same PostgreSQL, so a
 * store that is down means no job runs anyway.
 */
export function pgSlotStore(db: Pick<DataSource, 'query'>): SlotStore {
  return {
    async acquire({ keys, holder, limits, leaseMs, backoffAfter }) {
      // One statement (so one transaction: the function's advisory locks still held): a granted
      // holder leaves every waiter set, as in the Redis script.
      const [row]: { granted: boolean; reason: Refusal | null; retry_ms: number }[] = await db.query(
        `WITH a AS MATERIALIZED (SELECT granted, reason, retry_ms FROM keyplane_outbound_acquire($1, $2, $3, $4, $5, $6)),
              w AS (DELETE FROM outbound_waiters WHERE key = ANY($1) AND holder = $3 AND (SELECT granted FROM a))
         SELECT granted, reason, retry_ms FROM a`,
        [slotKeyList(keys), [limits.tenant, limits.destination, limits.tenantDestination], holder, keys.circuit, leaseMs, backoffAfter],
      );
      return row.granted ? { granted: true } : { granted: false, reason: row.reason!, retryInMs: Math.max(0, Number(row.retry_ms)) };
    },
    async wait({ key, limit, holder, maxWaitMs }) {
      const rows: { holder: string }[] = await db.query('SELECT holder FROM keyplane_outbound_wait($1, $2, $3, $4) AS holder', [
        key,
        limit,
        holder,
        maxWaitMs,
      ]);
      return rows.map((r) => r.holder);
    },
    async release(keys, holder, maxWaitMs) {
      const rows: { holder: string }[] = await db.query('SELECT holder FROM keyplane_outbound_release($1, $2, $3) AS holder', [
        slotKeyList(keys),
        holder,
        maxWaitMs,
      ]);
      return rows.map((r) => r.holder);
    },
    async report(a) {
      const [row]: { opened: boolean }[] = await db.query('SELECT keyplane_outbound_report($1, $2, $3, $4, $5) AS opened', [
        a.circuit,
        a.unreachable,
        a.backoffAfter,
        a.backoffBaseMs,
        a.backoffMaxMs,
      ]);
      return row?.opened === true;
    },
    async leave(keys, holder, maxWaitMs, a) {
      // One statement: the report, then the release (the order of the Redis script).
      const [row]: { opened: boolean; woken: string[] }[] = await db.query(
        `WITH r AS MATERIALIZED (SELECT keyplane_outbound_report($4, $5, $6, $7, $8) AS opened)
         SELECT (SELECT opened FROM r) AS opened,
                ARRAY(SELECT h FROM r, keyplane_outbound_release($1, $2, $3) AS h) AS woken`,
        [slotKeyList(keys), holder, maxWaitMs, a.circuit, a.unreachable, a.backoffAfter, a.backoffBaseMs, a.backoffMaxMs],
      );
      return { opened: row.opened === true, woken: row.woken ?? [] };
    },
    async close() {},
  };
}

/** In one process only: the reference the shared stores follow, for unit tests. */
export class MemorySlots implements SlotStore {
  private readonly sets = new Map<string, Holders>();
  private readonly circuits = new Map<string, CircuitState>();
  /** Waiter set key -> holder -> since (Map keeps insertion order: oldest first). */
  private readonly waiters = new Map<string, Map<string, number>>();
  constructor(
    private readonly now: () => number = Date.now,
    private readonly settings = { backoffBaseMs: 0, backoffMaxMs: 0 },
  ) {}

  private set(key: string): Holders {
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Map()));
    return set;
  }

  async acquire({ keys, holder, limits, leaseMs, backoffAfter }: AcquireArgs): Promise<AcquireReply> {
    const sets = slotKeyList(keys).map((k) => this.set(k)) as [Holders, Holders, Holders];
    const reply = decide(sets, this.circuit(keys.circuit), holder, limits, backoffAfter, leaseMs, this.now());
    if (reply.granted) for (const w of waiterKeyList(keys)) this.waiters.get(w)?.delete(holder);
    return reply;
  }

  async wait({ key, limit, holder, maxWaitMs }: WaitArgs): Promise<string[]> {
    const w = this.waitSet(waitersKey(key), maxWaitMs);
    if (!w.has(holder)) w.set(holder, this.now());
    const set = this.set(key);
    for (const [h, until] of set) if (until <= this.now()) set.delete(h);
    return this.pop(w, limit - set.size);
  }

  async release(keys: SlotKeys, holder: string, maxWaitMs: number): Promise<string[]> {
    const woken: string[] = [];
    for (const k of slotKeyList(keys)) {
      if (this.sets.get(k)?.delete(holder)) woken.push(...this.pop(this.waitSet(waitersKey(k), maxWaitMs), 1));
    }
    return woken;
  }

  async report(a: ReportArgs): Promise<boolean> {
    const before = this.circuit(a.circuit);
    const after = afterOutcome(before, a.unreachable, this.now(), a);
    this.circuits.set(a.circuit, after);
    return after.openUntil > 0 && after !== before;
  }

  async leave(keys: SlotKeys, holder: string, maxWaitMs: number, a: ReportArgs): Promise<{ opened: boolean; woken: string[] }> {
    const opened = await this.report(a);
    return { opened, woken: await this.release(keys, holder, maxWaitMs) };
  }

  waiting(key: string): string[] {
    return [...(this.waiters.get(waitersKey(key))?.keys() ?? [])];
  }

  private waitSet(key: string, maxWaitMs: number): Map<string, number> {
    let w = this.waiters.get(key);
    if (!w) this.waiters.set(key, (w = new Map()));
    for (const [h, since] of w) if (since <= this.now() - maxWaitMs) w.delete(h);
    return w;
  }

  private pop(w: Map<string, number>, n: number): string[] {
    const out = [...w.keys()].slice(0, Math.max(0, n));
    for (const h of out) w.delete(h);
    return out;
  }

  circuit(key: string): CircuitState {
    return this.circuits.get(key) ?? { failures: 0, openUntil: 0 };
  }

  holders(key: string): string[] {
    return [...(this.sets.get(key)?.keys() ?? [])];
  }

  async close(): Promise<void> {}
}

/**
 * The worker's connection for slots: it fails fast instead of queueing while Redis is away (no
 * offline queue, one retry, a short command timeout), because the gate then lets calls through
 * unmetered rather than hold every job (outbound-gate.ts).
 */
function createSlotRedis(target: RedisTarget): RedisClient {
  const redis = connectRedis(target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectionName: 'keyplane-outbound-slots',
  });
  // Errors surface on the commands; the gate logs them, once a minute.
  redis.on('error', () => undefined);
  return redis;
}

/** The store on the queue backend's engine (QUEUE_BACKEND): no Redis connection on postgres. */
export function createSlotStore(
  config: Pick<Config, 'queue' | 'redisUrl'> & Partial<Pick<Config, 'redisCluster'>>,
  db: Pick<DataSource, 'query'>,
): SlotStore {
  return config.queue.backend === 'postgres' ? pgSlotStore(db) : redisSlotStore(createSlotRedis(redisTargetOf(config)));
}
