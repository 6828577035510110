import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenPrefix = 'kp' | 'kpg' | 'whsec';
const TOKEN_BYTES = 32;
const DIGEST_BYTES = 32;

/**
 * `kp_`/`kpg_` + 43 chars base64url (256 random bits; URL- and header-safe, no padding).
 * `whsec_` + standard base64, the Standard Webhooks secret format that receivers' libraries expect.
 */
export function generateToken(prefix: TokenPrefix): string {
  const bytes = randomBytes(TOKEN_BYTES);
  try {
    switch (prefix) {
      case 'kp':
      case 'kpg':
        return `${prefix}_${bytes.toString('base64url')}`;
      case 'whsec':
        return `whsec_${bytes.toString('base64')}`;
      default:
        throw new TypeError('unknown token prefix');
    }
  } finally {
    bytes.fill(0);
  }
}

/**
 * SHA-256 is enough here: slow hashes (scrypt, argon2) exist to make guessing low-entropy
 * passwords expensive. A 256-bit random token cannot be guessed or brute-forced from its hash,
 * and a fast, unsalted, deterministic hash lets us look tokens up by an indexed column.
 */
export function hashToken(token: string): Buffer {
  // One-shot hash (Node >= 20.12) where there is one: it runs on every request and costs a third as much.
  return oneShotHash ? oneShotHash('sha256', token, 'buffer') : createHash('sha256').update(token, 'utf8').digest();
}
const oneShotHash = (nodeCrypto as unknown as { hash?: (algorithm: string, data: string, output: 'buffer') => Buffer }).hash;

/**
 * Constant-time equality. Both sides are hashed to a fixed 32 bytes first, so unequal lengths
 * return false without throwing (timingSafeEqual would) and without an early exit that leaks length.
 * Two 32-byte buffers (digests, e.g. from hashToken, compared on every request) are compared as they
 * are, with no further hashing or allocation: that they are 32 bytes long is all the branch shows,
 * and a digest's length is public.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.length === DIGEST_BYTES && b.length === DIGEST_BYTES) return timingSafeEqual(a, b);
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
