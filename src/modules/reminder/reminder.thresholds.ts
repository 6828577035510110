import type { ReminderThreshold } from './reminder.entity';

const DAY_MS = 86_400_000;

/** How far ahead of rotate-by each reminder fires, most urgent last. */
export const THRESHOLD_DAYS: ReadonlyArray<readonly [ReminderThreshold, number]> = [
  ['DAYS_14', 14],
  ['DAYS_7', 7],
  ['DAYS_1', 1],
];

/** The furthest-ahead threshold: credentials due later than this need no reminder yet. */
export const REMINDER_HORIZON_DAYS = 14;

/**
 * The most urgent threshold a rotate-by date has crossed at `now`, or null when it is more than
 * 14 days away. Only the most urgent one is recorded: a sweep that first sees a key 3 days before
 * its date (a short rotation period, or sweeps missed while workers were down) sends one "7 days"
 * reminder, not a burst of "14 days" and "7 days" at once. Time only moves towards more urgent
 * thresholds, so each one is still recorded at most once per key version (unique index).
 */
export function crossedThreshold(rotateBy: Date, now: Date): ReminderThreshold | null {
  const left = rotateBy.getTime() - now.getTime();
  if (left <= 0) return 'OVERDUE';
  let crossed: ReminderThreshold | null = null;
  for (const [threshold, days] of THRESHOLD_DAYS) {
    if (left <= days * DAY_MS) crossed = threshold;
  }
  return crossed;
}
