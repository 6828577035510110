import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { KeyringError, formatKeyring, generateKeyMaterial, parseCurrentVersion, parseKeyring } from '../../../src/crypto';

const key = (n = 32) => randomBytes(n).toString('base64');

function keyringError(spec: string, current?: number): KeyringError {
  try {
    parseKeyring(spec, current);
  } catch (e) {
    expect(e).toBeInstanceOf(KeyringError);
    return e as KeyringError;
  }
  throw new Error('expected KeyringError');
}

describe('parseKeyring', () => {
  it('parses versioned entries; current is the highest version', () => {
    const [a, b, c] = [key(), key(), key()];
    const ring = parseKeyring(`2:${b}, 1:${a},10:${c}`);
    expect(ring.current).toBe(10);
    expect(ring.versions()).toEqual([1, 2, 10]);
    expect(ring.get(1).equals(Buffer.from(a, 'base64'))).toBe(true);
    expect(ring.get(10).equals(Buffer.from(c, 'base64'))).toBe(true);
  });

  it('treats a bare key as version 1', () => {
    const a = key();
    const ring = parseKeyring(a);
    expect(ring.current).toBe(1);
    expect(ring.versions()).toEqual([1]);
    expect(ring.get(1).equals(Buffer.from(a, 'base64'))).toBe(true);
  });

  it('returns copies, so zero-filling a key does not damage the keyring', () => {
    const ring = parseKeyring(key());
    ring.get(1).fill(0);
    expect(ring.get(1).equals(Buffer.alloc(32))).toBe(false);
  });

  it('throws "unknown key version N"', () => {
    expect(() => parseKeyring(key()).get(7)).toThrow(new KeyringError('unknown key version 7'));
  });

  it('does not expose key bytes when inspected or serialised', () => {
    const a = key();
    const ring = parseKeyring(`1:${a}`);
    const hex = Buffer.from(a, 'base64').toString('hex');
    const dump = `${JSON.stringify(ring)} ${inspect(ring, { depth: 5 })}`;
    expect(dump).not.toContain(a);
    expect(dump).not.toContain(hex.slice(0, 16));
  });

  it.each<[string, (k: string) => string, RegExp]>([
    ['empty spec', () => '', /empty/],
    ['empty entry', (k) => `1:${k},`, /entry 2 is empty/],
    ['zero version', (k) => `0:${k}`, /version must be a positive integer/],
    ['negative version', (k) => `-1:${k}`, /version must be a positive integer/],
    ['non-numeric version', (k) => `v2:${k}`, /version must be a positive integer/],
    ['fractional version', (k) => `1.5:${k}`, /version must be a positive integer/],
    ['short key', () => `1:${key(31)}`, /32 bytes, got 31/],
    ['long key', () => `1:${key(33)}`, /32 bytes, got 33/],
    ['garbage key', (k) => `1:${k.slice(0, 20)}!!${k.slice(22)}`, /not valid base64/],
    ['base64 with junk', (k) => `1:${k}$`, /not valid base64/],
    ['duplicate version', (k) => `1:${k},1:${key()}`, /entry 2: duplicate key version 1/],
    ['duplicate bare + 1', (k) => `${k},1:${key()}`, /duplicate key version 1/],
  ])('rejects %s without echoing key text', (_label, build, message) => {
    const k = key();
    const spec = build(k);
    const err = keyringError(spec);
    expect(err.message).toMatch(message);
    const dump = `${err.message}\n${err.stack}`;
    for (const part of spec.split(/[,:]/).filter((p) => p.length >= 6)) expect(dump).not.toContain(part);
    expect(dump).not.toContain(k.slice(0, 8));
  });

  it('generateKeyMaterial yields a parseable 32-byte key, fresh each time', () => {
    const a = generateKeyMaterial();
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(parseKeyring(a).current).toBe(1);
    expect(generateKeyMaterial()).not.toBe(a);
  });

  it('formatKeyring writes what parseKeyring reads', () => {
    const [a, b] = [generateKeyMaterial(), generateKeyMaterial()];
    expect(formatKeyring([[1, a]])).toBe(`1:${a}`);
    const ring = parseKeyring(
      formatKeyring([
        [1, a],
        [7, b],
      ]),
    );
    expect(ring.versions()).toEqual([1, 7]);
    expect(ring.current).toBe(7);
    expect(ring.get(1).toString('base64')).toBe(a);
    expect(ring.get(7).toString('base64')).toBe(b);
  });
});

describe('current key version (KEYPLANE_MASTER_KEY_CURRENT)', () => {
  const [a, b] = [generateKeyMaterial(), generateKeyMaterial()];

  it('defaults to the highest version', () => {
    expect(parseKeyring(`1:${a},2:${b}`).current).toBe(2);
    expect(parseKeyring(`1:${a},2:${b}`, null).current).toBe(2);
  });

  it('takes the configured version when it is in the ring (two-phase change: install, then make current)', () => {
    const ring = parseKeyring(`1:${a},2:${b}`, 1);
    expect(ring.current).toBe(1);
    expect(ring.has(2)).toBe(true);
    expect(ring.has(3)).toBe(false);
  });

  it('refuses a current version the ring lacks, naming the version and no key text', () => {
    const err = keyringError(`1:${a},2:${b}`, 3);
    expect(err.message).toBe('current key version 3 is not in the keyring');
    expect(err.message).not.toContain(a.slice(0, 8));
  });

  it.each([
    [undefined, null],
    ['', null],
    ['  ', null],
    ['1', 1],
    [' 42 ', 42],
  ])('parseCurrentVersion(%p) is %p', (text, want) => {
    expect(parseCurrentVersion(text)).toBe(want);
  });

  it.each(['0', '-1', '1.5', 'two', '4294967296', '01'])('parseCurrentVersion refuses %p', (text) => {
    expect(() => parseCurrentVersion(text)).toThrow(KeyringError);
  });
});
