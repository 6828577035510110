import type { DataSource } from 'typeorm';
import { redactSecret } from '../../crypto';
import { collect, DomainError } from '../../errors';
import type { OutboundClient } from '../../outbound';
import { testKey } from '../../providers/registry';
import type { KeyTestResult } from '../../providers/types';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { normalizeSecretInput, secretRule } from '../common/rules';
import { keyFormatRule } from './provider.rules';
import type { ProviderService } from './provider.service';

/** Checks a key against its provider without storing it: only the redacted hint and outcome are audited. */
export class KeyTestService {
  constructor(
    private readonly db: DataSource,
    private readonly providers: Pick<ProviderService, 'usable'>,
    private readonly timeoutMs: number,
    /** The guarded client (OUTBOUND_ALLOW): custom base URLs cannot reach private or metadata addresses. */
    private readonly outbound: OutboundClient,
  ) {}

  async test(tenantId: string | null, actor: AuditActor, providerId: string, raw: string): Promise<KeyTestResult> {
    const provider = await this.providers.usable(providerId, ['input', 'providerId']);
    const field = ['input', 'secret'];
    const shape = secretRule(raw, field);
    const secret = normalizeSecretInput(raw);
    collect([shape, shape ? null : keyFormatRule(secret, provider, field)]);
    const baseUrl = await this.hostFor(tenantId, provider.id);
    const result = await testKey({ ...provider, baseUrl }, secret, { timeoutMs: this.timeoutMs, outbound: this.outbound });
    await this.db.transaction((tx) =>
      auditInTx(tx, actor, {
        tenantId,
        action: 'PROVIDER_KEY_TESTED',
        targetType: 'PROVIDER',
        targetId: provider.id,
        details: { provider: provider.slug, redactedKey: redactSecret(secret, provider.keyPrefixes), outcome: result.outcome },
      }),
    );
    return result;
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
      throw new DomainError('HOST_NOT_CONFIRMED', 'The provider\'s host changed: confirm the new host (confirmProviderHost) before sending keys to it.', ['input', 'providerId']);
    }
    return row?.base_url ?? '';
  }
}
