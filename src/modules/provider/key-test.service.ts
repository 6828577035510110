import type { DataSource } from 'typeorm';
import { redactSecret, type Fingerprinter } from '../../crypto';
import { collect, DomainError } from '../../errors';
import type { OutboundClient } from '../../outbound';
import { testKey } from '../../providers/registry';
import type { KeyTestResult } from '../../providers/types';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import type { KeyCheckLimiter } from '../key-check/key-check-limiter';
import type { KeyTestCache } from '../key-check/key-test-cache';
import { newKeyRule } from './provider.rules';
import type { ProviderService } from './provider.service';

export type TestedKey = KeyTestResult & { cached: boolean };

/**
 * Checks a key against its provider without storing it: only the redacted hint and outcome are
 * audited. Limited per tenant and token (a free validity checker for leaked keys otherwise, and a
 * way to get the platform's egress addresses blocked); the same key tested again by the same
 * tenant within KEY_TEST_CACHE_SECONDS is answered from that tenant's cache without a provider call.
 */
export class KeyTestService {
  constructor(
    private readonly db: DataSource,
    private readonly providers: Pick<ProviderService, 'usable'>,
    private readonly timeoutMs: number,
    /** The guarded client (outbound policy): custom base URLs cannot reach private or metadata addresses. */
    private readonly outbound: OutboundClient,
    private readonly checks: { limiter: Pick<KeyCheckLimiter, 'take'>; cache: Pick<KeyTestCache, 'keyFor' | 'get' | 'set'> },
    private readonly fingerprinter: Pick<Fingerprinter, 'fingerprint' | 'auditKeyRef'>,
  ) {}

  async test(tenantId: string | null, actor: AuditActor, providerId: string, raw: string): Promise<TestedKey> {
    await this.checks.limiter.take({ tenantId, tokenId: actor.id ?? actor.type, kind: 'TEST_PROVIDER_KEY' });
    const provider = await this.providers.usable(providerId, ['input', 'providerId']);
    const { value: secret, error } = newKeyRule(raw, provider, ['input', 'secret']);
    collect([error]);
    const baseUrl = await this.hostFor(tenantId, provider.id);
    const target = { ...provider, baseUrl };
    // Keyed by the confirmed endpoint too: an answer from one host is never reused for another.
    const cacheKey = this.checks.cache.keyFor(tenantId, target, secret);
    const hit = await this.checks.cache.get(cacheKey);
    const result = hit ?? (await testKey(target, secret, { timeoutMs: this.timeoutMs, outbound: this.outbound, tenantId }));
    if (!hit) await this.checks.cache.set(cacheKey, result);
    await this.db.transaction((tx) =>
      auditInTx(tx, actor, {
        tenantId,
        action: 'PROVIDER_KEY_TESTED',
        targetType: 'PROVIDER',
        targetId: provider.id,
        details: {
          provider: provider.slug,
          redactedKey: redactSecret(secret, provider.keyPrefixes),
          outcome: result.outcome,
          cached: !!hit,
          // Not stored, so no version: the reference matches the credential it may become later.
          keyRefs: [{ ref: this.fingerprinter.auditKeyRef(tenantId, this.fingerprinter.fingerprint(secret)), version: null }],
        },
      }),
    );
    return { ...result, cached: !!hit };
  }

  /**
   * The provider's current host, read fresh. A tenant holding keys of this provider that has not
   * confirmed that host yet sends none there, not even a key it is only testing.
   */
  private async hostFor(tenantId: string | null, providerId: string): Promise<string> {
    const [row]: { base_url: string; confirmed: string | null }[] = await this.db.query(
      `SELECT p.base_url, hc.base_url AS confirmed FROM providers p
         LEFT JOIN provider_host_confirmations hc ON hc.tenant_id = $1 AND hc.provider_id = p.id
        WHERE p.id = $2`,
      [tenantId, providerId],
    );
    if (row && row.confirmed !== null && row.confirmed !== row.base_url) {
      throw new DomainError(
        'HOST_NOT_CONFIRMED',
        "The provider's host changed: confirm the new host (confirmProviderHost) before sending keys to it.",
        ['input', 'providerId'],
      );
    }
    return row?.base_url ?? '';
  }
}
