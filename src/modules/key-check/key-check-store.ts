import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import { TAKE_SCRIPT } from './gcra';
import { redisTargetOf, type RedisClient } from '../../queue/connection';
import { createKeyCheckRedis } from './key-check-redis';

/** One two-bucket take (see gcra.ts): allowed, ms to wait, refusals of this tenant+token in the window. */
export interface TakeReply {
  allowed: boolean;
  waitMs: number;
  refused: number;
}
export interface TakeArgs {
  keys: Record<'tenant' | 'token' | 'refused', string>;
  tenant: { interval: number; tolerance: number };
  token: { interval: number; tolerance: number };
  windowMs: number;
}

/**
 * Where key-check limits and the key-test cache are shared by every API process: Redis (a Lua
 * script, TAKE_SCRIPT) or PostgreSQL (the same step as a function, migration KeyCheckStore), per
 * QUEUE_BACKEND. Either may fail: the limiter then counts in memory and the cache misses.
 */
export interface KeyCheckStore {
  take(args: TakeArgs): Promise<TakeReply>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Waits up to `ms` for the store to answer, so the first checks after start-up are shared. */
  ready(ms: number): Promise<void>;
  close(): Promise<void>;
}

type TakeRaw = [number, number, number];
type LimiterRedis = RedisClient & {
  keyplaneKeyCheckTake(tenantKey: string, tokenKey: string, refusedKey: string, ...args: (string | number)[]): Promise<TakeRaw>;
};

export function redisKeyCheckStore(redis: RedisClient): KeyCheckStore {
  const r = redis as LimiterRedis;
  r.defineCommand('keyplaneKeyCheckTake', { numberOfKeys: 3, lua: TAKE_SCRIPT });
  return {
    async take({ keys, tenant, token, windowMs }) {
      const [allowed, waitMs, refused] = await r.keyplaneKeyCheckTake(
        keys.tenant,
        keys.token,
        keys.refused,
        tenant.interval,
        tenant.tolerance,
        token.interval,
        token.tolerance,
        windowMs,
      );
      return { allowed: allowed === 1, waitMs, refused };
    },
    get: (key) => r.get(key),
    async set(key, value, ttlMs) {
      await r.set(key, value, 'PX', ttlMs);
    },
    async ready(ms) {
      if (r.status === 'ready') return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          r.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        r.once('ready', done);
      });
    },
    async close() {
      r.disconnect();
    },
  };
}

/** On the API's own DataSource: with PostgreSQL down the API cannot serve anyway. */
export function pgKeyCheckStore(db: Pick<DataSource, 'query'>): KeyCheckStore {
  return {
    async take({ keys, tenant, token, windowMs }) {
      const [row]: { allowed: boolean; wait_ms: number; refused: number }[] = await db.query(
        'SELECT allowed, wait_ms, refused FROM keyplane_key_check_take($1, $2, $3, $4, $5, $6, $7, $8)',
        [keys.tenant, keys.token, keys.refused, tenant.interval, tenant.tolerance, token.interval, token.tolerance, windowMs],
      );
      return { allowed: row.allowed, waitMs: Number(row.wait_ms), refused: row.refused };
    },
    async get(key) {
      const rows: { value: unknown }[] = await db.query('SELECT value FROM key_test_cache WHERE key = $1 AND expires_at > now()', [key]);
      return rows[0] ? JSON.stringify(rows[0].value) : null;
    },
    async set(key, value, ttlMs) {
      await db.query(
        `INSERT INTO key_test_cache (key, value, expires_at) VALUES ($1, $2::jsonb, now() + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
        [key, value, ttlMs],
      );
      // Expired entries go now and then, from the writes themselves (no sweeper to run).
      if (Math.random() < 0.01) await db.query(`DELETE FROM key_test_cache WHERE expires_at < now()`);
    },
    async ready() {},
    async close() {},
  };
}

/** The store on the queue backend's engine (QUEUE_BACKEND): no Redis connection on postgres. */
export function createKeyCheckStore(
  config: Pick<Config, 'queue' | 'redisUrl'> & Partial<Pick<Config, 'redisCluster'>>,
  db: Pick<DataSource, 'query'>,
): KeyCheckStore {
  return config.queue.backend === 'postgres' ? pgKeyCheckStore(db) : redisKeyCheckStore(createKeyCheckRedis(redisTargetOf(config)));
}
