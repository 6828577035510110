import { loadConfig } from '../../../src/config';
import { nextTryDelayMs, parseRetryAfter, retryAfterOf } from '../../../src/modules/webhook/retry-after';

const NOW = Date.parse('2030-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an HTTP-date in each of its three forms, relative to now', () => {
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfter('Tuesday, 01-Jan-30 00:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfter('Tue Jan  1 00:00:05 2030', NOW)).not.toBeNull();
  });

  it('treats a date in the past as now', () => {
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores what is absent or malformed (the normal backoff applies)', () => {
    for (const bad of [undefined, null, '', 'soon', '-5', '1.5', '12abc', 'Foo, 01 Jan 2030 00:00:00 GMT', 'Tue, 99 Zzz 2030']) {
      expect(parseRetryAfter(bad, NOW)).toBeNull();
    }
  });
});

describe('retryAfterOf', () => {
  it('honours the header on 429 and 503 only', () => {
    expect(retryAfterOf(503, { 'retry-after': '7' }, NOW)).toBe(7000);
    expect(retryAfterOf(429, { 'retry-after': '7' }, NOW)).toBe(7000);
    expect(retryAfterOf(500, { 'retry-after': '7' }, NOW)).toBeNull();
    expect(retryAfterOf(200, { 'retry-after': '7' }, NOW)).toBeNull();
    expect(retryAfterOf(null, { 'retry-after': '7' }, NOW)).toBeNull();
    expect(retryAfterOf(503, {}, NOW)).toBeNull();
  });
});

describe('nextTryDelayMs', () => {
  it('waits as asked when that is between the backoff and the maximum', () => {
    expect(nextTryDelayMs(30_000, 2_000, 3_600_000)).toBe(30_000);
  });

  it('clamps a long Retry-After to the maximum', () => {
    expect(nextTryDelayMs(99_999_999_000, 2_000, 3_600_000)).toBe(3_600_000);
  });

  it('never goes sooner than the normal backoff (Retry-After: 0 is no burst)', () => {
    expect(nextTryDelayMs(0, 8_000, 3_600_000)).toBe(8_000);
    expect(nextTryDelayMs(1_000, 8_000, 3_600_000)).toBe(8_000);
  });
});

describe('webhook settings', () => {
  const base = {
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
    KEYPLANE_ADMIN_TOKEN: 'x'.repeat(40),
    KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
    KEYPLANE_FINGERPRINT_KEY: 'y'.repeat(40),
    KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}`,
  };

  it('defaults: Retry-After bounded at 3600 s, disabled after 10 dead deliveries in a row', () => {
    expect(loadConfig(base).webhook).toMatchObject({ retryAfterMaxMs: 3_600_000, disableAfterFailures: 10 });
  });

  it('reads both settings and refuses bad values, naming the variable', () => {
    const c = loadConfig({ ...base, WEBHOOK_RETRY_AFTER_MAX_SECONDS: '60', WEBHOOK_DISABLE_AFTER_FAILURES: '0' });
    expect(c.webhook).toMatchObject({ retryAfterMaxMs: 60_000, disableAfterFailures: 0 });
    expect(() => loadConfig({ ...base, WEBHOOK_RETRY_AFTER_MAX_SECONDS: '0' })).toThrow(/WEBHOOK_RETRY_AFTER_MAX_SECONDS/);
    expect(() => loadConfig({ ...base, WEBHOOK_DISABLE_AFTER_FAILURES: '-1' })).toThrow(/WEBHOOK_DISABLE_AFTER_FAILURES/);
  });
});
