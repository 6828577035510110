import type { Logger } from 'pino';
import type { Config } from '../../config';
import { RateLimitedError } from '../../errors';
import { keyCheckKeys } from '../../queue/key-layout';
import { interval, tolerance, type Rate } from './gcra';
import type { KeyCheckStore } from './key-check-store';
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

export interface KeyCheckLimiterDeps {
  /** Shared buckets (Redis or PostgreSQL, key-check-store.ts); null: memory only. */
  store: Pick<KeyCheckStore, 'take'> | null;
  /** Namespace of every shared key (config.queue.prefix); ids only after it, never key material. */
  prefix: string;
  limits: Config['keyChecks'];
  log: Pick<Logger, 'warn' | 'info'>;
  onRepeatedLimit: RepeatedLimitHook;
  now?: () => number;
}

/**
 * Per-tenant and per-token limit on key checks, shared by every API process through one atomic
 * step on the shared store (a Lua script on Redis, a function on PostgreSQL). When it cannot answer, the same buckets run in this process's memory: never
 * unlimited, and a mutation never fails because Redis is down. Counting starts before any work,
 * so malformed or repeated requests count too.
 */
export class KeyCheckLimiter {
  private readonly memory = new MemoryBuckets();
  private readonly tenantRate: Rate;
  private readonly tokenRate: Rate;
  private degraded = false;

  constructor(private readonly deps: KeyCheckLimiterDeps) {
    this.tenantRate = { limit: deps.limits.tenantLimit, periodMs: deps.limits.periodMs };
    this.tokenRate = { limit: deps.limits.tokenLimit, periodMs: deps.limits.periodMs };
  }

  /** Throws RateLimitedError (retryAfter in whole seconds) when either bucket is empty. */
  async take(subject: KeyCheckSubject): Promise<void> {
    const tenant = subject.tenantId ?? 'platform';
    // One hash tag (the tenant) for the three keys of the atomic step: valid on a Redis Cluster.
    const keys = keyCheckKeys(this.deps.prefix, tenant, subject.tokenId);
    const { allowed, waitMs, refused } = (await this.viaStore(keys)) ?? this.viaMemory(keys);
    if (allowed) return;
    if (refused === this.deps.limits.repeatThreshold) this.repeated(subject, refused);
    throw new RateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
  }

  private async viaStore(keys: Record<'tenant' | 'token' | 'refused', string>) {
    if (!this.deps.store) return null;
    try {
      const reply = await this.deps.store.take({
        keys,
        tenant: { interval: interval(this.tenantRate), tolerance: tolerance(this.tenantRate) },
        token: { interval: interval(this.tokenRate), tolerance: tolerance(this.tokenRate) },
        windowMs: this.deps.limits.repeatWindowMs,
      });
      if (this.degraded) {
        this.degraded = false;
        this.deps.log.info('key-check limiter: the shared store answers again; limits are shared again');
      }
      return reply;
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.deps.log.warn({ err: { name: (error as Error).name } }, 'key-check limiter: shared store unavailable; limiting in this process only');
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
