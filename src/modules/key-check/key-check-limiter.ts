import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { RateLimitedError } from '../../errors';
import { interval, tolerance, TAKE_SCRIPT, type Rate } from './gcra';
import { MemoryBuckets } from './memory-buckets';

/** The operations that make Keyplane ask a provider about a key (now, or through the worker). */
export const KEY_CHECK_KINDS = ['TEST_PROVIDER_KEY', 'CREATE_CREDENTIAL', 'ROTATE_CREDENTIAL', 'REVALIDATE_CREDENTIAL'] as const;
export type KeyCheckKind = (typeof KEY_CHECK_KINDS)[number];

export interface KeyCheckSubject {
  /** null: a platform admin acting outside any tenant (counted in the "platform" bucket). */
  tenantId: string | null;
  /** The API token's id ('platform-admin' for the platform token). */
  tokenId: string;
  kind: KeyCheckKind;
}

/**
 * Called once per repeat window when one token of one tenant has been refused
 * KEY_CHECK_REPEAT_THRESHOLD times: the call point for the security-event module (not written yet).
 */
export type RepeatedLimitHook = (tenantId: string | null, tokenId: string, kind: KeyCheckKind) => void;

type TakeReply = [number, number, number];
interface LimiterRedis extends Redis {
  keyplaneKeyCheckTake(tenantKey: string, tokenKey: string, refusedKey: string, ...args: (string | number)[]): Promise<TakeReply>;
}

export interface KeyCheckLimiterDeps {
  /** A connection that fails fast (no offline queue); null: memory only. */
  redis: Redis | null;
  /** Namespace of every Redis key (config.queue.prefix); ids only after it, never key material. */
  prefix: string;
  limits: Config['keyChecks'];
  log: Pick<Logger, 'warn' | 'info'>;
  onRepeatedLimit: RepeatedLimitHook;
  now?: () => number;
}

/**
 * Per-tenant and per-token limit on key checks, shared by every API process through one Lua
 * script on Redis. When Redis cannot answer, the same buckets run in this process's memory: never
 * unlimited, and a mutation never fails because Redis is down. Counting starts before any work,
 * so malformed or repeated requests count too.
 */
export class KeyCheckLimiter {
  private readonly memory = new MemoryBuckets();
  private readonly tenantRate: Rate;
  private readonly tokenRate: Rate;
  private readonly redis: LimiterRedis | null;
  private degraded = false;

  constructor(private readonly deps: KeyCheckLimiterDeps) {
    this.tenantRate = { limit: deps.limits.tenantLimit, periodMs: deps.limits.periodMs };
    this.tokenRate = { limit: deps.limits.tokenLimit, periodMs: deps.limits.periodMs };
    this.redis = deps.redis as LimiterRedis | null;
    this.redis?.defineCommand('keyplaneKeyCheckTake', { numberOfKeys: 3, lua: TAKE_SCRIPT });
  }

  /** Throws RateLimitedError (retryAfter in whole seconds) when either bucket is empty. */
  async take(subject: KeyCheckSubject): Promise<void> {
    const tenant = subject.tenantId ?? 'platform';
    const keys = {
      tenant: `${this.deps.prefix}:key-checks:tenant:${tenant}`,
      token: `${this.deps.prefix}:key-checks:token:${subject.tokenId}`,
      refused: `${this.deps.prefix}:key-checks:refused:${tenant}:${subject.tokenId}`,
    };
    const { allowed, waitMs, refused } = (await this.viaRedis(keys)) ?? this.viaMemory(keys);
    if (allowed) return;
    if (refused === this.deps.limits.repeatThreshold) this.repeated(subject, refused);
    throw new RateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
  }

  private async viaRedis(keys: Record<'tenant' | 'token' | 'refused', string>) {
    if (!this.redis) return null;
    try {
      const [allowed, waitMs, refused] = await this.redis.keyplaneKeyCheckTake(
        keys.tenant,
        keys.token,
        keys.refused,
        interval(this.tenantRate),
        tolerance(this.tenantRate),
        interval(this.tokenRate),
        tolerance(this.tokenRate),
        this.deps.limits.repeatWindowMs,
      );
      if (this.degraded) {
        this.degraded = false;
        this.deps.log.info('key-check limiter: Redis answers again; limits are shared again');
      }
      return { allowed: allowed === 1, waitMs, refused };
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.deps.log.warn({ err: { name: (error as Error).name } }, 'key-check limiter: Redis unavailable; limiting in this process only');
      }
      return null;
    }
  }

  private viaMemory(keys: Record<'tenant' | 'token' | 'refused', string>) {
    const now = (this.deps.now ?? Date.now)();
    return this.memory.take(
      now,
      { key: keys.tenant, rate: this.tenantRate },
      { key: keys.token, rate: this.tokenRate },
      keys.refused,
      this.deps.limits.repeatWindowMs,
    );
  }

  private repeated(subject: KeyCheckSubject, refusals: number): void {
    // Ids and counts only: never the input of the refused request.
    this.deps.log.warn(
      { tenantId: subject.tenantId, tokenId: subject.tokenId, kind: subject.kind, refusals, windowMs: this.deps.limits.repeatWindowMs },
      'key checks refused repeatedly: security event',
    );
    try {
      this.deps.onRepeatedLimit(subject.tenantId, subject.tokenId, subject.kind);
    } catch (error) {
      this.deps.log.warn({ err: { name: (error as Error).name } }, 'onRepeatedLimit hook failed');
    }
  }
}
