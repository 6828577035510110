import { createHmac } from 'node:crypto';

const MIN_PEPPER_BYTES = 32;
// Versions are stored in an int column; the same bound as the master keyring.
const MAX_VERSION = 0xffff_ffff;
/** `N:` at the start: the value is a versioned list; anything else is one plain pepper (version 1). */
const VERSIONED = /^\s*[0-9]+\s*:/;

/**
 * Only surrounding whitespace is removed: keys pasted from consoles, .env files and chat
 * often carry a trailing newline or leading space, which would otherwise make the same key
 * look new. Internal characters are significant (a key differing anywhere is a different key),
 * and no case folding either: provider keys are case-sensitive.
 */
export function normalizeSecret(s: string): string {
  return s.trim();
}

/** Messages name entry positions and versions, never the text of an entry (it is key material). */
export class PepperRingError extends Error {
  override readonly name = 'PepperRingError';
}

/**
 * Keyed HMAC so duplicate keys can be detected across rows without decrypting them.
 * A plain hash would let anyone with a DB dump confirm a guessed key offline; the pepper
 * prevents that. It must be separate from the KEKs so that one leaking does not weaken the other.
 *
 * Versioned like the master keys (KEYPLANE_FINGERPRINT_KEY `1:<secret>,2:<secret>`): new
 * fingerprints use the current version and each stored one records its version, so a pepper can
 * be rotated (a rekey job recomputes stored fingerprints) without missing a duplicate meanwhile.
 */
export class Fingerprinter {
  // ES private field: invisible to util.inspect / JSON.stringify.
  readonly #peppers: ReadonlyMap<number, Buffer>;
  readonly currentVersion: number;

  /** One pepper (version 1), or a ring of versions with the current one (default: the highest). */
  constructor(pepper: Buffer | ReadonlyMap<number, Buffer>, current?: number | null) {
    const ring = Buffer.isBuffer(pepper) ? new Map([[1, pepper]]) : pepper;
    if (!(ring instanceof Map) || ring.size === 0) throw new TypeError('fingerprint pepper ring is empty');
    const own = new Map<number, Buffer>();
    for (const [version, p] of ring) {
      if (!Buffer.isBuffer(p) || p.length < MIN_PEPPER_BYTES) {
        throw new TypeError(`fingerprint pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
      }
      own.set(version, Buffer.from(p)); // own copy: the caller may zero theirs
    }
    this.#peppers = own;
    this.currentVersion = current ?? Math.max(...own.keys());
    if (!own.has(this.currentVersion)) throw new TypeError(`current pepper version ${Number(current)} is not in the ring`);
  }

  hasVersion(version: number): boolean {
    return this.#peppers.has(version);
  }

  versions(): number[] {
    return [...this.#peppers.keys()].sort((a, b) => a - b);
  }

  /** The fingerprint under the current version (what new rows store, with currentVersion). */
  fingerprint(secret: string): Buffer {
    return this.fingerprintUnder(this.currentVersion, secret);
  }

  /** The fingerprint under one version: to match keys stored before a rotation finished. */
  fingerprintUnder(version: number, secret: string): Buffer {
    return createHmac('sha256', this.pepper(version)).update(normalizeSecret(secret), 'utf8').digest();
  }

  fingerprintHex(secret: string): string {
    return this.fingerprint(secret).toString('hex');
  }

  /**
   * A keyed hash of anything else under the current pepper, in its own domain: the domain and a NUL
   * come first, so it never equals a key's fingerprint and one domain's hash never matches another's.
   * The data is taken as it is (no trimming).
   */
  keyedHash(domain: string, data: string): Buffer {
    return createHmac('sha256', this.pepper(this.currentVersion)).update(`keyplane:${domain}\0`, 'utf8').update(data, 'utf8').digest();
  }

  /**
   * The keyed reference audit events carry for a key version (docs/audit.md "Key references"):
   * HMAC over the key's fingerprint under a key derived per tenant (or for the platform, null) from
   * the current pepper. Within one tenant the same key always gives the same reference, so an
   * auditor can follow it across create, rotate, validate and revoke and see it come back in
   * another credential; across tenants references never match, and without the pepper an export
   * cannot be used to confirm a guessed key (unlike a plain hash, or the fingerprint itself).
   * `kr<pepper version>_` + 32 hex digits (128 bits).
   */
  auditKeyRef(tenantId: string | null, fingerprint: Buffer): string {
    const tenantKey = this.keyedHash('audit-key-ref', tenantId ?? 'platform');
    const ref = createHmac('sha256', tenantKey).update(fingerprint).digest('hex').slice(0, 32);
    tenantKey.fill(0);
    return `kr${this.currentVersion}_${ref}`;
  }

  private pepper(version: number): Buffer {
    const p = this.#peppers.get(version);
    if (!p) throw new PepperRingError(`unknown pepper version ${Number(version)}`);
    return p;
  }
}

/**
 * Parses KEYPLANE_FINGERPRINT_KEY: `VERSION:SECRET[,VERSION:SECRET...]`, or one plain secret
 * without a version prefix, which is version 1 (deployments from before pepper rotation keep
 * working unchanged). A secret is used as its UTF-8 bytes, at least 32 of them; in the versioned
 * form it may not contain a comma. `current` picks the version new fingerprints use (default: the
 * highest; KEYPLANE_FINGERPRINT_KEY_CURRENT) and must be in the ring.
 */
export function parsePepperRing(spec: string, current?: number | null): Fingerprinter {
  const peppers = new Map<number, Buffer>();
  if (!VERSIONED.test(spec)) {
    // Exactly as before rotation existed: the whole value, untrimmed.
    peppers.set(1, Buffer.from(spec, 'utf8'));
  } else {
    spec.split(',').forEach((raw, i) => {
      const where = `pepper entry ${i + 1}`;
      const entry = raw.trim();
      const colon = entry.indexOf(':');
      if (colon === -1) throw new PepperRingError(`${where}: expected VERSION:SECRET`);
      const versionText = entry.slice(0, colon).trim();
      if (!/^[1-9][0-9]*$/.test(versionText) || Number(versionText) > MAX_VERSION) {
        throw new PepperRingError(`${where}: version must be a positive integer up to ${MAX_VERSION}`);
      }
      const version = Number(versionText);
      const secret = Buffer.from(entry.slice(colon + 1).trim(), 'utf8');
      if (secret.length < MIN_PEPPER_BYTES) throw new PepperRingError(`${where}: secret must be at least ${MIN_PEPPER_BYTES} bytes`);
      if (peppers.has(version)) throw new PepperRingError(`${where}: duplicate pepper version ${version}`);
      peppers.set(version, secret);
    });
  }
  if (spec.trim() === '') throw new PepperRingError('pepper is empty');
  if (peppers.get(1)?.length !== undefined && peppers.size === 1 && peppers.get(1)!.length < MIN_PEPPER_BYTES) {
    throw new PepperRingError(`pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
  }
  if (current != null && !peppers.has(current)) throw new PepperRingError(`current pepper version ${Number(current)} is not in the ring`);
  const ring = new Fingerprinter(peppers, current);
  for (const p of peppers.values()) p.fill(0);
  return ring;
}
