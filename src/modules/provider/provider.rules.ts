import type { UserErrorShape } from '../../errors';
import { LIMITS } from '../common/rules';

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
  return ok
    ? null
    : { field, code: 'INVALID_INPUT', message: `At most ${LIMITS.keyPrefixes} prefixes of 1-24 letters, digits, "_" or "-".` };
}

/** The provider's key format rule, applied after the generic secret checks. */
export function keyFormatRule(
  secret: string,
  provider: { name: string; keyPattern: string; keyPrefixes: string[] },
  field: string[],
): UserErrorShape | null {
  const re = formatRegex(provider.keyPattern);
  if (re && re.test(secret)) return null;
  const hint = provider.keyPrefixes.length ? ` ${provider.name} keys start with ${provider.keyPrefixes.join(', ')}.` : '';
  return {
    field,
    code: 'KEY_FORMAT_MISMATCH',
    message: `The key does not match the ${provider.name} key format.${hint}`,
  };
}
