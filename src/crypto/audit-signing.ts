import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Keyring } from './keyring';

// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// DER prefix of an SPKI Ed25519 public key; the 32-byte key follows.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface AuditPublicKey {
  version: number;
  algorithm: 'Ed25519';
  /** The raw 32-byte public key, base64. */
  publicKey: string;
}

/**
 * Ed25519 keys that sign audit checkpoints (KEYPLANE_AUDIT_SIGNING_KEYS: `VERSION:BASE64` entries
 * of 32-byte seeds, the keyring format of the master keys). Private keys live in this object only:
 * never in the database, never logged (ES private field). New checkpoints use the highest version;
 * older versions stay to verify what they signed.
 */
export class AuditSigner {
  readonly #keys: ReadonlyMap<number, { privateKey: KeyObject; publicKey: KeyObject }>;
  readonly current: number;

  constructor(ring: Keyring) {
    const keys = new Map<number, { privateKey: KeyObject; publicKey: KeyObject }>();
    for (const version of ring.versions()) {
      const seed = ring.get(version);
      const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
      const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      seed.fill(0);
      der.fill(0);
      keys.set(version, { privateKey, publicKey: createPublicKey(privateKey) });
    }
    this.#keys = keys;
    this.current = ring.current;
  }

  sign(message: string): { keyVersion: number; signature: string } {
    const key = this.#keys.get(this.current)!;
    return { keyVersion: this.current, signature: sign(null, Buffer.from(message, 'utf8'), key.privateKey).toString('base64') };
  }

  publicKeys(): AuditPublicKey[] {
    return [...this.#keys.entries()]
      .sort(([a], [b]) => a - b)
      .map(([version, k]) => ({ version, algorithm: 'Ed25519' as const, publicKey: rawPublicKey(k.publicKey).toString('base64') }));
  }
}

function rawPublicKey(key: KeyObject): Buffer {
  return (key.export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_ED25519_PREFIX.length);
}

/** Verifies a checkpoint signature against published keys (what an offline verifier does too). */
export function verifyAuditSignature(keys: readonly AuditPublicKey[], keyVersion: number, message: string, signature: string): boolean {
  const entry = keys.find((k) => k.version === keyVersion);
  if (!entry) return false;
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(entry.publicKey, 'base64')]),
    format: 'der',
    type: 'spki',
  });
  try {
    return verify(null, Buffer.from(message, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
