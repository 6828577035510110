import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A private SoftHSM2 token for one test file: its own folder and config (SOFTHSM2_CONF), a token
 * initialized with softhsm2-util, AES key objects created through pkcs11js in a child process
 * (scripts/pkcs11-create-kek.js), all removed by stop(). Real PKCS#11, no mocks.
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

export function startSoftHsm(options: { tokenLabel?: string; pin?: string } = {}): SoftHsm {
  const modulePath = softHsmModule();
  if (!modulePath) throw new Error('SoftHSM2 is not installed (apt-get install softhsm2)');
  const dir = mkdtempSync(join(tmpdir(), 'keyplane-softhsm-'));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  execFileSync('mkdir', ['-p', tokens]);
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const previousConf = process.env.SOFTHSM2_CONF;
  // SoftHSM reads it at C_Initialize: set before any provider in this process starts.
  process.env.SOFTHSM2_CONF = conf;
  const tokenLabel = options.tokenLabel ?? 'keyplane-test';
  const pin = options.pin ?? `pin-${Math.random().toString(36).slice(2, 10)}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', `so-${pin}`], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'ignore',
  });
  const base = { KEYPLANE_PKCS11_MODULE: modulePath, KEYPLANE_PKCS11_TOKEN_LABEL: tokenLabel, KEYPLANE_PKCS11_PIN: pin };
  return {
    modulePath,
    tokenLabel,
    pin,
    env: (versions, extra = {}) => ({ KEYPLANE_KEK_PROVIDER: 'pkcs11', ...base, KEYPLANE_PKCS11_KEY_VERSIONS: versions, ...extra }),
    createKey(label, opts = {}) {
      execFileSync(process.execPath, [SCRIPT, '--label', label, ...(opts.extractable ? ['--extractable'] : [])], {
        env: { ...process.env, ...base, SOFTHSM2_CONF: conf },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    },
    unplug: () => renameSync(tokens, `${tokens}.away`),
    restore: () => renameSync(`${tokens}.away`, tokens),
    stop() {
      if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previousConf;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
