import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
  /** iv(12) | tag(16) | AES-256-GCM(KEK, data key) */
  wrappedKey: Buffer;
  /** format(1) | iv(12) | tag(16) | AES-256-GCM(data key, plaintext) */
  ciphertext: Buffer;
}

/** The only error `open`/`rewrap` throw: one fixed message, no cause, so nothing about the input leaks. */
export class DecryptError extends Error {
  override readonly name: string = 'DecryptError';
  readonly code: string = 'DECRYPT_FAILED';
  constructor() {
    super('secret could not be decrypted');
  }
}

/**
 * The record is sealed under a KEK version this process's keyring lacks. Not tampering and not
 * transient in the usual sense: nothing opens it until the keyring gains the version, so callers
 * answer SERVICE_UNAVAILABLE (API) or stop at once (workers) instead of retrying or marking the
 * record unreadable. A DecryptError, so code that only knows "does not open" still fails closed.
 */
export class KeyVersionUnavailableError extends DecryptError {
  override readonly name: string = 'KeyVersionUnavailableError';
  override readonly code: string = 'KEK_VERSION_UNAVAILABLE';
  constructor(readonly kekVersion: number) {
    super();
    this.message = `sealed under key version ${kekVersion}, which is not in this process's keyring`;
  }
}

const ALG = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_V1 = 0x01;
const WRAPPED_KEY_BYTES = IV_BYTES + TAG_BYTES + KEY_BYTES;
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

function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES); // fresh per call; GCM is catastrophically broken by IV reuse
  const cipher = createCipheriv(ALG, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Throws on any tamper; callers translate to DecryptError. */
function decrypt(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
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

/**
 * Envelope encryption: each secret gets its own random data key, wrapped by the keyring's
 * current KEK. Rotating the KEK only rewraps 60-byte keys; ciphertexts stay untouched.
 */
export class SecretBox {
  constructor(private readonly keyring: Keyring) {}

  /** `kekVersion` (default: the current one) is for key custody's per-version check values only. */
  seal(plaintext: string, ctx: SealContext, kekVersion: number = this.keyring.current): Sealed {
    assertContext(ctx);
    const kek = this.keyring.get(kekVersion);
    const dataKey = randomBytes(KEY_BYTES);
    const pt = Buffer.from(plaintext, 'utf8');
    try {
      const body = encrypt(dataKey, pt, dataAad(ctx));
      return {
        kekVersion,
        wrappedKey: encrypt(kek, dataKey, wrapAad(ctx, kekVersion)),
        ciphertext: Buffer.concat([Buffer.from([FORMAT_V1]), body]),
      };
    } finally {
      pt.fill(0);
      dataKey.fill(0);
      kek.fill(0);
    }
  }

  open(sealed: Sealed, ctx: SealContext): string {
    let dataKey: Buffer | undefined;
    let pt: Buffer | undefined;
    try {
      dataKey = this.unwrap(sealed, ctx);
      const ct = sealed.ciphertext;
      if (!Buffer.isBuffer(ct) || ct.length < 1 + IV_BYTES + TAG_BYTES || ct[0] !== FORMAT_V1) {
        throw new Error('bad ciphertext');
      }
      pt = decrypt(dataKey, ct.subarray(1), dataAad(ctx));
      return pt.toString('utf8');
    } catch (error) {
      throw error instanceof KeyVersionUnavailableError ? error : new DecryptError();
    } finally {
      dataKey?.fill(0);
      pt?.fill(0);
    }
  }

  /** The KEK versions this process holds, ascending. */
  keyVersions(): number[] {
    return this.keyring.versions();
  }

  /** Whether this process can open records sealed under `kekVersion`. */
  hasKeyVersion(kekVersion: number): boolean {
    return this.keyring.has(kekVersion);
  }

  /** The version new seals use. */
  get currentKeyVersion(): number {
    return this.keyring.current;
  }

  /**
   * Re-wraps the data key under the current KEK; the ciphertext bytes are carried over unchanged.
   * The ciphertext is authenticated first (and the plaintext wiped): a record that would not open
   * is never given a fresh wrap that makes it look healthy.
   */
  rewrap(sealed: Sealed, ctx: SealContext): Sealed {
    let dataKey: Buffer | undefined;
    let kek: Buffer | undefined;
    try {
      dataKey = this.unwrap(sealed, ctx);
      const ct = sealed.ciphertext;
      if (!Buffer.isBuffer(ct) || ct.length < 1 + IV_BYTES + TAG_BYTES || ct[0] !== FORMAT_V1) throw new Error('bad ciphertext');
      decrypt(dataKey, ct.subarray(1), dataAad(ctx)).fill(0);
      const kekVersion = this.keyring.current;
      kek = this.keyring.get(kekVersion);
      return {
        kekVersion,
        wrappedKey: encrypt(kek, dataKey, wrapAad(ctx, kekVersion)),
        ciphertext: Buffer.from(sealed.ciphertext),
      };
    } catch (error) {
      throw error instanceof KeyVersionUnavailableError ? error : new DecryptError();
    } finally {
      dataKey?.fill(0);
      kek?.fill(0);
    }
  }

  /** Any failure throws a plain Error; public callers map it to DecryptError. */
  private unwrap(sealed: Sealed, ctx: SealContext): Buffer {
    assertContext(ctx);
    if (!isUint32(sealed?.kekVersion) || !Buffer.isBuffer(sealed.wrappedKey)) throw new Error('bad envelope');
    if (sealed.wrappedKey.length !== WRAPPED_KEY_BYTES) throw new Error('bad wrapped key');
    if (!this.keyring.has(sealed.kekVersion)) throw new KeyVersionUnavailableError(sealed.kekVersion);
    const kek = this.keyring.get(sealed.kekVersion);
    try {
      return decrypt(kek, sealed.wrappedKey, wrapAad(ctx, sealed.kekVersion));
    } finally {
      kek.fill(0);
    }
  }
}
