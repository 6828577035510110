import { randomBytes } from 'node:crypto';

/** Key-encryption keys are AES-256 keys. */
export const KEY_BYTES = 32;
// Versions are written into the AAD as a uint32, so they must fit one.
const MAX_VERSION = 0xffff_ffff;
// Strict standard base64: Buffer.from(s, 'base64') silently skips junk, which would
// let a typo'd key "parse" into different bytes than the operator meant.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Messages name the entry position and the problem, never the text of the entry:
 * a malformed spec is still mostly key material, and config errors end up in logs.
 */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

export interface Keyring {
  /**
   * The version new seals use: the highest one, unless the operator names another
   * (KEYPLANE_MASTER_KEY_CURRENT), which lets a new version be installed everywhere before it is used.
   */
  readonly current: number;
  has(version: number): boolean;
  /** A copy of the key, so callers may zero-fill it after use. */
  get(version: number): Buffer;
  versions(): number[];
}

class StaticKeyring implements Keyring {
  // ES private field: invisible to util.inspect / JSON.stringify, so logging the
  // keyring object by accident prints no key bytes.
  readonly #keys: ReadonlyMap<number, Buffer>;
  readonly current: number;

  constructor(keys: Map<number, Buffer>, current?: number) {
    this.#keys = keys;
    this.current = current ?? Math.max(...keys.keys());
  }

  has(version: number): boolean {
    return this.#keys.has(version);
  }

  get(version: number): Buffer {
    const key = this.#keys.get(version);
    if (!key) throw new KeyringError(`unknown key version ${Number(version)}`);
    return Buffer.from(key);
  }

  versions(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }
}

/**
 * Parses `VERSION:BASE64[,VERSION:BASE64...]`; a bare `BASE64` entry is version 1. `current` picks the
 * version new seals use (default: the highest); it must be in the ring.
 */
export function parseKeyring(spec: string, current?: number | null): Keyring {
  const entries = spec.split(',').map((e) => e.trim());
  if (entries.length === 1 && entries[0] === '') throw new KeyringError('keyring is empty');

  const keys = new Map<number, Buffer>();
  entries.forEach((entry, i) => {
    const where = `keyring entry ${i + 1}`;
    if (entry === '') throw new KeyringError(`${where} is empty`);
    const colon = entry.indexOf(':');
    const versionText = colon === -1 ? '1' : entry.slice(0, colon).trim();
    const keyText = colon === -1 ? entry : entry.slice(colon + 1).trim();

    if (!/^[1-9][0-9]*$/.test(versionText) || Number(versionText) > MAX_VERSION) {
      throw new KeyringError(`${where}: version must be a positive integer up to ${MAX_VERSION}`);
    }
    const version = Number(versionText);
    if (!BASE64.test(keyText)) throw new KeyringError(`${where}: key is not valid base64`);
    const key = Buffer.from(keyText, 'base64');
    if (key.length !== KEY_BYTES) {
      key.fill(0);
      throw new KeyringError(`${where}: key must decode to ${KEY_BYTES} bytes, got ${key.length}`);
    }
    if (keys.has(version)) throw new KeyringError(`${where}: duplicate key version ${version}`);
    keys.set(version, key);
  });
  if (current != null && !keys.has(current)) {
    for (const key of keys.values()) key.fill(0);
    throw new KeyringError(`current key version ${Number(current)} is not in the keyring`);
  }
  return new StaticKeyring(keys, current ?? undefined);
}

/**
 * The current-version setting (KEYPLANE_MASTER_KEY_CURRENT): unset or empty is null (the highest
 * version); otherwise a positive integer. Pure, so config.ts and the CLI agree.
 */
export function parseCurrentVersion(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const t = text.trim();
  if (!/^[1-9][0-9]*$/.test(t) || Number(t) > MAX_VERSION)
    throw new KeyringError(`current key version must be a positive integer up to ${MAX_VERSION}`);
  return Number(t);
}

/** The text parseKeyring reads (`KEYPLANE_MASTER_KEYS`), for `[version, base64 key]` entries. */
export function formatKeyring(entries: readonly (readonly [version: number, key: string])[]): string {
  return entries.map(([version, key]) => `${version}:${key}`).join(',');
}

/** Fresh key material for a new keyring entry (base64 of 32 random bytes). */
export function generateKeyMaterial(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
