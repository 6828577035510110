import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALG = 'aes-256-gcm';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** iv(12) | tag(16) | AES-256-GCM(key, plaintext), with `aad` authenticated. */
export function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES); // fresh per call; GCM is catastrophically broken by IV reuse
  const cipher = createCipheriv(ALG, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Throws on any tamper; callers translate to DecryptError. */
export function gcmDecrypt(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new Error('truncated');
  const decipher = createDecipheriv(ALG, key, blob.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  decipher.setAAD(aad);
  const head = decipher.update(blob.subarray(IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([head, decipher.final()]);
  } finally {
    head.fill(0); // unauthenticated or copied plaintext: never let it linger
  }
}
