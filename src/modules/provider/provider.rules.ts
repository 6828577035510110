import { normalizeSecret } from '../../crypto';
import type { UserErrorShape } from '../../errors';
import { declaresVendor, vendorOfKey } from '../../providers/key-prefixes';
import { LIMITS, secretRule } from '../common/rules';

const compiled = new Map<string, RegExp>();

/** Compiles a stored format rule once; rules are data and change at run time. */
export function formatRegex(pattern: string): RegExp | null {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern);
    } catch {
      return null;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

export function patternRule(pattern: string | null | undefined, field: string[]): UserErrorShape | null {
  if (pattern == null) return null;
  if (pattern.length === 0 || pattern.length > LIMITS.keyPattern || pattern.includes('\u0000') || !formatRegex(pattern)) {
    return {
      field,
      code: 'PATTERN_INVALID',
      message: `The format rule must be a valid regular expression of at most ${LIMITS.keyPattern} characters.`,
    };
  }
  return null;
}

export function prefixesRule(prefixes: string[] | null | undefined, field: string[]): UserErrorShape | null {
  if (prefixes == null) return null;
  const ok = prefixes.length <= LIMITS.keyPrefixes && prefixes.every((p) => /^[A-Za-z0-9_-]{1,24}$/.test(p));
  return ok ? null : { field, code: 'INVALID_INPUT', message: `At most ${LIMITS.keyPrefixes} prefixes of 1-24 letters, digits, "_" or "-".` };
}

/**
 * The provider's key format rule, then the cross-vendor check, applied after the generic secret
 * checks. A key that passes the rule but carries another vendor's distinctive prefix (key-prefixes.ts)
 * is refused: a lenient rule (OpenAI's `^sk-…`, a custom `^.+$`) must not send an Anthropic key to
 * another vendor's endpoint. A format mismatch keeps its own code and names the likely vendor.
 */
export function keyFormatRule(
  secret: string,
  provider: { name: string; keyPattern: string; keyPrefixes: string[] },
  field: string[],
): UserErrorShape | null {
  const re = formatRegex(provider.keyPattern);
  const owner = vendorOfKey(secret);
  const foreign = owner && !declaresVendor(provider.keyPrefixes, owner.vendor) ? owner : null;
  const looksLike = foreign ? ` It looks like a key issued by ${foreign.vendor} (it starts with ${foreign.prefix}).` : '';
  if (!re || !re.test(secret)) {
    const hint = provider.keyPrefixes.length ? ` ${provider.name} keys start with ${provider.keyPrefixes.join(', ')}.` : '';
    return {
      field,
      code: 'KEY_FORMAT_MISMATCH',
      message: `The key does not match the ${provider.name} key format.${hint}${looksLike}`,
    };
  }
  if (!foreign) return null;
  return {
    field,
    code: 'KEY_BELONGS_TO_OTHER_PROVIDER',
    message: `${looksLike.trim()} ${provider.name} does not take ${foreign.vendor} keys: store it under ${foreign.vendor}.`,
  };
}

/**
 * Whether a pasted key is a plausible new key for this provider (stored, rotated or only tested):
 * the generic secret checks, then, on a well-formed key of a known provider, its format rule.
 * `value` is the normalised key, the only form to seal, fingerprint, redact or send.
 */
export function newKeyRule(
  raw: string,
  provider: { name: string; keyPattern: string; keyPrefixes: string[] } | null,
  field: string[],
): { value: string; error: UserErrorShape | null } {
  const value = normalizeSecret(raw);
  const error = secretRule(raw, field);
  return { value, error: error ?? (provider ? keyFormatRule(value, provider, field) : null) };
}
