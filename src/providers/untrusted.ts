/**
 * Provider answers are untrusted input: a custom or repointed base URL can answer anything, and
 * real providers echo parts of a key back. Everything of an answer that Keyplane keeps or shows
 * passes through here first. Anything that holds a piece of the key is dropped, never rewritten:
 * a "cleaned" model id would still be the provider's choice of text next to our secret.
 */
import { normalizeSecret } from '../crypto';
import type { KeyTestResult } from './types';

/** Model ids kept per check; the rest are dropped and counted. */
export const MAX_MODELS = 500;
export const MAX_MODEL_ID_LENGTH = 128;
/** Letters, digits and the separators real model ids use (ft:…, org/model, name@version, a+b). */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9._:/@+-]+$/;
/** Any piece of the key this long is treated as the key. */
export const FRAGMENT_LENGTH = 8;

export interface ModelList {
  ids: string[];
  /** Entries the provider listed that were not kept (not a sane id, or over MAX_MODELS). */
  dropped: number;
}

export const NO_MODELS: ModelList = Object.freeze({ ids: [], dropped: 0 }) as ModelList;

/** Sorted, de-duplicated, bounded ids; an entry that is not a sane id is dropped and counted. */
export function boundModelIds(entries: readonly unknown[]): ModelList {
  const ids = new Set<string>();
  let dropped = 0;
  for (const id of entries) {
    if (typeof id === 'string' && id.length <= MAX_MODEL_ID_LENGTH && MODEL_ID_PATTERN.test(id)) ids.add(id);
    else dropped++;
  }
  const sorted = [...ids].sort();
  return { ids: sorted.slice(0, MAX_MODELS), dropped: dropped + Math.max(0, sorted.length - MAX_MODELS) };
}

/**
 * Recognizes a secret in untrusted text: any FRAGMENT_LENGTH window of it, case-insensitively,
 * as is, hex-encoded, base64/base64url-encoded (at any byte alignment) or percent-encoded.
 * Linear in the text: every window of the text is one Set lookup per encoding.
 */
export class SecretMatcher {
  private readonly plain = new Set<string>();
  private readonly hex = new Set<string>();
  private readonly b64 = new Set<string>();
  private readonly whole: string | null;

  constructor(secret: string) {
    const raw = normalizeSecret(secret);
    const s = raw.toLowerCase();
    // A key shorter than a window can only be matched whole (a custom rule may allow one).
    this.whole = s.length > 0 && s.length < FRAGMENT_LENGTH ? s : null;
    for (let i = 0; i + FRAGMENT_LENGTH <= s.length; i++) {
      this.plain.add(s.slice(i, i + FRAGMENT_LENGTH));
      // Encodings see the key's own case; the encoded text is then folded like the text.
      this.hex.add(Buffer.from(raw.slice(i, i + FRAGMENT_LENGTH), 'utf8').toString('hex'));
    }
    for (let shift = 0; shift < 3; shift++) {
      for (const enc of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(raw.slice(shift), 'utf8').toString(enc).replace(/=+$/, '');
        // 12 characters encode 9 whole bytes; the last group depends on what follows the key.
        for (let i = 0; i + 12 <= encoded.length - 4; i += 4) this.b64.add(encoded.slice(i, i + 12).toLowerCase());
      }
    }
  }

  contains(text: string): boolean {
    const candidates = [text.toLowerCase()];
    if (text.includes('%')) {
      try {
        candidates.push(decodeURIComponent(text).toLowerCase());
      } catch {
        // Not valid percent-encoding: the text as it is was checked already.
      }
    }
    return candidates.some((t) => this.inText(t));
  }

  private inText(t: string): boolean {
    if (this.whole !== null && t.includes(this.whole)) return true;
    return hasWindow(t, FRAGMENT_LENGTH, this.plain) || hasWindow(t, FRAGMENT_LENGTH * 2, this.hex) || hasWindow(t, 12, this.b64);
  }
}

function hasWindow(text: string, size: number, set: ReadonlySet<string>): boolean {
  if (set.size === 0) return false;
  for (let i = 0; i + size <= text.length; i++) if (set.has(text.slice(i, i + size))) return true;
  return false;
}

/** Messages are ours, but carry numbers the provider chose; if even those match, say nothing specific. */
const WITHHELD = 'The provider answer was withheld because it contained part of the key.';

/**
 * The one exit of the provider layer: bounds the model list again (whatever a validator did),
 * drops every model id that holds a piece of the key, and clears any other field that does.
 * The count of dropped ids, and why, is told in modelsDropped and in the message.
 */
export function sanitizeResult(result: KeyTestResult, secret: string): KeyTestResult {
  const matcher = new SecretMatcher(secret);
  const bounded = boundModelIds(result.models);
  const models = bounded.ids.filter((id) => !matcher.contains(id));
  const echoed = bounded.ids.length - models.length;
  const dropped = (result.modelsDropped ?? 0) + bounded.dropped + echoed;

  const retryAfterSeconds = result.retryAfterSeconds !== null && matcher.contains(String(result.retryAfterSeconds)) ? null : result.retryAfterSeconds;
  let message = matcher.contains(result.message) ? WITHHELD : result.message;
  if (echoed > 0) message += ` ${echoed} listed model id(s) contained part of the key and were dropped.`;
  if (dropped > echoed) message += ` ${dropped - echoed} listed model id(s) were dropped (malformed, or over the limit of ${MAX_MODELS}).`;
  return { ...result, models, modelsDropped: dropped, retryAfterSeconds, message };
}
