import { collect, DomainError, type UserErrorShape } from '../../errors';
import type { ProviderEntity } from './provider.entity';
import { newKeyRule } from './provider.rules';
import type { ProviderService } from './provider.service';

/**
 * The provider and normalised key of a key about to be stored (credential, platform key). An
 * unusable provider is one more entry beside the caller's other field rules, not an early exit, so
 * a form learns every problem in one round trip, before any write. No message carries the key.
 */
export async function checkNewKey(
  providers: Pick<ProviderService, 'usable'>,
  input: { providerId: string; providerField: string[]; secret: string },
  others: (UserErrorShape | null | undefined)[],
): Promise<{ provider: ProviderEntity; value: string }> {
  let provider: ProviderEntity | null = null;
  let providerError: UserErrorShape | null = null;
  try {
    provider = await providers.usable(input.providerId, input.providerField);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    providerError = { field: error.field, code: error.code, message: error.message };
  }
  const key = newKeyRule(input.secret, provider, ['input', 'secret']);
  collect([...others, providerError, key.error]);
  return { provider: provider!, value: key.value };
}
