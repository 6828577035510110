import { randomBytes } from 'node:crypto';
import { Fingerprinter, normalizeSecret } from '../../../src/crypto';

const SECRET = 'sk-ant-api03-Abc123Def456Ghi789';

describe('Fingerprinter', () => {
  const pepper = randomBytes(32);
  const fp = new Fingerprinter(pepper);

  it('is deterministic for the same secret and pepper (and a fresh instance)', () => {
    expect(fp.fingerprint(SECRET).equals(fp.fingerprint(SECRET))).toBe(true);
    expect(new Fingerprinter(Buffer.from(pepper)).fingerprintHex(SECRET)).toBe(fp.fingerprintHex(SECRET));
  });

  it('differs with another pepper', () => {
    expect(new Fingerprinter(randomBytes(32)).fingerprintHex(SECRET)).not.toBe(fp.fingerprintHex(SECRET));
  });

  it('ignores surrounding whitespace (paste artefacts)', () => {
    for (const v of [` ${SECRET}`, `${SECRET}\n`, `\t${SECRET}\r\n`, `\uFEFF${SECRET} `]) {
      expect(fp.fingerprintHex(v)).toBe(fp.fingerprintHex(SECRET));
    }
  });

  it('treats internal differences as significant', () => {
    for (const v of [SECRET.replace('Abc', 'abc'), SECRET.replace('123', '12 3'), `${SECRET}x`, SECRET.slice(0, -1)]) {
      expect(fp.fingerprintHex(v)).not.toBe(fp.fingerprintHex(SECRET));
    }
  });

  it('is a 32-byte HMAC that does not contain the secret', () => {
    const out = fp.fingerprint(SECRET);
    expect(out).toHaveLength(32);
    expect(fp.fingerprintHex(SECRET)).toMatch(/^[0-9a-f]{64}$/);
    expect(out.includes(Buffer.from(SECRET))).toBe(false);
    expect(out.toString('latin1')).not.toContain(SECRET.slice(0, 8));
  });

  it('keeps its own copy of the pepper', () => {
    const p = randomBytes(32);
    const f = new Fingerprinter(p);
    const before = f.fingerprintHex(SECRET);
    p.fill(0);
    expect(f.fingerprintHex(SECRET)).toBe(before);
  });

  it('rejects a pepper shorter than 32 bytes', () => {
    expect(() => new Fingerprinter(randomBytes(31))).toThrow(/at least 32 bytes/);
  });

  it('normalizeSecret trims only', () => {
    expect(normalizeSecret('  a b\tc \n')).toBe('a b\tc');
  });
});
