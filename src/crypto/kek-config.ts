import { KekRing, LocalKekProvider, type KekProvider } from './kek';
import { KeyringError, parseKeyring } from './keyring';
import { Pkcs11KekProvider, type Pkcs11Settings } from './pkcs11/pkcs11-kek-provider';

export interface KekSettings {
  /** KEYPLANE_MASTER_KEYS ('' when unset: an HSM-only deployment). */
  masterKeys: string;
  /** KEYPLANE_MASTER_KEY_CURRENT; null: the highest version of all providers. */
  masterKeyCurrent: number | null;
  kek: { provider: 'local' | 'pkcs11'; pkcs11: Pkcs11Settings | null };
}

/**
 * The process's KEK ring from config: the local keys (if any) and the HSM keys (if configured), one
 * version space. Connects to nothing: `verify()` does, at start. Both may be present at once, which
 * is how records move from local keys to the HSM (or between HSM keys): the rewrap job reads the old
 * version and wraps under the current one.
 */
export function kekRingFrom(s: KekSettings): KekRing {
  const providers: KekProvider[] = [];
  if (s.masterKeys.trim() !== '') providers.push(new LocalKekProvider(parseKeyring(s.masterKeys)));
  if (s.kek.pkcs11) providers.push(new Pkcs11KekProvider(s.kek.pkcs11));
  const ring = new KekRing(providers, s.masterKeyCurrent);
  if (s.kek.provider === 'pkcs11' && s.masterKeyCurrent === null && ring.providerOf(ring.current) !== 'pkcs11') {
    // New seals would silently stay local: say so rather than guess.
    throw new KeyringError(
      `the highest key version ${ring.current} is a local key while KEYPLANE_KEK_PROVIDER is pkcs11: give the HSM key a higher version, or name the current version (KEYPLANE_MASTER_KEY_CURRENT)`,
    );
  }
  return ring;
}

/**
 * `VERSION[:LABEL][,VERSION[:LABEL]...]` (KEYPLANE_PKCS11_KEY_VERSIONS); a version without a label
 * gets `template` with {version} replaced (KEYPLANE_PKCS11_KEY_LABEL, default keyplane-kek-{version}).
 */
export function parsePkcs11KeyLabels(spec: string, template: string): Map<number, string> {
  const labels = new Map<number, string>();
  const entries = spec.split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    const versionText = colon === -1 ? entry : entry.slice(0, colon).trim();
    if (!/^[1-9][0-9]*$/.test(versionText) || Number(versionText) > 0xffff_ffff)
      throw new KeyringError(`${where}: version must be a positive integer`);
    const version = Number(versionText);
    const label = colon === -1 ? template.replaceAll('{version}', versionText) : entry.slice(colon + 1).trim();
    if (label === '' || label.length > 128) throw new KeyringError(`${where}: key label must be 1 to 128 characters`);
    if (labels.has(version)) throw new KeyringError(`${where}: duplicate key version ${version}`);
    labels.set(version, label);
  });
  return labels;
}
