import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A private SoftHSM2 token for one test file, in the run's temp folder (prepareSoftHsmFolder):
 * initialized with softhsm2-util, AES key objects created through pkcs11js in a child process
 * (scripts/pkcs11-create-kek.js), deleted by stop(). Real PKCS#11, no mocks.
 */
export interface SoftHsm {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  /** The environment a Keyplane process needs to use `versions` (KEYPLANE_PKCS11_KEY_VERSIONS). */
  env(versions: string, extra?: Record<string, string>): Record<string, string>;
  createKey(label: string, options?: { extractable?: boolean }): void;
  /** Takes the token away (its folder renamed): the HSM is gone until restore(). */
  unplug(): void;
  restore(): void;
  stop(): void;
}

const MODULES = [
  process.env.KEYPLANE_TEST_PKCS11_MODULE,
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

/** The SoftHSM2 module path, or null when SoftHSM2 is not installed (`.ci/run` installs it). */
export function softHsmModule(): string | null {
  return MODULES.find((m): m is string => !!m && existsSync(m)) ?? null;
}

const SCRIPT = resolve(__dirname, '../../scripts/pkcs11-create-kek.js');

/**
 * Jest's global setup: a temp folder for SoftHSM2 tokens and its config, named by SOFTHSM2_CONF in
 * the real environment. It has to be set there, not in a test file: a test file's process.env is a
 * copy that the native module (which reads the variable with getenv at C_Initialize) never sees.
 * The folder goes when the process exits.
 */
export function prepareSoftHsmFolder(): void {
  if (!softHsmModule() || process.env.KEYPLANE_TEST_SOFTHSM_DIR) return;
  const dir = mkdtempSync(join(tmpdir(), 'keyplane-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(
    join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  process.env.KEYPLANE_TEST_SOFTHSM_DIR = dir;
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/** A fresh token of its own in the run's SoftHSM2 folder; stop() deletes it. */
export function startSoftHsm(options: { pin?: string } = {}): SoftHsm {
  const modulePath = softHsmModule();
  if (!modulePath) throw new Error('SoftHSM2 is not installed (apt-get install softhsm2)');
  const dir = process.env.KEYPLANE_TEST_SOFTHSM_DIR;
  if (!dir || process.env.SOFTHSM2_CONF !== join(dir, 'softhsm2.conf'))
    throw new Error('SoftHSM2 folder not prepared (test/helpers/global-setup.ts)');
  const tokens = join(dir, 'tokens');
  const tokenLabel = `kp-${randomBytes(6).toString('hex')}`;
  const pin = options.pin ?? `pin-${randomBytes(6).toString('hex')}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', `so-${pin}`], { stdio: 'ignore' });
  const base = { KEYPLANE_PKCS11_MODULE: modulePath, KEYPLANE_PKCS11_TOKEN_LABEL: tokenLabel, KEYPLANE_PKCS11_PIN: pin };
  return {
    modulePath,
    tokenLabel,
    pin,
    env: (versions, extra = {}) => ({ KEYPLANE_KEK_PROVIDER: 'pkcs11', ...base, KEYPLANE_PKCS11_KEY_VERSIONS: versions, ...extra }),
    createKey(label, opts = {}) {
      execFileSync(process.execPath, [SCRIPT, '--label', label, ...(opts.extractable ? ['--extractable'] : [])], {
        env: { ...process.env, ...base },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    },
    unplug: () => renameSync(tokens, `${tokens}.away`),
    restore: () => renameSync(`${tokens}.away`, tokens),
    stop: () => execFileSync('softhsm2-util', ['--delete-token', '--token', tokenLabel], { stdio: 'ignore' }),
  };
}
