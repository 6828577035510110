import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../errors';

/*
 * Pure rules of idempotency keys (README: Idempotency keys); the store is idempotency.service.ts.
 */

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** How long an answer is kept for replays. */
export const IDEMPOTENCY_TTL_HOURS = 24;

const CONTROL = /\p{Cc}/u;

/** 1-255 characters, not only spaces, no control characters. The message never echoes the key. */
export function checkIdempotencyKey(key: string, field: string[]): void {
  if (key.length === 0 || key.trim().length === 0 || [...key].length > IDEMPOTENCY_KEY_MAX_LENGTH || CONTROL.test(key)) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_INVALID',
      `The idempotency key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters, not only spaces, without control characters.`,
      field,
    );
  }
}

/**
 * One text per request, whatever the order its fields were given in: object keys sorted at every
 * level, undefined fields left out (as JSON does), so `{a: 1, b: undefined}` and `{a: 1}` agree.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Whether a stored request is the one being replayed. A stored hash of null was erased when the
 * credential was revoked (nothing derived from a destroyed key is kept): the key then replays.
 */
export function sameRequest(stored: { operation: string; requestHash: Buffer | null }, operation: string, requestHash: Buffer): boolean {
  if (stored.operation !== operation) return false;
  if (stored.requestHash === null) return true;
  return stored.requestHash.length === requestHash.length && timingSafeEqual(stored.requestHash, requestHash);
}

export function reusedKeyError(field: string[]): DomainError {
  return new DomainError(
    'IDEMPOTENCY_KEY_REUSED',
    'This idempotency key was already used for a different request. Use a new key for a new request.',
    field,
  );
}
