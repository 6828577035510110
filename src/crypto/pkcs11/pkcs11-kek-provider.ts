import { randomBytes } from 'node:crypto';
import type { Handle } from 'pkcs11js';
import { KekUnavailableError } from '../errors';
import type { KekProvider } from '../kek';
import type { SecretText } from '../secret-text';
import { acquireLibrary, ckr, closeQuietly, Pkcs11SetupError, reinitializeLibrary, releaseLibrary, type Pkcs11Library } from './pkcs11-library';

export { Pkcs11SetupError } from './pkcs11-library';

export interface Pkcs11Settings {
  /** KEYPLANE_PKCS11_MODULE: path of the vendor's PKCS#11 library (.so). */
  modulePath: string;
  /** KEYPLANE_PKCS11_TOKEN_LABEL */
  tokenLabel: string;
  /** KEYPLANE_PKCS11_PIN or the content of KEYPLANE_PKCS11_PIN_FILE (user PIN). */
  pin: SecretText;
  /** KEK version -> label of its AES-256 secret key object in the token. */
  keyLabels: ReadonlyMap<number, string>;
  /** Sessions kept open (KEYPLANE_PKCS11_SESSIONS): how many wraps may run in the HSM at once. */
  sessions: number;
  /** Wait after a failed (re)connect before trying again. */
  reconnectDelayMs?: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const WRAPPED_BYTES = IV_BYTES + TAG_BYTES + KEY_BYTES;
const PROBE_AAD = Buffer.from('keyplane/pkcs11/probe/v1');

/**
 * Return codes that say the session, login, module or device is gone rather than anything about
 * the data: the connection is dropped and opened again on a later call.
 */
const CONNECTION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_COUNT',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_HOST_MEMORY',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_SLOT_ID_INVALID',
]);
/** A PIN the token refused: never tried again by this process (each try counts towards locking the token). */
const PIN_REFUSED = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_EXPIRED', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE']);

interface Connection {
  lib: Pkcs11Library;
  slot: Handle;
  keys: Map<number, Handle>;
  idle: Handle[];
  open: Set<Handle>;
  live: boolean;
}

/**
 * KEKs as non-extractable AES-256 key objects in a PKCS#11 token (an HSM; SoftHSM2 in tests).
 *
 * Mechanism: CKM_AES_GCM encryption of the 32-byte data key (C_Encrypt/C_Decrypt inside the HSM),
 * with the same AAD the local provider binds (tenant, object, version, KEK version). Chosen over
 * C_WrapKey with CKM_AES_KEY_WRAP_PAD, which has no AAD (so a wrapped key could be moved between
 * records unless a second MAC were added) and needs the data key as a token object, then made
 * extractable again on unwrap: three or four calls per operation instead of one. The stored layout
 * (iv | tag | ciphertext, 60 bytes) is the local one. The IV is 96 random bits from this process;
 * the GCM parameters follow PKCS#11 2.40/3.x (CK_GCM_PARAMS with ulIvBits).
 *
 * Sessions: one login per process (PKCS#11 login state is per application and token, so every
 * session opened after it is logged in), a pool of `sessions` sessions, each used by one operation
 * at a time; operations run on the libuv thread pool (pkcs11js *Async), so the event loop never
 * waits on the HSM.
 */
export class Pkcs11KekProvider implements KekProvider {
  readonly kind = 'pkcs11';
  readonly #s: Pkcs11Settings;
  #conn: Connection | null = null;
  #connecting: Promise<Connection> | null = null;
  #waiters: (() => void)[] = [];
  #retryAt = 0;
  #lastReason = 'not connected yet';
  #pinRefused: string | null = null;
  #closed = false;

  constructor(settings: Pkcs11Settings) {
    if (settings.keyLabels.size === 0) throw new Pkcs11SetupError('KEYPLANE_PKCS11_KEY_VERSIONS: no key version is configured');
    this.#s = settings;
  }

  versions(): number[] {
    return [...this.#s.keyLabels.keys()].sort((a, b) => a - b);
  }

  /** Label of a version's key object (not secret), for messages and the runbook. */
  labelOf(version: number): string | undefined {
    return this.#s.keyLabels.get(version);
  }

  /** At start: connects, logs in, finds every key object and round-trips a probe under each. Throws Pkcs11SetupError. */
  async verify(): Promise<void> {
    this.#retryAt = 0;
    const conn = await this.#connection();
    const session = await this.#session(conn);
    try {
      for (const [version, key] of conn.keys) {
        if (!(await this.#probe(conn.lib, session, key))) {
          throw new Pkcs11SetupError(
            `KEYPLANE_PKCS11_KEY_VERSIONS: key version ${version} (label ${JSON.stringify(this.labelOf(version))}) failed an AES-GCM round trip in token ${JSON.stringify(this.#s.tokenLabel)}`,
          );
        }
      }
    } finally {
      this.#release(conn, session);
    }
  }

  async wrap(dataKey: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    return this.#run(version, 'wrap', async ({ p, ck }, session, key) => {
      const iv = randomBytes(IV_BYTES);
      p.C_EncryptInit(session, gcm(ck, iv, aad), key);
      const out = await p.C_EncryptAsync(session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES));
      // PKCS#11 returns ciphertext | tag; stored as iv | tag | ciphertext, like the local provider.
      return Buffer.concat([iv, out.subarray(out.length - TAG_BYTES), out.subarray(0, out.length - TAG_BYTES)]);
    });
  }

  async unwrap(wrapped: Buffer, version: number, aad: Buffer): Promise<Buffer> {
    if (wrapped.length !== WRAPPED_BYTES) throw new Error('bad wrapped key');
    const iv = wrapped.subarray(0, IV_BYTES);
    const input = Buffer.concat([wrapped.subarray(IV_BYTES + TAG_BYTES), wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES)]);
    return this.#run(version, 'unwrap', async ({ p, ck }, session, key) => {
      p.C_DecryptInit(session, gcm(ck, iv, aad), key);
      const out = Buffer.alloc(input.length);
      try {
        return Buffer.from(await p.C_DecryptAsync(session, input, out));
      } finally {
        out.fill(0);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const conn = this.#conn ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#conn = null;
    if (conn) this.#drop(conn);
    if (this.#lib) releaseLibrary(this.#lib);
    this.#lib = null;
    for (const w of this.#waiters.splice(0)) w();
  }

  async #run<T>(version: number, op: 'wrap' | 'unwrap', fn: (lib: Pkcs11Library, session: Handle, key: Handle) => Promise<T>): Promise<T> {
    let conn: Connection;
    let session: Handle;
    try {
      conn = await this.#connection();
      session = await this.#session(conn);
    } catch (error) {
      throw this.#unavailable(version, error);
    }
    const key = conn.keys.get(version);
    if (!key) {
      this.#release(conn, session);
      throw new KekUnavailableError(version, 'pkcs11', `no key object for this version in token ${JSON.stringify(this.#s.tokenLabel)}`);
    }
    try {
      const result = await fn(conn.lib, session, key);
      this.#release(conn, session);
      return result;
    } catch (error) {
      const code = ckr(error);
      // Some modules (SoftHSM) answer a failed GCM tag with CKR_GENERAL_ERROR, which may as well be
      // a failing device. A probe on the same key tells them apart: if the HSM round-trips, the data was bad.
      if (op === 'unwrap' && !CONNECTION_LOST.has(code ?? '') && (await this.#probe(conn.lib, session, key))) {
        this.#release(conn, session);
        throw new Error('unwrap refused');
      }
      this.#lastReason = `${op} failed in token ${JSON.stringify(this.#s.tokenLabel)} (${code ?? 'native error'})`;
      this.#drop(conn);
      throw new KekUnavailableError(version, 'pkcs11', this.#lastReason);
    }
  }

  /** Encrypts and decrypts a random block under `key`: true when the HSM works for this key. */
  async #probe({ p, ck }: Pkcs11Library, session: Handle, key: Handle): Promise<boolean> {
    try {
      const block = randomBytes(KEY_BYTES);
      const iv = randomBytes(IV_BYTES);
      p.C_EncryptInit(session, gcm(ck, iv, PROBE_AAD), key);
      const ct = await p.C_EncryptAsync(session, block, Buffer.alloc(KEY_BYTES + TAG_BYTES));
      p.C_DecryptInit(session, gcm(ck, iv, PROBE_AAD), key);
      return (await p.C_DecryptAsync(session, ct, Buffer.alloc(ct.length))).equals(block);
    } catch {
      return false;
    }
  }

  #unavailable(version: number, error: unknown): KekUnavailableError {
    if (error instanceof KekUnavailableError) return error;
    const reason =
      error instanceof Pkcs11SetupError ? error.message : `token ${JSON.stringify(this.#s.tokenLabel)} unreachable (${ckr(error) ?? 'native error'})`;
    return new KekUnavailableError(version, 'pkcs11', reason);
  }

  async #connection(): Promise<Connection> {
    if (this.#conn?.live) return this.#conn;
    if (this.#closed) throw new Pkcs11SetupError('the PKCS#11 provider is closed');
    if (this.#pinRefused) throw new Pkcs11SetupError(this.#pinRefused);
    this.#connecting ??= (async () => {
      if (Date.now() < this.#retryAt) throw new Pkcs11SetupError(`${this.#lastReason}; reconnecting`);
      try {
        const conn = this.#connect();
        this.#conn = conn;
        return conn;
      } catch (error) {
        this.#retryAt = Date.now() + (this.#s.reconnectDelayMs ?? 1000);
        this.#lastReason =
          error instanceof Pkcs11SetupError
            ? error.message
            : `token ${JSON.stringify(this.#s.tokenLabel)} unreachable (${ckr(error) ?? 'native error'})`;
        throw error instanceof Pkcs11SetupError ? error : new Pkcs11SetupError(this.#lastReason);
      }
    })().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  /** Load, initialize, find the token, log in once, find every key object. Synchronous: setup calls are quick. */
  #connect(): Connection {
    const s = this.#s;
    const reconnect = this.#everConnected;
    const lib = this.#lib ?? (this.#lib = acquireLibrary(s.modulePath));
    const { p, ck } = lib;
    if (reconnect) reinitializeLibrary(lib);
    this.#everConnected = true;
    const slot = p.C_GetSlotList(true).find((sl) => p.C_GetTokenInfo(sl).label.trim() === s.tokenLabel);
    if (!slot)
      throw new Pkcs11SetupError(
        `KEYPLANE_PKCS11_TOKEN_LABEL: no token labelled ${JSON.stringify(s.tokenLabel)} is present in ${JSON.stringify(s.modulePath)}`,
      );
    const session = p.C_OpenSession(slot, ck.CKF_SERIAL_SESSION);
    const conn: Connection = { lib, slot, keys: new Map(), idle: [session], open: new Set([session]), live: true };
    try {
      try {
        p.C_Login(session, ck.CKU_USER, s.pin.reveal());
      } catch (error) {
        const code = ckr(error);
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
          const message = `KEYPLANE_PKCS11_PIN: token ${JSON.stringify(s.tokenLabel)} refused the login (${code ?? 'native error'})`;
          if (PIN_REFUSED.has(code ?? ''))
            this.#pinRefused = `${message}; not retried (each try counts towards locking the token): fix the PIN and restart`;
          throw new Pkcs11SetupError(message);
        }
      }
      for (const [version, label] of s.keyLabels) conn.keys.set(version, this.#findKey(lib, session, version, label));
      return conn;
    } catch (error) {
      this.#drop(conn);
      throw error;
    }
  }

  #lib: Pkcs11Library | null = null;
  #everConnected = false;

  #findKey({ p, ck }: Pkcs11Library, session: Handle, version: number, label: string): Handle {
    const where = `key version ${version} (label ${JSON.stringify(label)}) in token ${JSON.stringify(this.#s.tokenLabel)}`;
    p.C_FindObjectsInit(session, [
      { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
      { type: ck.CKA_LABEL, value: label },
    ]);
    let found: Handle[];
    try {
      found = p.C_FindObjects(session, 2);
    } finally {
      p.C_FindObjectsFinal(session);
    }
    if (found.length === 0)
      throw new Pkcs11SetupError(
        `KEYPLANE_PKCS11_KEY_VERSIONS: ${where} does not exist (create it: docs/operations.md "Move the master key to an HSM")`,
      );
    if (found.length > 1) throw new Pkcs11SetupError(`KEYPLANE_PKCS11_KEY_VERSIONS: ${where} is ambiguous: more than one secret key has this label`);
    const [type, len, extractable, encrypt, decrypt] = p
      .C_GetAttributeValue(session, found[0], [
        { type: ck.CKA_KEY_TYPE },
        { type: ck.CKA_VALUE_LEN },
        { type: ck.CKA_EXTRACTABLE },
        { type: ck.CKA_ENCRYPT },
        { type: ck.CKA_DECRYPT },
      ])
      .map((a) => a.value as Buffer);
    if (ulong(type) !== ck.CKK_AES || ulong(len) !== KEY_BYTES) throw new Pkcs11SetupError(`${where} is not an AES-256 key`);
    // The point of an HSM: the KEK never leaves it. An extractable key could be exported by anyone with the PIN.
    if (bool(extractable)) throw new Pkcs11SetupError(`${where} is extractable; create it with CKA_EXTRACTABLE=false and CKA_SENSITIVE=true`);
    if (!bool(encrypt) || !bool(decrypt)) throw new Pkcs11SetupError(`${where} must allow CKA_ENCRYPT and CKA_DECRYPT`);
    return found[0];
  }

  async #session(conn: Connection): Promise<Handle> {
    for (;;) {
      if (!conn.live) throw new Pkcs11SetupError(this.#lastReason);
      const idle = conn.idle.pop();
      if (idle) return idle;
      if (conn.open.size < this.#s.sessions) {
        const session = conn.lib.p.C_OpenSession(conn.slot, conn.lib.ck.CKF_SERIAL_SESSION);
        conn.open.add(session);
        return session;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(conn: Connection, session: Handle): void {
    if (conn.live) conn.idle.push(session);
    else closeQuietly(() => conn.lib.p.C_CloseSession(session));
    this.#waiters.shift()?.();
  }

  /** Closes the connection's sessions; the next call reconnects (after reconnectDelayMs when that fails). */
  #drop(conn: Connection): void {
    if (!conn.live) return;
    conn.live = false;
    if (this.#conn === conn) this.#conn = null;
    // Idle sessions close now; a session still in an operation closes when that operation ends (#release).
    for (const session of conn.idle.splice(0)) closeQuietly(() => conn.lib.p.C_CloseSession(session));
    for (const w of this.#waiters.splice(0)) w();
  }
}

function gcm(ck: Pkcs11Library['ck'], iv: Buffer, aad: Buffer) {
  return { mechanism: ck.CKM_AES_GCM, parameter: { type: ck.CK_PARAMS_AES_GCM_v240, iv, ivBits: IV_BYTES * 8, aad, tagBits: TAG_BYTES * 8 } };
}

function bool(b: Buffer): boolean {
  return b.length > 0 && b[0] !== 0;
}

function ulong(b: Buffer): number {
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}
