import { ConfigError, fingerprinterFor, loadConfig } from '../../../src/config';
import { Fingerprinter, parsePepperRing } from '../../../src/crypto';

const SECRET = 'sk-proj-Abc123Def456Ghi789Jkl012';
const P1 = 'pepper-one-value-long-enough-for-hmac-0001';
const P2 = 'pepper-two-value-long-enough-for-hmac-0002';
const BASE = {
  NODE_ENV: 'production',
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}`,
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  DATABASE_URL: 'postgres://keyplane:pw@db.example:5432/keyplane',
};

describe('pepper ring (KEYPLANE_FINGERPRINT_KEY)', () => {
  it('reads a plain value as version 1, byte for byte as before rotation existed', () => {
    const ring = parsePepperRing(P1);
    expect(ring.versions()).toEqual([1]);
    expect(ring.currentVersion).toBe(1);
    expect(ring.fingerprintHex(SECRET)).toBe(new Fingerprinter(Buffer.from(P1, 'utf8')).fingerprintHex(SECRET));
    expect(parsePepperRing(`1:${P1}`).fingerprintHex(SECRET)).toBe(ring.fingerprintHex(SECRET));
  });

  it('uses the highest version by default, or the one named current; older versions stay usable', () => {
    const ring = parsePepperRing(`1:${P1}, 2:${P2}`);
    expect(ring.currentVersion).toBe(2);
    expect(ring.fingerprint(SECRET).equals(ring.fingerprintUnder(2, SECRET))).toBe(true);
    expect(ring.fingerprintUnder(1, SECRET).equals(parsePepperRing(P1).fingerprint(SECRET))).toBe(true);
    expect(ring.fingerprintUnder(1, SECRET).equals(ring.fingerprintUnder(2, SECRET))).toBe(false);
    expect(parsePepperRing(`1:${P1},2:${P2}`, 1).currentVersion).toBe(1);
    expect(ring.keyedHash('x', 'y').equals(parsePepperRing(P2).keyedHash('x', 'y'))).toBe(true);
    expect(() => ring.fingerprintUnder(3, SECRET)).toThrow(/unknown pepper version 3/);
  });

  it.each([
    ['a short entry', `1:${P1},2:short`, /pepper entry 2: secret must be at least 32 bytes/],
    ['a bad version', `1:${P1},x:${P2}`, /pepper entry 2: expected VERSION:SECRET|version must be/],
    ['a zero version', `0:${P1}`, /pepper entry 1: version must be/],
    ['a duplicate version', `1:${P1},1:${P2}`, /duplicate pepper version 1/],
    ['an entry without version', `1:${P1},${P2}`, /pepper entry 2: expected VERSION:SECRET/],
  ])('refuses %s without printing it', (_name, spec, message) => {
    expect(() => parsePepperRing(spec)).toThrow(message);
    try {
      parsePepperRing(spec);
    } catch (error) {
      expect((error as Error).message).not.toContain(P1);
      expect((error as Error).message).not.toContain(P2);
    }
  });

  it('config: a malformed ring or current version is a ConfigError naming the variable, never the value', () => {
    for (const [env, name] of [
      [{ KEYPLANE_FINGERPRINT_KEY: `1:${P1},2:tooshort-secret-value` }, 'KEYPLANE_FINGERPRINT_KEY'],
      [{ KEYPLANE_FINGERPRINT_KEY: `1:${P1}`, KEYPLANE_FINGERPRINT_KEY_CURRENT: '2' }, 'KEYPLANE_FINGERPRINT_KEY_CURRENT'],
      [{ KEYPLANE_FINGERPRINT_KEY: `1:${P1}`, KEYPLANE_FINGERPRINT_KEY_CURRENT: 'two' }, 'KEYPLANE_FINGERPRINT_KEY_CURRENT'],
    ] as const) {
      let error: unknown;
      try {
        loadConfig({ ...BASE, ...env });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).not.toContain(P1);
      expect((error as Error).message).not.toContain('tooshort-secret-value');
    }
  });

  it('config: the ring and its current version reach the fingerprinter', () => {
    const config = loadConfig({ ...BASE, KEYPLANE_FINGERPRINT_KEY: `1:${P1},2:${P2}`, KEYPLANE_FINGERPRINT_KEY_CURRENT: '1' });
    const f = fingerprinterFor(config);
    expect(f.versions()).toEqual([1, 2]);
    expect(f.currentVersion).toBe(1);
    expect(fingerprinterFor(loadConfig({ ...BASE, KEYPLANE_FINGERPRINT_KEY: P1 })).versions()).toEqual([1]);
  });
});
