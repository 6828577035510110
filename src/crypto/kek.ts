import { gcmDecrypt, gcmEncrypt, IV_BYTES, TAG_BYTES } from './aes-gcm';
import { KeyVersionUnavailableError } from './errors';
import { KEY_BYTES, KeyringError, type Keyring } from './keyring';

/**
 * Where key-encryption keys live (docs/kek-providers.md). A provider wraps and unwraps 32-byte data
 * keys under the KEK versions it holds; SecretBox does everything else (data encryption, AAD, format).
 *
 * Contract, for every implementation (local, pkcs11; AWS KMS, GCP KMS, Vault Transit would be one file each):
 * - `aad` must be authenticated: unwrap with any other aad, version or blob fails. A backend that
 *   cannot bind it must not be a provider.
 * - Bad input (tampered, truncated, wrong aad) throws any error that is not a KeyVersionUnavailableError
 *   (SecretBox turns it into DecryptError, and the record is reported unreadable).
 * - The backend being unreachable, logged out or without the key throws KekUnavailableError
 *   (transient: the API answers SERVICE_UNAVAILABLE, workers retry, nothing is marked). When in
 *   doubt, unavailable: a record wrongly marked unreadable is worse than a retry.
 * - Never logs or puts in an error a key, a data key, a PIN or a credential of the backend.
 */
export interface KekProvider {
  /** 'local', 'pkcs11', ...: for messages, logs and the custody view. */
  readonly kind: string;
  /** The KEK versions this provider holds, ascending. */
  versions(): number[];
  wrap(dataKey: Buffer, version: number, aad: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer, version: number, aad: Buffer): Promise<Buffer>;
  /** Connects and proves every version is usable; throws a message naming what is wrong. */
  verify?(): Promise<void>;
  close?(): Promise<void>;
}

const WRAPPED_BYTES = IV_BYTES + TAG_BYTES + KEY_BYTES;

/** KEKs held in this process's memory (KEYPLANE_MASTER_KEYS): AES-256-GCM in node:crypto. */
export class LocalKekProvider implements KekProvider {
  readonly kind = 'local';
  // ES private field: logging the provider prints no key bytes.
  readonly #keyring: Keyring;

  constructor(keyring: Keyring) {
    this.#keyring = keyring;
  }

  versions(): number[] {
    return this.#keyring.versions();
  }

  async wrap(dataKey: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    const kek = this.#keyring.get(version);
    try {
      return gcmEncrypt(kek, dataKey, aad);
    } finally {
      kek.fill(0);
    }
  }

  async unwrap(wrapped: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    if (wrapped.length !== WRAPPED_BYTES) throw new Error('bad wrapped key');
    const kek = this.#keyring.get(version);
    try {
      return gcmDecrypt(kek, wrapped, aad);
    } finally {
      kek.fill(0);
    }
  }
}

/**
 * Every KEK version this process holds, across providers, and the one new seals use. Versions are
 * one number space: a version lives in exactly one provider, so a keyring where version 1 is local
 * and version 2 is an HSM key can serve both while the rewrap job moves records from 1 to 2.
 */
export class KekRing {
  readonly current: number;
  readonly #byVersion = new Map<number, KekProvider>();

  constructor(
    readonly providers: readonly KekProvider[],
    current?: number | null,
  ) {
    for (const p of providers) {
      for (const v of p.versions()) {
        const other = this.#byVersion.get(v);
        if (other) throw new KeyringError(`key version ${v} is configured twice (${other.kind} and ${p.kind})`);
        this.#byVersion.set(v, p);
      }
    }
    if (this.#byVersion.size === 0) throw new KeyringError('no key version is configured');
    if (current != null && !this.#byVersion.has(current)) throw new KeyringError(`current key version ${Number(current)} is not in the keyring`);
    this.current = current ?? Math.max(...this.#byVersion.keys());
  }

  static local(keyring: Keyring): KekRing {
    return new KekRing([new LocalKekProvider(keyring)], keyring.current);
  }

  versions(): number[] {
    return [...this.#byVersion.keys()].sort((a, b) => a - b);
  }

  has(version: number): boolean {
    return this.#byVersion.has(version);
  }

  /** 'local', 'pkcs11', ... for the version, or null when not held. */
  providerOf(version: number): string | null {
    return this.#byVersion.get(version)?.kind ?? null;
  }

  wrap(dataKey: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    return this.#provider(version).wrap(dataKey, version, aad);
  }

  unwrap(wrapped: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    return this.#provider(version).unwrap(wrapped, version, aad);
  }

  async verify(): Promise<void> {
    for (const p of this.providers) await p.verify?.();
  }

  async close(): Promise<void> {
    for (const p of this.providers) await p.close?.();
  }

  #provider(version: number): KekProvider {
    const p = this.#byVersion.get(version);
    if (!p) throw new KeyVersionUnavailableError(version);
    return p;
  }
}
