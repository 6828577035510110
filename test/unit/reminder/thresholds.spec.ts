import { crossedThreshold } from '../../../src/modules/reminder/reminder.thresholds';

const NOW = new Date('2030-06-15T03:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);
const DAY = 86_400_000;

describe('crossedThreshold (rotate-by date -> most urgent reminder due)', () => {
  it.each([
    ['more than 14 days ahead', at(14 * DAY + 1), null],
    ['exactly 14 days ahead', at(14 * DAY), 'DAYS_14'],
    ['13 days ahead', at(13 * DAY), 'DAYS_14'],
    ['just over 7 days ahead', at(7 * DAY + 1), 'DAYS_14'],
    ['exactly 7 days ahead', at(7 * DAY), 'DAYS_7'],
    ['6 days ahead', at(6 * DAY), 'DAYS_7'],
    ['just over 1 day ahead', at(DAY + 1), 'DAYS_7'],
    ['exactly 1 day ahead', at(DAY), 'DAYS_1'],
    ['12 hours ahead', at(DAY / 2), 'DAYS_1'],
    ['1 ms ahead', at(1), 'DAYS_1'],
    ['exactly now', at(0), 'OVERDUE'],
    ['a day ago', at(-DAY), 'OVERDUE'],
    ['a year ago', at(-365 * DAY), 'OVERDUE'],
  ])('%s -> %s', (_name, rotateBy, expected) => {
    expect(crossedThreshold(rotateBy, NOW)).toBe(expected);
  });

  it('only ever becomes more urgent as time passes (so each threshold is recorded at most once)', () => {
    const order = [null, 'DAYS_14', 'DAYS_7', 'DAYS_1', 'OVERDUE'];
    const rotateBy = at(20 * DAY);
    let last = 0;
    for (let hours = 0; hours <= 24 * 25; hours++) {
      const rank = order.indexOf(crossedThreshold(rotateBy, at(hours * 3_600_000)));
      expect(rank).toBeGreaterThanOrEqual(last);
      last = rank;
    }
    expect(last).toBe(4);
  });

  it('works in UTC regardless of the local time zone (pure millisecond arithmetic)', () => {
    expect(crossedThreshold(new Date('2030-06-22T03:00:00Z'), NOW)).toBe('DAYS_7');
    expect(crossedThreshold(new Date('2030-06-22T03:00:00.001Z'), NOW)).toBe('DAYS_14');
  });
});
