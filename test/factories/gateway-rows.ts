import type { Sealed, SealContext } from '../../src/crypto';
import { resolveGatewayConfig, type AttachedRow, type PlatformKeyRow, type ResolveInput } from '../../src/modules/gateway/gateway-config';

/**
 * Rows for the pure gateway config resolver (unit tests, no database): providers, attached key
 * versions and platform keys, built per test with overrides.
 */

export const T = 'tenant-a';
export const NOW = new Date('2030-01-01T12:00:00Z');
const catalog = { enabled: true, tenantRevoked: false, platformRevoked: false };
export const OPENAI = {
  id: 'p-openai',
  slug: 'openai',
  name: 'OpenAI',
  baseUrl: 'https://api.openai.com',
  authScheme: 'BEARER' as const,
  confirmedBaseUrl: 'https://api.openai.com',
  ...catalog,
};
export const ANTHROPIC = {
  id: 'p-anthropic',
  slug: 'anthropic',
  name: 'Anthropic',
  baseUrl: 'https://api.anthropic.com',
  authScheme: 'X_API_KEY' as const,
  confirmedBaseUrl: 'https://api.anthropic.com',
  ...catalog,
};

/** The fake "ciphertext" is the plaintext; the opener records the context it was asked for. */
export const sealed = (plain: string): Sealed => ({ kekVersion: 1, wrappedKey: Buffer.alloc(0), ciphertext: Buffer.from(plain) });
export const contexts: SealContext[] = [];
export const open = (s: Sealed, ctx: SealContext) => {
  contexts.push(ctx);
  const text = s.ciphertext.toString();
  if (text === 'broken') throw new Error('decrypt failed');
  return text;
};

export function version(credentialId: string, v: Partial<AttachedRow> = {}): AttachedRow {
  return {
    tenantId: T,
    providerId: OPENAI.id,
    credentialId,
    label: credentialId,
    status: 'ACTIVE',
    currentVersion: 1,
    revoked: false,
    version: 1,
    state: 'ACTIVE',
    retireAfter: null,
    redactedKey: 'sk-…',
    sealed: sealed(`${credentialId}-v${v.version ?? 1}`),
    ...v,
  };
}
export const platform = (id: string, providerId = OPENAI.id): PlatformKeyRow => ({
  id,
  providerId,
  label: id,
  redactedKey: 'sk-…',
  sealed: sealed(`platform-${id}`),
});

export function input(
  over: Partial<ResolveInput> & { mode?: ResolveInput['gateway']['credentialMode']; byok?: 'PLATFORM' | 'BYOK' | 'HYBRID' } = {},
): ResolveInput {
  return {
    gateway: { id: 'gw', tenantId: T, credentialMode: over.mode ?? 'USER_PROVIDED', tenantByokMode: over.byok ?? 'BYOK' },
    providers: [OPENAI, ANTHROPIC],
    overrides: [],
    attached: [],
    platformKeys: [],
    now: NOW,
    ...over,
  };
}

/** Every enabled provider is listed now (explicit absence): pick entries by slug. */
export const of = (r: ReturnType<typeof resolveGatewayConfig>, slug = 'openai') => r.find((p) => p.provider.slug === slug)!;
export const keysOf = (r: ReturnType<typeof resolveGatewayConfig>, slug = 'openai') =>
  r.find((p) => p.provider.slug === slug)!.credentials.map((c) => `${c.source}:${c.key}`);
