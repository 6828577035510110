import type { DataSource } from 'typeorm';
import { redactSecret } from '../../crypto';
import { collect } from '../../errors';
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
    /** The guarded client (outbound policy): custom base URLs cannot reach private or metadata addresses. */
    private readonly outbound: OutboundClient,
  ) {}

  async test(tenantId: string | null, actor: AuditActor, providerId: string, raw: string): Promise<KeyTestResult> {
    const provider = await this.providers.usable(providerId, ['input', 'providerId']);
    const field = ['input', 'secret'];
    const shape = secretRule(raw, field);
    const secret = normalizeSecretInput(raw);
    collect([shape, shape ? null : keyFormatRule(secret, provider, field)]);
    const result = await testKey(provider, secret, { timeoutMs: this.timeoutMs, outbound: this.outbound });
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
}
