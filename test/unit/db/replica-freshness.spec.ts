import { freshAsOf, parseLsn } from '../../../src/db/replica-measure';

describe('replica freshness', () => {
  it('compares WAL positions across the 32-bit halves', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
  });

  const samples = [
    { at: 100, lsn: parseLsn('0/100') },
    { at: 200, lsn: parseLsn('0/200') },
    { at: 300, lsn: parseLsn('0/200') },
    { at: 400, lsn: parseLsn('0/500') },
  ];

  it('is the time of the newest primary position the replica has replayed', () => {
    expect(freshAsOf(samples, parseLsn('0/500'))).toBe(400);
    // The primary did not move between 200 and 300: a replica at 0/200 holds everything before 300.
    expect(freshAsOf(samples, parseLsn('0/2FF'))).toBe(300);
    expect(freshAsOf(samples, parseLsn('0/150'))).toBe(100);
  });

  it('is unknown for a replica behind every sample (never taken as fresh)', () => {
    expect(freshAsOf(samples, parseLsn('0/FF'))).toBeNull();
    expect(freshAsOf([], parseLsn('5/0'))).toBeNull();
  });
});
