import { createHash } from 'node:crypto';
import type { Fingerprinter } from '../../crypto';
import type { KeyCheckStore } from './key-check-store';
import type { KeyTestOutcome, KeyTestResult, ProviderEndpoint } from '../../providers/types';

/** Answers that will not change within seconds; transient ones (rate limited, unavailable) are asked again. */
const CACHEABLE: KeyTestOutcome[] = ['VALID', 'VALID_NO_QUOTA', 'VALID_RESTRICTED', 'INVALID'];

/**
 * Recent testProviderKey answers, so the same key tested again within KEY_TEST_CACHE_SECONDS
 * costs no provider call. The Redis key is a hash of the tenant, the provider endpoint and the
 * key's fingerprint (the keyed HMAC, never the key): one tenant's entry can never answer another
 * tenant (no tenant learns, from a fast answer, that someone else tested the key), and a Redis
 * dump neither holds nor confirms a key without the fingerprint pepper. Values hold the typed
 * outcome and our own message, nothing of the key. Best effort: with the store down every test asks
 * the provider (still behind the limiter).
 */
export class KeyTestCache {
  constructor(
    private readonly deps: {
      store: Pick<KeyCheckStore, 'get' | 'set'> | null;
      prefix: string;
      ttlMs: number;
      fingerprinter: Pick<Fingerprinter, 'fingerprint'>;
    },
  ) {}

  keyFor(tenantId: string | null, provider: ProviderEndpoint & { id: string }, secret: string): string {
    const digest = createHash('sha256')
      .update(
        ['keyplane-key-test-cache-v1', tenantId ?? 'platform', provider.id, provider.baseUrl, provider.apiShape, provider.authScheme].join('\0'),
      )
      .update('\0')
      .update(this.deps.fingerprinter.fingerprint(secret))
      .digest('hex');
    return `${this.deps.prefix}:key-test-cache:${digest}`;
  }

  async get(key: string): Promise<KeyTestResult | null> {
    if (!this.deps.store || this.deps.ttlMs === 0) return null;
    try {
      const raw = await this.deps.store.get(key);
      return raw ? (JSON.parse(raw) as KeyTestResult) : null;
    } catch {
      return null;
    }
  }

  async set(key: string, result: KeyTestResult): Promise<void> {
    if (!this.deps.store || this.deps.ttlMs === 0 || !CACHEABLE.includes(result.outcome)) return;
    const { outcome, models, message, httpStatus, retryAfterSeconds, latencyMs } = result;
    try {
      await this.deps.store.set(key, JSON.stringify({ outcome, models, message, httpStatus, retryAfterSeconds, latencyMs }), this.deps.ttlMs);
    } catch {
      // A lost cache write only costs a provider call later.
    }
  }
}
