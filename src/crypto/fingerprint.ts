import { createHmac } from 'node:crypto';

const MIN_PEPPER_BYTES = 32;

/**
 * Only surrounding whitespace is removed: keys pasted from consoles, .env files and chat
 * often carry a trailing newline or leading space, which would otherwise make the same key
 * look new. Internal characters are significant (a key differing anywhere is a different key),
 * and no case folding either: provider keys are case-sensitive.
 */
export function normalizeSecret(s: string): string {
  return s.trim();
}

/**
 * Keyed HMAC so duplicate keys can be detected across rows without decrypting them.
 * A plain hash would let anyone with a DB dump confirm a guessed key offline; the pepper
 * prevents that. It must be separate from the KEKs so that one leaking does not weaken the other.
 */
export class Fingerprinter {
  readonly #pepper: Buffer;

  constructor(pepper: Buffer) {
    if (!Buffer.isBuffer(pepper) || pepper.length < MIN_PEPPER_BYTES) {
      throw new TypeError(`fingerprint pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
    }
    this.#pepper = Buffer.from(pepper); // own copy: the caller may zero theirs
  }

  fingerprint(secret: string): Buffer {
    return createHmac('sha256', this.#pepper).update(normalizeSecret(secret), 'utf8').digest();
  }

  fingerprintHex(secret: string): string {
    return this.fingerprint(secret).toString('hex');
  }

  /**
   * A keyed hash of anything else under the same pepper, in its own domain: the domain and a NUL
   * come first, so it never equals a key's fingerprint and one domain's hash never matches another's.
   * The data is taken as it is (no trimming).
   */
  keyedHash(domain: string, data: string): Buffer {
    return createHmac('sha256', this.#pepper).update(`keyplane:${domain}\0`, 'utf8').update(data, 'utf8').digest();
  }
}
