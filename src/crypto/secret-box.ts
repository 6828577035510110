import { randomBytes } from 'node:crypto';
import { gcmDecrypt as decrypt, gcmEncrypt as encrypt, IV_BYTES, TAG_BYTES } from './aes-gcm';
import { DecryptError, KeyVersionUnavailableError } from './errors';
import { KekRing } from './kek';
import { KEY_BYTES, type Keyring } from './keyring';

/** What a ciphertext belongs to. Bound into the AAD, so a sealed value only opens where it was written. */
export interface SealContext {
  purpose: string;
  tenantId: string;
  objectId: string;
  version: number;
}

export interface Sealed {
  kekVersion: number;
  /** iv(12) | tag(16) | AES-256-GCM(KEK, data key), whichever provider holds the KEK (local, pkcs11) */
  wrappedKey: Buffer;
  /** format(1) | iv(12) | tag(16) | AES-256-GCM(data key, plaintext) */
  ciphertext: Buffer;
}

export { DecryptError, KeyVersionUnavailableError, KekUnavailableError } from './errors';

const FORMAT_V1 = 0x01;
const UINT32_MAX = 0xffff_ffff;

// Distinct labels keep a wrapped key and a ciphertext from ever sharing an AAD,
// and leave room for a future format without ambiguity.
const DATA_LABEL = 'keyplane/secret-box/data/v1';
const WRAP_LABEL = 'keyplane/secret-box/wrap/v1';

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function field(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= UINT32_MAX;
}

function assertContext(ctx: SealContext): void {
  for (const k of ['purpose', 'tenantId', 'objectId'] as const) {
    if (typeof ctx[k] !== 'string' || ctx[k] === '') throw new TypeError(`SealContext.${k} must be a non-empty string`);
  }
  if (!isUint32(ctx.version)) throw new TypeError('SealContext.version must be a uint32 integer');
}

// Length-prefixed, fixed field order: no two distinct contexts serialize to the same bytes
// (e.g. tenant "a|b" + object "c" vs tenant "a" + object "b|c").
function contextAad(label: string, ctx: SealContext, extra: Buffer[] = []): Buffer {
  return Buffer.concat([field(label), field(ctx.purpose), field(ctx.tenantId), field(ctx.objectId), uint32(ctx.version), ...extra]);
}

// The format byte is authenticated too, so it cannot be flipped to steer parsing.
const dataAad = (ctx: SealContext) => contextAad(DATA_LABEL, ctx, [Buffer.from([FORMAT_V1])]);
const wrapAad = (ctx: SealContext, kekVersion: number) => contextAad(WRAP_LABEL, ctx, [uint32(kekVersion)]);

/**
 * Envelope encryption: each secret gets its own random data key, wrapped by the keyring's
 * current KEK. Rotating the KEK only rewraps 60-byte keys; ciphertexts stay untouched.
 * The KEK itself may live in this process (local) or in an HSM (pkcs11): the KekRing routes each
 * version to its provider, and the same AAD is bound into the wrap whichever it is.
 */
export class SecretBox {
  readonly keks: KekRing;

  constructor(keys: Keyring | KekRing) {
    this.keks = keys instanceof KekRing ? keys : KekRing.local(keys);
  }

  /** `kekVersion` (default: the current one) is for key custody's per-version check values only. */
  async seal(plaintext: string, ctx: SealContext, kekVersion: number = this.keks.current): Promise<Sealed> {
    assertContext(ctx);
    const dataKey = randomBytes(KEY_BYTES);
    const pt = Buffer.from(plaintext, 'utf8');
    try {
      const body = encrypt(dataKey, pt, dataAad(ctx));
      return {
        kekVersion,
        wrappedKey: await this.keks.wrap(dataKey, kekVersion, wrapAad(ctx, kekVersion)),
        ciphertext: Buffer.concat([Buffer.from([FORMAT_V1]), body]),
      };
    } finally {
      pt.fill(0);
      dataKey.fill(0);
    }
  }

  async open(sealed: Sealed, ctx: SealContext): Promise<string> {
    let dataKey: Buffer | undefined;
    let pt: Buffer | undefined;
    try {
      dataKey = await this.unwrap(sealed, ctx);
      const ct = sealed.ciphertext;
      if (!Buffer.isBuffer(ct) || ct.length < 1 + IV_BYTES + TAG_BYTES || ct[0] !== FORMAT_V1) {
        throw new Error('bad ciphertext');
      }
      pt = decrypt(dataKey, ct.subarray(1), dataAad(ctx));
      return pt.toString('utf8');
    } catch (error) {
      // KeyVersionUnavailableError includes KekUnavailableError (an HSM that cannot be reached).
      throw error instanceof KeyVersionUnavailableError ? error : new DecryptError();
    } finally {
      dataKey?.fill(0);
      pt?.fill(0);
    }
  }

  /** The KEK versions this process holds, ascending. */
  keyVersions(): number[] {
    return this.keks.versions();
  }

  /** Whether this process can open records sealed under `kekVersion`. */
  hasKeyVersion(kekVersion: number): boolean {
    return this.keks.has(kekVersion);
  }

  /** The version new seals use. */
  get currentKeyVersion(): number {
    return this.keks.current;
  }

  /**
   * Re-wraps the data key under the current KEK; the ciphertext bytes are carried over unchanged.
   * The ciphertext is authenticated first (and the plaintext wiped): a record that would not open
   * is never given a fresh wrap that makes it look healthy.
   */
  async rewrap(sealed: Sealed, ctx: SealContext): Promise<Sealed> {
    let dataKey: Buffer | undefined;
    try {
      dataKey = await this.unwrap(sealed, ctx);
      const ct = sealed.ciphertext;
      if (!Buffer.isBuffer(ct) || ct.length < 1 + IV_BYTES + TAG_BYTES || ct[0] !== FORMAT_V1) throw new Error('bad ciphertext');
      decrypt(dataKey, ct.subarray(1), dataAad(ctx)).fill(0);
      const kekVersion = this.keks.current;
      return {
        kekVersion,
        wrappedKey: await this.keks.wrap(dataKey, kekVersion, wrapAad(ctx, kekVersion)),
        ciphertext: Buffer.from(sealed.ciphertext),
      };
    } catch (error) {
      throw error instanceof KeyVersionUnavailableError ? error : new DecryptError();
    } finally {
      dataKey?.fill(0);
    }
  }

  /** Any failure throws a plain Error (or KeyVersionUnavailableError); public callers map it to DecryptError. */
  private async unwrap(sealed: Sealed, ctx: SealContext): Promise<Buffer> {
    assertContext(ctx);
    if (!isUint32(sealed?.kekVersion) || !Buffer.isBuffer(sealed.wrappedKey)) throw new Error('bad envelope');
    if (!this.keks.has(sealed.kekVersion)) throw new KeyVersionUnavailableError(sealed.kekVersion);
    return this.keks.unwrap(sealed.wrappedKey, sealed.kekVersion, wrapAad(ctx, sealed.kekVersion));
  }
}
