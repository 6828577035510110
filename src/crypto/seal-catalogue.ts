import type { SealContext } from './secret-box';

/**
 * Every kind of sealed column, registered once. The AAD of a sealed value is built only from an
 * entry here and the row it sits in, so a job can find, open and rewrap every sealed row of every
 * kind from this data alone (key custody), and a seal and its open cannot drift apart.
 *
 * The purposes and context shapes are bound into every row already written: changing one makes
 * those rows unreadable. Add kinds; never edit one.
 */
export interface SealKind {
  readonly kind: string;
  /** AAD purpose; distinct per kind, so a value sealed for one kind never opens as another. */
  readonly purpose: string;
  readonly table: string;
  /** Identifies the row, for a job that rewrites it. */
  readonly primaryKey: string;
  /** The AAD object id. */
  readonly objectColumn: string;
  /** The AAD tenant id: a column, or a fixed stand-in where the rows belong to no tenant. */
  readonly tenant: { readonly column: string } | { readonly fixed: string };
  /** The AAD version: a column, or fixed where a secret is replaced rather than versioned. */
  readonly version: { readonly column: string } | { readonly fixed: number };
  readonly columns: { readonly kekVersion: string; readonly wrappedKey: string; readonly ciphertext: string };
  /** The AAD context of one row; fields the kind fixes are ignored when given. */
  context(ref: SealRef): SealContext;
}

/** The values of a row's AAD columns. */
export interface SealRef {
  objectId: string;
  tenantId?: string;
  version?: number;
}

type SealSpec = Omit<SealKind, 'context'>;

/** What a caller must pass for a kind: only the values its rows hold in columns. */
type RefFor<S extends SealSpec> = { objectId: string } & (S['tenant'] extends { column: string } ? { tenantId: string } : unknown) &
  (S['version'] extends { column: string } ? { version: number } : unknown);

function sealKind<const S extends SealSpec>(spec: S): S & { context(ref: RefFor<S>): SealContext } {
  return Object.freeze({
    ...spec,
    context(ref: SealRef): SealContext {
      // A missing column value stays undefined here, and SecretBox refuses it: never a silent default.
      return {
        purpose: spec.purpose,
        tenantId: 'fixed' in spec.tenant ? spec.tenant.fixed : ref.tenantId!,
        objectId: ref.objectId,
        version: 'fixed' in spec.version ? spec.version.fixed : ref.version!,
      };
    },
  });
}

const SEALED = { kekVersion: 'kek_version', wrappedKey: 'wrapped_key', ciphertext: 'ciphertext' } as const;

export const SEALS = Object.freeze({
  /** A tenant's provider key, one row per version. */
  credentialVersion: sealKind({
    kind: 'credential-version',
    purpose: 'credential-key',
    table: 'credential_versions',
    primaryKey: 'id',
    objectColumn: 'credential_id',
    tenant: { column: 'tenant_id' },
    version: { column: 'version' },
    columns: SEALED,
  }),
  /** The platform's own provider keys: never rotated in place (revoke and add another). */
  platformKey: sealKind({
    kind: 'platform-key',
    purpose: 'platform-key',
    table: 'platform_keys',
    primaryKey: 'id',
    objectColumn: 'id',
    tenant: { fixed: 'platform' },
    version: { fixed: 1 },
    columns: SEALED,
  }),
  /** Signs a gateway's reload webhooks; issued with the gateway and never replaced, so one version. */
  gatewaySigning: sealKind({
    kind: 'gateway-signing-secret',
    purpose: 'gateway-signing-secret',
    table: 'gateways',
    primaryKey: 'id',
    objectColumn: 'id',
    tenant: { column: 'tenant_id' },
    version: { fixed: 1 },
    columns: { kekVersion: 'signing_kek_version', wrappedKey: 'signing_wrapped_key', ciphertext: 'signing_ciphertext' },
  }),
  /** Signs the tenant's notification webhooks; issued once, kept across URL changes; the tenant is its own object. */
  tenantNotification: sealKind({
    kind: 'tenant-notification-secret',
    purpose: 'tenant-notification-signing-secret',
    table: 'tenants',
    primaryKey: 'id',
    objectColumn: 'id',
    tenant: { column: 'id' },
    version: { fixed: 1 },
    columns: { kekVersion: 'notification_kek_version', wrappedKey: 'notification_wrapped_key', ciphertext: 'notification_ciphertext' },
  }),
  /** A gateway's replaced signing secret, kept sealed for the overlap window of a rotation, then wiped. */
  gatewaySigningPrevious: sealKind({
    kind: 'gateway-signing-secret-previous',
    purpose: 'gateway-signing-secret-previous',
    table: 'gateways',
    primaryKey: 'id',
    objectColumn: 'id',
    tenant: { column: 'tenant_id' },
    version: { fixed: 1 },
    columns: { kekVersion: 'previous_signing_kek_version', wrappedKey: 'previous_signing_wrapped_key', ciphertext: 'previous_signing_ciphertext' },
  }),
  /** A tenant's replaced notification signing secret, kept sealed for the overlap window of a rotation, then wiped. */
  tenantNotificationPrevious: sealKind({
    kind: 'tenant-notification-secret-previous',
    purpose: 'tenant-notification-signing-secret-previous',
    table: 'tenants',
    primaryKey: 'id',
    objectColumn: 'id',
    tenant: { column: 'id' },
    version: { fixed: 1 },
    columns: {
      kekVersion: 'previous_notification_kek_version',
      wrappedKey: 'previous_notification_wrapped_key',
      ciphertext: 'previous_notification_ciphertext',
    },
  }),
});

/** Every kind, for jobs and tests that must cover all sealed rows. */
export const SEAL_KINDS: readonly SealKind[] = Object.freeze(Object.values(SEALS));
