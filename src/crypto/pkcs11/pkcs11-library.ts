import type * as Pkcs11Js from 'pkcs11js';

/**
 * One loaded PKCS#11 module per path and process. A module is initialized once per process
 * (a second C_Initialize fails, and C_Finalize ends every session of every user of it), so
 * providers on the same module share it and the last one to close finalizes it.
 *
 * Thread safety: pkcs11js runs the *Async calls on the libuv thread pool, so the module may be
 * entered from several threads at once. It is initialized with CKF_OS_LOCKING_OK (the module uses
 * OS locks), and Keyplane never uses one session from two operations at a time (the session pool).
 */
export interface Pkcs11Library {
  readonly path: string;
  readonly p: Pkcs11Js.PKCS11;
  readonly ck: typeof Pkcs11Js;
}

interface Entry extends Pkcs11Library {
  refs: number;
  /** false when someone else in this process initialized the module: never finalize it then. */
  ours: boolean;
}

const libraries = new Map<string, Entry>();

/** Raised for configuration the operator must fix; the message names the setting, never a secret. */
export class Pkcs11SetupError extends Error {
  override name = 'Pkcs11SetupError';
}

/** The PKCS#11 return code name of an error from pkcs11js (e.g. CKR_PIN_INCORRECT), or null. */
export function ckr(error: unknown): string | null {
  const m = /^(CKR_[A-Z0-9_]+)/.exec(String((error as Error | undefined)?.message ?? ''));
  return m ? m[1] : null;
}

function binding(): typeof Pkcs11Js {
  try {
    // Loaded only when a pkcs11 provider is configured: a local-only deployment never needs the native build.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pkcs11js') as typeof Pkcs11Js;
  } catch {
    throw new Pkcs11SetupError(
      'the pkcs11js native binding could not be loaded (npm install must be allowed to build it: package.json allowScripts)',
    );
  }
}

function initialize(e: Entry): void {
  try {
    e.p.C_Initialize({ flags: e.ck.CKF_OS_LOCKING_OK });
    e.ours = true;
  } catch (error) {
    if (ckr(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
    e.ours = false;
  }
}

/** Loads and initializes the module (or takes another reference to it). */
export function acquireLibrary(path: string): Pkcs11Library {
  const known = libraries.get(path);
  if (known) {
    known.refs++;
    return known;
  }
  const ck = binding();
  const p = new ck.PKCS11();
  try {
    p.load(path);
  } catch {
    // The loader's message repeats the path and adds nothing the operator needs.
    throw new Pkcs11SetupError(
      `KEYPLANE_PKCS11_MODULE: cannot load the PKCS#11 module at ${JSON.stringify(path)} (missing file, wrong architecture or missing dependency)`,
    );
  }
  const e: Entry = { path, p, ck, refs: 1, ours: false };
  try {
    initialize(e);
  } catch (error) {
    closeQuietly(() => p.close());
    throw new Pkcs11SetupError(
      `KEYPLANE_PKCS11_MODULE: the PKCS#11 module at ${JSON.stringify(path)} failed to initialize (${ckr(error) ?? 'native error'})`,
    );
  }
  libraries.set(path, e);
  return e;
}

/**
 * Finalizes and initializes the module again: after a device was removed or the module lost its
 * state, sessions and login are gone and some modules (SoftHSM) only see the token again this way.
 */
export function reinitializeLibrary(lib: Pkcs11Library): void {
  const e = libraries.get(lib.path);
  if (!e) throw new Pkcs11SetupError('PKCS#11 module already released');
  closeQuietly(() => e.p.C_Finalize());
  initialize(e);
}

export function releaseLibrary(lib: Pkcs11Library): void {
  const e = libraries.get(lib.path);
  if (!e || --e.refs > 0) return;
  libraries.delete(lib.path);
  if (e.ours) closeQuietly(() => e.p.C_Finalize());
  closeQuietly(() => e.p.close());
}

export function closeQuietly(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // closing what is already gone
  }
}
