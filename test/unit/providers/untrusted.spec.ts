import { randomBytes } from 'node:crypto';
import type { KeyTestResult } from '../../../src/providers/types';
import { boundModelIds, FRAGMENT_LENGTH, MAX_MODEL_ID_LENGTH, MAX_MODELS, sanitizeResult, SecretMatcher } from '../../../src/providers/untrusted';

const KEY = `kp-custom-${randomBytes(30)
  .toString('base64url')
  .replace(/[^A-Za-z0-9]/g, 'q')}`;
const base: KeyTestResult = {
  outcome: 'VALID',
  models: [],
  message: 'The provider accepted the key (HTTP 200).',
  httpStatus: 200,
  retryAfterSeconds: null,
  latencyMs: 1,
};

describe('SecretMatcher', () => {
  const m = new SecretMatcher(KEY);
  const b64 = (s: string, enc: BufferEncoding = 'base64') => Buffer.from(s).toString(enc);

  it.each<[string, string]>([
    ['the whole key', KEY],
    ['an 8-character window', `model-${KEY.slice(13, 13 + FRAGMENT_LENGTH)}`],
    ['the window upper-cased', KEY.slice(20, 28).toUpperCase()],
    ['the window lower-cased', `x${KEY.slice(-8).toLowerCase()}`],
    ['hex of a window', Buffer.from(KEY.slice(9, 17)).toString('hex')],
    ['upper-case hex', Buffer.from(KEY.slice(9, 17)).toString('hex').toUpperCase()],
    ['base64 of the key', b64(KEY)],
    ['base64 of the key at another alignment', b64(`ab${KEY}`)],
    ['base64url of a 12-character piece', b64(`z${KEY.slice(4, 16)}`, 'base64url')],
    ['percent-encoding', KEY.slice(0, 12).replace(/-/g, '%2D')],
  ])('finds %s', (_name, text) => expect(m.contains(text)).toBe(true));

  it.each<[string, string]>([
    ['a 7-character window', `m-${KEY.slice(13, 20)}-x`],
    ['an ordinary model id', 'gpt-4o-2024-08-06'],
    ['bad percent-encoding', '%E0%A4%A'],
  ])('ignores %s', (_name, text) => expect(m.contains(text)).toBe(false));

  it('a key shorter than a window is matched whole, case-insensitively', () => {
    const short = new SecretMatcher('Ab3x9');
    expect(short.contains('model-ab3X9')).toBe(true);
    expect(short.contains('model-ab3')).toBe(false);
  });

  it('an empty key matches nothing', () => expect(new SecretMatcher('  ').contains('anything')).toBe(false));
});

describe('boundModelIds', () => {
  it('keeps sane ids sorted and unique, and counts what it drops', () => {
    const long = 'm'.repeat(MAX_MODEL_ID_LENGTH + 1);
    const list = boundModelIds(['b', 'a', 'b', 'ft:gpt-4o:org:x@1', 'org/model+v2', long, 'has space', '<script>', '', 7, null, 'é']);
    expect(list.ids).toEqual(['a', 'b', 'ft:gpt-4o:org:x@1', 'org/model+v2']);
    expect(list.dropped).toBe(7);
  });

  it(`keeps ${MAX_MODEL_ID_LENGTH} characters, not one more`, () => {
    expect(boundModelIds(['m'.repeat(MAX_MODEL_ID_LENGTH)]).ids).toHaveLength(1);
  });

  it(`caps at ${MAX_MODELS} and counts the rest`, () => {
    const ids = Array.from({ length: MAX_MODELS + 7 }, (_, i) => `m-${String(i).padStart(4, '0')}`);
    expect(boundModelIds(ids)).toEqual({ ids: ids.slice(0, MAX_MODELS), dropped: 7 });
  });
});

describe('sanitizeResult', () => {
  it('drops every id holding part of the key and says so', () => {
    const models = ['gpt-a', KEY, `ft:${KEY.slice(5, 15)}`, Buffer.from(KEY).toString('base64').slice(0, 40), 'gpt-b'];
    const out = sanitizeResult({ ...base, models }, KEY);
    expect(out.models).toEqual(['gpt-a', 'gpt-b']);
    expect(out.modelsDropped).toBe(3);
    expect(out.message).toBe(`${base.message} 3 listed model id(s) contained part of the key and were dropped.`);
    expect(JSON.stringify(out)).not.toContain(KEY.slice(10, 18));
  });

  it('re-applies the bounds whatever the validator did, adding to its own count', () => {
    const out = sanitizeResult({ ...base, models: ['ok', 'bad id', 'x'.repeat(200)], modelsDropped: 2 }, KEY);
    expect(out).toMatchObject({ models: ['ok'], modelsDropped: 4 });
    expect(out.message).toContain('4 listed model id(s) were dropped (malformed, or over the limit of 500)');
  });

  it('leaves a clean result as it is, with modelsDropped 0', () => {
    const clean = { ...base, models: ['a', 'b'] };
    expect(sanitizeResult(clean, KEY)).toEqual({ ...clean, modelsDropped: 0 });
  });

  it('clears a retry-after and a message made of the key (an all-digit custom key echoed in a header)', () => {
    const digits = '908172635445';
    const out = sanitizeResult(
      {
        ...base,
        outcome: 'RATE_LIMITED',
        httpStatus: 429,
        retryAfterSeconds: Number(digits),
        message: `Rate limited; retry after ${digits} s (HTTP 429).`,
      },
      digits,
    );
    expect(out.retryAfterSeconds).toBeNull();
    expect(out.message).toBe('The provider answer was withheld because it contained part of the key.');
  });
});
