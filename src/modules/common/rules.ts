import { normalizeSecret } from '../../crypto';
import type { UserErrorShape } from '../../errors';

/** Field rules shared by every module: pure functions returning a userErrors entry or null. */

// Control characters (including newlines) never belong in a name, label or secret.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const LIMITS = {
  name: 100,
  label: 100,
  description: 500,
  slug: 63,
  url: 2048,
  secret: 4096,
  keyPattern: 500,
  keyPrefixes: 20,
  attachmentsPerProvider: 15,
  rotationDays: { min: 1, max: 3650 },
  priority: { min: 0, max: 1000 },
} as const;

export function nameRule(value: string, field: string[], code: 'NAME' | 'LABEL' = 'NAME'): UserErrorShape | null {
  const max = code === 'NAME' ? LIMITS.name : LIMITS.label;
  const what = code === 'NAME' ? 'Name' : 'Label';
  if (value.trim().length === 0 || CONTROL.test(value)) {
    return { field, code: `${code}_INVALID`, message: `${what} must be non-empty text on one line.` };
  }
  if (value.length > max) {
    return { field, code: `${code}_TOO_LONG`, message: `${what} must be at most ${max} characters.` };
  }
  return null;
}

export function optionalTextRule(value: string | null | undefined, field: string[], max: number): UserErrorShape | null {
  if (value == null) return null;
  if (value.length > max) return { field, code: 'INVALID_INPUT', message: `Must be at most ${max} characters.` };
  // Newlines are fine in free text; NUL is not storable in PostgreSQL text.
  if (value.includes('\u0000')) return { field, code: 'INVALID_INPUT', message: 'Must not contain NUL characters.' };
  return null;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function slugRule(value: string, field: string[]): UserErrorShape | null {
  if (value.length > LIMITS.slug || !SLUG.test(value)) {
    return {
      field,
      code: 'SLUG_INVALID',
      message: `Slug must be 1-${LIMITS.slug} lowercase letters, digits or hyphens, not starting or ending with a hyphen.`,
    };
  }
  return null;
}

export function rangeRule(value: number | null | undefined, field: string[], range: { min: number; max: number }): UserErrorShape | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    return { field, code: 'OUT_OF_RANGE', message: `Must be a whole number from ${range.min} to ${range.max}.` };
  }
  return null;
}

/** The save-time half of the outbound policy (OutboundPolicy.checkUrl): no DNS, so nothing to learn from it. */
export interface UrlPolicy {
  checkUrl(url: URL): object | null;
}

const NOT_ALLOWED =
  'This URL is not allowed for outbound requests: use https on port 443 to a public host, or a destination the operator has allowed.';

/** A URL Keyplane will call: well-formed, then allowed by the outbound policy. The message never says why in detail. */
export function urlRule(value: string | null | undefined, field: string[], policy: UrlPolicy): UserErrorShape | null {
  if (value == null) return null;
  const bad: UserErrorShape = { field, code: 'URL_INVALID', message: 'Must be an absolute http(s) URL without credentials.' };
  if (value.length > LIMITS.url) return bad;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return bad;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return bad;
  if (url.username || url.password) return bad;
  return policy.checkUrl(url) ? { field, code: 'URL_NOT_ALLOWED', message: NOT_ALLOWED } : null;
}

/**
 * Secret shape checks, before the provider's own format rule. Surrounding whitespace is a paste
 * artefact and is trimmed by normalizeSecret; anything inside the key is significant.
 * Messages never contain the value.
 */
export function secretRule(value: string, field: string[]): UserErrorShape | null {
  const trimmed = normalizeSecret(value);
  if (trimmed.length === 0) return { field, code: 'SECRET_EMPTY', message: 'The key is empty.' };
  if (/[\r\n\u2028\u2029]/.test(trimmed)) {
    return { field, code: 'SECRET_MULTILINE', message: 'The key must be a single line.' };
  }
  if (CONTROL.test(trimmed) || /\s/.test(trimmed)) {
    return { field, code: 'SECRET_INVALID_CHARACTERS', message: 'The key contains spaces or control characters.' };
  }
  if (trimmed.length > LIMITS.secret) {
    return { field, code: 'SECRET_TOO_LONG', message: `The key must be at most ${LIMITS.secret} characters.` };
  }
  return null;
}
