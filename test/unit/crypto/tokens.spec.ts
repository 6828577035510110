import { generateToken, hashToken, safeEqual } from '../../../src/crypto';

describe('generateToken', () => {
  it.each([
    ['kp', /^kp_[A-Za-z0-9_-]{43}$/],
    ['kpg', /^kpg_[A-Za-z0-9_-]{43}$/],
    ['whsec', /^whsec_[A-Za-z0-9+/]{43}=$/],
  ] as const)('%s matches its format', (prefix, re) => {
    for (let i = 0; i < 50; i++) expect(generateToken(prefix)).toMatch(re);
  });

  it('decodes to 32 random bytes', () => {
    expect(Buffer.from(generateToken('kp').slice(3), 'base64url')).toHaveLength(32);
    expect(Buffer.from(generateToken('whsec').slice(6), 'base64')).toHaveLength(32);
  });

  it('is unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(generateToken('kp').slice(3));
    for (let i = 0; i < 1000; i++) seen.add(generateToken('kpg').slice(4));
    expect(seen.size).toBe(2000);
  });

  it('rejects an unknown prefix at runtime', () => {
    expect(() => generateToken('sk' as never)).toThrow(TypeError);
  });
});

describe('hashToken', () => {
  it('is a stable SHA-256', () => {
    const t = generateToken('kp');
    expect(hashToken(t).equals(hashToken(t))).toBe(true);
    expect(hashToken(t)).toHaveLength(32);
    expect(hashToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('differs between tokens', () => {
    expect(hashToken(generateToken('kp')).equals(hashToken(generateToken('kp')))).toBe(false);
  });
});

describe('safeEqual', () => {
  it('compares strings and buffers', () => {
    const t = generateToken('kp');
    expect(safeEqual(t, t)).toBe(true);
    expect(safeEqual(t, Buffer.from(t))).toBe(true);
    expect(safeEqual(hashToken(t), hashToken(t))).toBe(true);
    expect(safeEqual(t, `${t.slice(0, -1)}x`)).toBe(false);
  });

  it('returns false on length mismatch without throwing', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual(Buffer.alloc(32), Buffer.alloc(31))).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('compares two digests (the per-request token check) by their bytes', () => {
    const d = hashToken(generateToken('kp'));
    expect(safeEqual(d, Buffer.from(d))).toBe(true);
    expect(safeEqual(d, hashToken(generateToken('kp')))).toBe(false);
    const flipped = Buffer.from(d);
    flipped[31] ^= 1;
    expect(safeEqual(d, flipped)).toBe(false);
    expect(safeEqual(d, d.subarray(0, 31))).toBe(false);
  });
});
