import { normalizeSecret } from './fingerprint';

/** Marker between the public prefix and the tail; one character so hints stay short. */
export const ELLIPSIS = '\u2026';
const TAIL_CHARS = 4;
/**
 * Below this many characters after the public prefix no tail is shown: 4 revealed characters of
 * a 12-19 character secret part are a fifth to a third of it.
 */
export const MIN_CHARS_FOR_TAIL = 20;
const SCRUB_WINDOW = 12;
export const REDACTED = '[REDACTED]';
export const TOKEN_PREFIXES: readonly string[] = ['kp_', 'kpg_', 'whsec_'];

/**
 * The one redaction format: `<longest known public prefix>…<last 4>`, e.g. `sk-proj-…AbCd`.
 * Reveals nothing beyond the prefix plus 4 characters, and no tail at all when the part after
 * the prefix is shorter than MIN_CHARS_FOR_TAIL (20) characters. Counts code points so a tail never splits a surrogate pair.
 */
export function redactSecret(secret: string, knownPrefixes: readonly string[] = []): string {
  const s = normalizeSecret(secret);
  let prefix = '';
  for (const p of knownPrefixes) {
    if (p.length > prefix.length && s.startsWith(p)) prefix = p;
  }
  const rest = Array.from(s.slice(prefix.length));
  const tail = rest.length >= MIN_CHARS_FOR_TAIL ? rest.slice(-TAIL_CHARS).join('') : '';
  return `${prefix}${ELLIPSIS}${tail}`;
}

/** Redaction for Keyplane's own tokens (`kp_`, `kpg_`, `whsec_`). */
export function redactToken(token: string): string {
  return redactSecret(token, TOKEN_PREFIXES);
}

/**
 * Last-line defence for error text that may echo a secret (e.g. an upstream error body).
 * Every occurrence of a secret, and of any 12-character window of it (catches truncated
 * or partially quoted keys), is replaced; overlapping hits collapse into one marker.
 * Secrets shorter than 12 characters are only matched whole.
 */
export function scrubText(text: string, secrets: readonly string[]): string {
  const hidden = new Uint8Array(text.length);
  const windows = new Set<string>();

  for (const raw of secrets) {
    const s = normalizeSecret(raw);
    if (s === '') continue;
    if (s.length < SCRUB_WINDOW) {
      for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + 1)) hidden.fill(1, i, i + s.length);
    } else {
      for (let i = 0; i + SCRUB_WINDOW <= s.length; i++) windows.add(s.slice(i, i + SCRUB_WINDOW));
    }
  }
  if (windows.size > 0) {
    for (let i = 0; i + SCRUB_WINDOW <= text.length; i++) {
      if (windows.has(text.slice(i, i + SCRUB_WINDOW))) hidden.fill(1, i, i + SCRUB_WINDOW);
    }
  }

  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!hidden[i]) out += text[i];
    else if (i === 0 || !hidden[i - 1]) out += REDACTED;
  }
  return out;
}
