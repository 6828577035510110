import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import { connectRedis, redisTargetOf, type RedisClient, type RedisTarget } from '../../queue/connection';
import { ACQUIRE_SCRIPT, RELEASE_SCRIPT, REPORT_SCRIPT } from './slot-scripts';
import { afterOutcome, decide, type AcquireReply, type CircuitState, type Holders, type Refusal, type SlotKeys, type SlotLimits } from './slots';

export interface AcquireArgs {
  keys: SlotKeys;
  holder: string;
  limits: SlotLimits;
  leaseMs: number;
  backoffAfter: number;
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
  release(keys: SlotKeys, holder: string): Promise<void>;
  report(args: ReportArgs): Promise<void>;
  close(): Promise<void>;
}

const slotKeyList = (k: SlotKeys) => [k.tenant, k.destination, k.tenantDestination];

type SlotRedis = RedisClient & {
  keyplaneOutboundAcquire(...args: (string | number)[]): Promise<[number, string, number]>;
  keyplaneOutboundRelease(...args: string[]): Promise<number>;
  keyplaneOutboundReport(key: string, ...args: (string | number)[]): Promise<number>;
};

export function redisSlotStore(redis: RedisClient): SlotStore {
  const r = redis as SlotRedis;
  r.defineCommand('keyplaneOutboundAcquire', { numberOfKeys: 4, lua: ACQUIRE_SCRIPT });
  r.defineCommand('keyplaneOutboundRelease', { numberOfKeys: 3, lua: RELEASE_SCRIPT });
  r.defineCommand('keyplaneOutboundReport', { numberOfKeys: 1, lua: REPORT_SCRIPT });
  return {
    async acquire({ keys, holder, limits, leaseMs, backoffAfter }) {
      await connected(r, 1_000);
      const [granted, reason, retryInMs] = await r.keyplaneOutboundAcquire(
        ...slotKeyList(keys),
        keys.circuit,
        holder,
        limits.tenant,
        limits.destination,
        limits.tenantDestination,
        Math.ceil(leaseMs),
        backoffAfter,
      );
      return granted === 1 ? { granted: true } : { granted: false, reason: reason as Refusal, retryInMs: Number(retryInMs) };
    },
    async release(keys, holder) {
      await r.keyplaneOutboundRelease(...slotKeyList(keys), holder);
    },
    async report(a) {
      await r.keyplaneOutboundReport(a.circuit, a.unreachable ? 1 : 0, a.backoffAfter, a.backoffBaseMs, a.backoffMaxMs);
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
      const [row]: { granted: boolean; reason: Refusal | null; retry_ms: number }[] = await db.query(
        'SELECT granted, reason, retry_ms FROM keyplane_outbound_acquire($1, $2, $3, $4, $5, $6)',
        [slotKeyList(keys), [limits.tenant, limits.destination, limits.tenantDestination], holder, keys.circuit, leaseMs, backoffAfter],
      );
      return row.granted ? { granted: true } : { granted: false, reason: row.reason!, retryInMs: Math.max(0, Number(row.retry_ms)) };
    },
    async release(keys, holder) {
      await db.query('DELETE FROM outbound_slots WHERE key = ANY($1) AND holder = $2', [slotKeyList(keys), holder]);
    },
    async report(a) {
      await db.query('SELECT keyplane_outbound_report($1, $2, $3, $4, $5)', [
        a.circuit,
        a.unreachable,
        a.backoffAfter,
        a.backoffBaseMs,
        a.backoffMaxMs,
      ]);
    },
    async close() {},
  };
}

/** In one process only: the reference the shared stores follow, for unit tests. */
export class MemorySlots implements SlotStore {
  private readonly sets = new Map<string, Holders>();
  private readonly circuits = new Map<string, CircuitState>();
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
    return decide(sets, this.circuit(keys.circuit), holder, limits, backoffAfter, leaseMs, this.now());
  }

  async release(keys: SlotKeys, holder: string): Promise<void> {
    for (const k of slotKeyList(keys)) this.sets.get(k)?.delete(holder);
  }

  async report(a: ReportArgs): Promise<void> {
    this.circuits.set(a.circuit, afterOutcome(this.circuit(a.circuit), a.unreachable, this.now(), a));
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
