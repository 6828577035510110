import { KeyVersionUnavailableError, SEALS, type Sealed, type SealContext } from '../../crypto';
import type { AuthScheme } from '../../providers/types';
import type { CredentialStatus, VersionState } from '../credential/credential.entity';
import type { ByokMode } from '../tenant/tenant.entity';
import type { CredentialMode } from './gateway.entity';
import { noKeyReason, reasonSentence, type NoKeyReason } from './gateway-config.reasons';

/*
 * Pure resolution of what one gateway is served. No I/O: gateway-config.loader.ts
 * reads the rows, and `open` decrypts. Kept pure so every mode and edge case is unit-tested.
 */

export const MODE_SOURCES = ['GATEWAY', 'PROVIDER_OVERRIDE', 'TENANT_PLATFORM'] as const;
export type ModeSource = (typeof MODE_SOURCES)[number];
export const SKIP_REASONS = ['INVALID', 'REVOKED', 'NOT_VALIDATED', 'UNREADABLE', 'AWAITING_HOST_CONFIRMATION'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface ResolveGateway {
  id: string;
  tenantId: string;
  credentialMode: CredentialMode;
  tenantByokMode: ByokMode;
}
export interface ResolveProvider {
  id: string;
  slug: string;
  name: string;
  baseUrl: string;
  authScheme: AuthScheme;
  enabled: boolean;
  /** The host the gateway's tenant confirmed for its keys of this provider; null: none. */
  confirmedBaseUrl: string | null;
  /** The tenant has revoked keys of this provider. */
  tenantRevoked: boolean;
  /** The platform has revoked keys of this provider. */
  platformRevoked: boolean;
}
/** One attached credential joined with one of its ACTIVE/PREVIOUS versions (or none). */
export interface AttachedRow {
  tenantId: string;
  providerId: string;
  credentialId: string;
  label: string;
  status: CredentialStatus;
  currentVersion: number | null;
  revoked: boolean;
  version: number | null;
  state: VersionState | null;
  retireAfter: Date | null;
  redactedKey: string | null;
  sealed: Sealed | null;
}
export interface PlatformKeyRow {
  id: string;
  providerId: string;
  label: string;
  redactedKey: string;
  sealed: Sealed | null;
}

export type ServedCredential = ({ source: 'TENANT'; credentialId: string } | { source: 'PLATFORM'; platformKeyId: string }) & {
  label: string;
  version: number;
  state: 'ACTIVE' | 'PREVIOUS';
  retireAfter: string | null;
  redactedKey: string;
  key: string;
};

export type SkippedCredential = ({ source: 'TENANT'; credentialId: string } | { source: 'PLATFORM'; platformKeyId: string }) & {
  label: string;
  reason: SkipReason;
};

export interface ResolvedProvider {
  provider: { id: string; slug: string; baseUrl: string; authScheme: AuthScheme };
  mode: CredentialMode;
  modeSource: ModeSource;
  status: 'OK' | 'NO_USABLE_KEY';
  /** Why nothing is served (null when status is OK). */
  reason: NoKeyReason | null;
  message: string | null;
  credentials: ServedCredential[];
  skipped: SkippedCredential[];
}

export interface ResolveInput {
  gateway: ResolveGateway;
  providers: ResolveProvider[];
  overrides: { providerId: string; credentialMode: CredentialMode }[];
  /** Ordered by provider, attachment priority, then version (newest first). */
  attached: AttachedRow[];
  /** Ordered by priority. Revoked ones are not passed. */
  platformKeys: PlatformKeyRow[];
  now: Date;
}

export type Opener = (sealed: Sealed, context: SealContext) => string;

/**
 * Effective mode for one provider. A tenant that left BYOK (byok mode PLATFORM) gets platform
 * keys on every gateway and provider, whatever the gateway says: it has no keys of its own.
 */
export function effectiveMode(input: Pick<ResolveInput, 'gateway' | 'overrides'>, providerId: string) {
  if (input.gateway.tenantByokMode === 'PLATFORM') return { mode: 'BUNDLED' as const, source: 'TENANT_PLATFORM' as const };
  const override = input.overrides.find((o) => o.providerId === providerId);
  if (override) return { mode: override.credentialMode, source: 'PROVIDER_OVERRIDE' as const };
  return { mode: input.gateway.credentialMode, source: 'GATEWAY' as const };
}

/**
 * Which providers appear: every enabled one (a gateway could use any; absence is explicit, with a
 * reason), and disabled ones still attached, overridden, or with platform keys the mode would serve.
 */
function providerIds(input: ResolveInput): string[] {
  const ids = new Set([
    ...input.providers.filter((p) => p.enabled).map((p) => p.id),
    ...input.attached.map((a) => a.providerId),
    ...input.overrides.map((o) => o.providerId),
  ]);
  for (const k of input.platformKeys) if (effectiveMode(input, k.providerId).mode !== 'USER_PROVIDED') ids.add(k.providerId);
  return [...ids];
}

export function resolveGatewayConfig(input: ResolveInput, open: Opener): ResolvedProvider[] {
  const { gateway } = input;
  // Defence in depth: the loader filters by tenant too; a row of another tenant is never considered.
  const attached = input.attached.filter((a) => a.tenantId === gateway.tenantId);
  const out: ResolvedProvider[] = [];
  for (const providerId of providerIds({ ...input, attached })) {
    const provider = input.providers.find((p) => p.id === providerId);
    if (!provider) continue;
    const { mode, source } = effectiveMode(input, providerId);
    const mine = attached.filter((a) => a.providerId === providerId);
    // Keys go only to a host their tenant confirmed: after a host change they are held, not served.
    const held = provider.confirmedBaseUrl !== provider.baseUrl;
    const tenant = mode === 'BUNDLED' ? { served: [], skipped: [] } : tenantKeys(gateway.tenantId, mine, input.now, open, held);
    const platform =
      mode === 'USER_PROVIDED'
        ? { served: [], skipped: [] }
        : platformKeys(
            input.platformKeys.filter((k) => k.providerId === providerId),
            open,
          );
    const credentials = [...tenant.served, ...platform.served];
    const skipped = [...tenant.skipped, ...platform.skipped];
    const attachedCount = new Set(mine.map((a) => a.credentialId)).size;
    const reason = credentials.length
      ? null
      : noKeyReason({
          mode,
          enabled: provider.enabled,
          attached: attachedCount,
          tenantSkipped: tenant.skipped.map((s) => s.reason),
          platformSkipped: platform.skipped.map((s) => s.reason),
          tenantRevoked: provider.tenantRevoked,
          platformRevoked: provider.platformRevoked,
        });
    const text = explain(provider.name, mode, source, tenant.served.length, platform.served.length, skipped, attachedCount);
    out.push({
      provider: { id: provider.id, slug: provider.slug, baseUrl: provider.baseUrl, authScheme: provider.authScheme },
      mode,
      modeSource: source,
      status: credentials.length ? 'OK' : 'NO_USABLE_KEY',
      reason,
      message: [text, reasonSentence(reason)].filter(Boolean).join(' ') || null,
      credentials,
      skipped,
    });
  }
  return out.sort((a, b) => a.provider.slug.localeCompare(b.provider.slug));
}

/** Per credential, in priority order: its active version, then a previous one still in its grace period. */
function tenantKeys(tenantId: string, rows: AttachedRow[], now: Date, open: Opener, held: boolean) {
  const served: ServedCredential[] = [];
  const skipped: SkippedCredential[] = [];
  const order = [...new Set(rows.map((r) => r.credentialId))];
  for (const credentialId of order) {
    const versions = rows.filter((r) => r.credentialId === credentialId);
    const c = versions[0];
    const skip = (reason: SkipReason) => skipped.push({ source: 'TENANT', credentialId, label: c.label, reason });
    if (c.revoked || c.status === 'REVOKED') {
      skip('REVOKED');
      continue;
    }
    if (held) {
      skip('AWAITING_HOST_CONFIRMATION');
      continue;
    }
    if (c.status === 'INVALID') {
      skip('INVALID');
      continue;
    }
    const active = versions.find((v) => v.state === 'ACTIVE' && v.version === c.currentVersion);
    if (c.currentVersion == null || !active) {
      skip('NOT_VALIDATED');
      continue;
    }
    const previous = versions.filter((v) => v.state === 'PREVIOUS' && v.retireAfter != null && v.retireAfter > now);
    const entries: ServedCredential[] = [];
    try {
      for (const v of [active, ...previous]) {
        const context = SEALS.credentialVersion.context({ tenantId, objectId: credentialId, version: v.version! });
        if (!v.sealed) throw new Error('no material');
        entries.push({
          source: 'TENANT',
          credentialId,
          label: c.label,
          version: v.version!,
          state: v.state as 'ACTIVE' | 'PREVIOUS',
          retireAfter: v.state === 'PREVIOUS' ? v.retireAfter!.toISOString() : null,
          redactedKey: v.redactedKey ?? '',
          key: open(v.sealed, context),
        });
      }
    } catch (error) {
      // A KEK version this process lacks: the whole pull fails as unavailable (503, retry) rather
      // than serve a config missing this key (gateway-config.route.ts).
      if (error instanceof KeyVersionUnavailableError) throw error;
      // Wiped or undecryptable material: reported as skipped, never served half.
      skip('UNREADABLE');
      continue;
    }
    served.push(...entries);
  }
  return { served, skipped };
}

function platformKeys(rows: PlatformKeyRow[], open: Opener) {
  const served: ServedCredential[] = [];
  const skipped: SkippedCredential[] = [];
  for (const k of rows) {
    let key: string;
    try {
      if (!k.sealed) throw new Error('no material');
      key = open(k.sealed, SEALS.platformKey.context({ objectId: k.id }));
    } catch (error) {
      if (error instanceof KeyVersionUnavailableError) throw error;
      skipped.push({ source: 'PLATFORM', platformKeyId: k.id, label: k.label, reason: 'UNREADABLE' });
      continue;
    }
    served.push({
      source: 'PLATFORM',
      platformKeyId: k.id,
      label: k.label,
      version: 1,
      state: 'ACTIVE',
      retireAfter: null,
      redactedKey: k.redactedKey,
      key,
    });
  }
  return { served, skipped };
}

/** The sentence a gateway operator reads; null when there is nothing to say. No silent fallback. */
function explain(
  name: string,
  mode: CredentialMode,
  source: ModeSource,
  tenantServed: number,
  platformServed: number,
  skipped: SkippedCredential[],
  attached: number,
): string | null {
  const parts: string[] = [];
  if (source === 'TENANT_PLATFORM') parts.push('The tenant uses platform keys only (BYOK mode PLATFORM).');
  const skippedText = skipped.length ? ` Skipped ${skipped.length} key(s): ${skipped.map((s) => `${s.label} (${s.reason})`).join(', ')}.` : '';
  if (mode === 'USER_PROVIDED') {
    if (tenantServed === 0) {
      parts.push(
        `No usable key for ${name}: mode USER_PROVIDED serves only the tenant's own keys, and ` +
          (attached === 0 ? 'none is attached.' : 'none of the attached keys is usable.') +
          ' Platform keys are not used in this mode.',
      );
    }
  } else if (mode === 'BUNDLED') {
    if (platformServed === 0) parts.push(`No usable key for ${name}: mode BUNDLED serves only platform keys, and the platform has none for it.`);
    if (attached > 0) parts.push(`Mode BUNDLED: ${attached} attached tenant key(s) are not served.`);
  } else if (tenantServed === 0 && platformServed === 0) {
    parts.push(`No usable key for ${name}: mode HYBRID found no usable tenant key and no platform key.`);
  } else if (tenantServed === 0) {
    parts.push(`No usable tenant key for ${name}: serving platform keys only (mode HYBRID).`);
  }
  const text = parts.join(' ') + skippedText;
  return text.trim() ? text.trim() : null;
}

/** How far a gateway is behind; "never pulled" counts as behind by every version. */
export function gatewayDrift(
  g: { configVersion: number; pulledConfigVersion: number | null; configChangedAt: Date },
  now: Date,
): { upToDate: boolean; versionsBehind: number; laggingSinceSeconds: number | null } {
  const versionsBehind = Math.max(0, g.configVersion - (g.pulledConfigVersion ?? 0));
  return {
    upToDate: versionsBehind === 0,
    versionsBehind,
    // From the newest change: a lower bound of the lag when several changes were missed.
    laggingSinceSeconds: versionsBehind === 0 ? null : Math.max(0, Math.floor((now.getTime() - g.configChangedAt.getTime()) / 1000)),
  };
}
