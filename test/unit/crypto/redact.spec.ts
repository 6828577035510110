import { randomInt } from 'node:crypto';
import { MIN_CHARS_FOR_TAIL, REDACTED, redactSecret, redactToken, scrubText } from '../../../src/crypto';

const PREFIXES = ['sk-', 'sk-proj-', 'sk-ant-api03-', 'AIza', 'gsk_', 'xai-'] as const;

describe('redactSecret', () => {
  it.each<[string, string]>([
    ['sk-proj-1234567890abcdefAbCd', 'sk-proj-…AbCd'],
    ['sk-ant-api03-aaaaaaaaaaaaaaaaaaaaWxYz', 'sk-ant-api03-…WxYz'],
    ['AIzaSyA1234567890abcdefghijklmnQrSt', 'AIza…QrSt'],
    ['gsk_0123456789abcdefghijLmNo', 'gsk_…LmNo'],
    ['sk-0123456789abcdefAbCd', 'sk-…AbCd'], // only the short prefix matches
    ['sk-proj-abcdefghijklmnopqrst', 'sk-proj-…qrst'], // exactly 20 after the prefix: tail shown
    ['sk-proj-abcdefghijklmnopqrs', 'sk-proj-…'], // 19 after the prefix: no tail
    ['sk-proj-abcdefghijkl', 'sk-proj-…'], // 12 after the prefix: no tail (was a third of the key)
    ['sk-proj-', 'sk-proj-…'],
    ['mysecretkey0123456789AbCd', '…AbCd'], // no known prefix
    ['short12345', '…'], // short, no prefix
    ['abcdefghijklmnopqrst', '…qrst'],
    ['abcdefghijklmnopqrs', '…'],
    ['', '…'],
    ['  sk-proj-1234567890abcdefAbCd\n', 'sk-proj-…AbCd'], // paste artefacts trimmed
    ['skproj-1234567890abcdefAbCd', '…AbCd'], // prefixes match literally
  ])('%j -> %j', (secret, expected) => {
    expect(redactSecret(secret, PREFIXES)).toBe(expected);
  });

  it('longest prefix wins regardless of list order', () => {
    const s = 'sk-proj-1234567890abcdefAbCd';
    expect(redactSecret(s, ['sk-', 'sk-proj-'])).toBe('sk-proj-…AbCd');
    expect(redactSecret(s, ['sk-proj-', 'sk-'])).toBe('sk-proj-…AbCd');
  });

  it('defaults to no prefixes', () => {
    expect(redactSecret('sk-proj-1234567890abcdefAbCd')).toBe('…AbCd');
  });

  it('never splits a surrogate pair in the tail', () => {
    expect(redactSecret('0123456789abcdefgh🔑🔑')).toBe('…gh🔑🔑');
  });

  it('never reveals any 5-char window of the hidden part (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let run = 0; run < 2000; run++) {
      const prefix = run % 7 === 0 ? '' : PREFIXES[randomInt(PREFIXES.length)];
      const len = randomInt(0, 80);
      let body = '';
      for (let i = 0; i < len; i++) body += alphabet[randomInt(alphabet.length)];
      const secret = prefix + body;
      const out = redactSecret(secret, PREFIXES);

      // What the redactor actually chose as public prefix (a longer one may match by chance).
      const shown = out.slice(0, out.indexOf('…'));
      expect(secret.startsWith(shown)).toBe(true);
      const rest = secret.slice(shown.length);
      const tailLen = rest.length >= 20 ? 4 : 0;
      expect(out).toBe(`${shown}…${rest.slice(rest.length - tailLen)}`);
      expect(out.length).toBeLessThanOrEqual(shown.length + 1 + 4);

      const middle = rest.slice(0, rest.length - tailLen);
      for (let i = 0; i + 5 <= middle.length; i++) {
        const w = middle.slice(i, i + 5);
        if (!shown.includes(w)) expect(out).not.toContain(w); // the prefix is public by definition
      }
    }
  });
});

describe('the tail threshold', () => {
  it('is at least 20 characters after the prefix', () => expect(MIN_CHARS_FOR_TAIL).toBeGreaterThanOrEqual(20));

  // Counted after the longest known prefix, for every prefix family and with none.
  it.each(['', 'sk-', 'sk-proj-', 'sk-ant-api03-', 'AIza', 'gsk_', 'xai-'])('prefix %j: 11, 12, 19 hide the tail; 20, 21 show 4', (prefix) => {
    const body = (n: number) => 'Q'.repeat(n - 4) + 'WxYz';
    // A body starting with a letter keeps 'sk-' from growing into a longer known prefix.
    for (const n of [11, 12, 19]) expect(redactSecret(prefix + body(n), PREFIXES)).toBe(`${prefix}…`);
    for (const n of [20, 21, 40]) expect(redactSecret(prefix + body(n), PREFIXES)).toBe(`${prefix}…WxYz`);
  });

  it('a short key never shows more than its prefix, whatever its length (code points)', () => {
    expect(redactSecret('sk-proj-' + '🔑'.repeat(19), PREFIXES)).toBe('sk-proj-…');
    expect(redactSecret('sk-proj-' + '🔑'.repeat(20), PREFIXES)).toBe('sk-proj-…🔑🔑🔑🔑');
  });
});

describe('redactToken', () => {
  it.each([
    ['kp_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', 'kp_…DEFG'],
    ['kpg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', 'kpg_…DEFG'],
    ['whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY=', 'whsec_…dXY='],
    ['kp_short', 'kp_…'],
    ['kp_0123456789abcdefghi', 'kp_…'], // 19 after the prefix
    ['other_0123456789abcdef', '…cdef'],
  ])('%j -> %j', (token, expected) => {
    expect(redactToken(token)).toBe(expected);
  });
});

describe('scrubText', () => {
  const key = 'sk-proj-Zq9Xv7Lm3Np1Rt5Wy8Bc2Df4Gh6Jk0';

  it('replaces whole occurrences', () => {
    expect(scrubText(`401: invalid key ${key} (and again: ${key})`, [key])).toBe(`401: invalid key ${REDACTED} (and again: ${REDACTED})`);
  });

  it('replaces any 12-char window (truncated or partial echoes)', () => {
    const partial = key.slice(5, 22);
    const out = scrubText(`Incorrect API key provided: ${partial}*****`, [key]);
    expect(out).toBe(`Incorrect API key provided: ${REDACTED}*****`);
    expect(scrubText(`x${key.slice(-12)}y`, [key])).toBe(`x${REDACTED}y`);
  });

  it('leaves fragments under 12 chars and unrelated text alone', () => {
    const text = `prefix ${key.slice(0, 11)} ok`;
    expect(scrubText(text, [key])).toBe(text);
  });

  it('handles several secrets, adjacent hits, short secrets and empties', () => {
    const other = 'gsk_AAAAbbbbCCCCddddEEEE';
    expect(scrubText(`${key}${other}|pw=hunter2|`, [key, other, 'hunter2', '', '   '])).toBe(`${REDACTED}|pw=${REDACTED}|`);
  });

  it('matches the trimmed secret', () => {
    expect(scrubText(`got ${key}.`, [`${key}\n`])).toBe(`got ${REDACTED}.`);
  });

  it('output never contains a 12-char window of the secret', () => {
    for (let n = 0; n < 200; n++) {
      const start = randomInt(0, key.length - 12);
      const end = randomInt(start + 12, key.length + 1);
      const out = scrubText(`err: ${key.slice(start, end)} end`, [key]);
      for (let i = 0; i + 12 <= key.length; i++) expect(out).not.toContain(key.slice(i, i + 12));
    }
  });
});
