import type { CredentialEntity } from './credential.entity';

/*
 * A credential as a mutation answered it, for idempotent replays (src/modules/idempotency). Only
 * metadata columns, listed one by one, so a column added to the entity never reaches the stored
 * answer unless it is added here. The entity holds no key material; the hint is the redacted one.
 */

const FIELDS = [
  'id',
  'tenantId',
  'providerId',
  'label',
  'kind',
  'status',
  'currentVersion',
  'latestVersion',
  'redactedKey',
  'rotationPeriodDays',
  'rotateBy',
  'lastValidationOutcome',
  'lastValidatedAt',
  'lastValidationModels',
  'lastValidationMessage',
  'createdAt',
  'updatedAt',
  'rotatedAt',
  'revokedAt',
] as const satisfies readonly (keyof CredentialEntity)[];

const DATES = new Set<string>(['rotateBy', 'lastValidatedAt', 'createdAt', 'updatedAt', 'rotatedAt', 'revokedAt']);

export function credentialSnapshot(c: CredentialEntity): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map((f) => [f, c[f] instanceof Date ? (c[f] as Date).toISOString() : (c[f] ?? null)]));
}

export function restoreCredential(stored: unknown): CredentialEntity {
  const json = stored as Record<string, unknown>;
  const restored: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const value = json[f] ?? null;
    restored[f] = DATES.has(f) && typeof value === 'string' ? new Date(value) : value;
  }
  return restored as unknown as CredentialEntity;
}
