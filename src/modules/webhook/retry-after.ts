/*
 * A receiver's Retry-After (RFC 9110 section 10.2.3), read on the answers that define it for
 * "come back later": 429 Too Many Requests and 503 Service Unavailable. Pure functions; the worker
 * applies the result (workers/processors/deliver-webhook.processor.ts).
 */

/** The statuses whose Retry-After is honoured. On any other status the header is ignored. */
export const RETRY_AFTER_STATUSES: readonly number[] = [429, 503];

// HTTP-date in any of its three forms starts with a day name (IMF-fixdate, RFC 850, asctime).
// Requiring it keeps Date.parse's leniency ("1.5", "2030") from reading numbers as dates.
const HTTP_DATE = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s/i;

/**
 * Milliseconds from `nowMs` until the receiver wants the next try, or null when the header is
 * absent or malformed (then the normal backoff applies). delta-seconds must be a plain
 * non-negative integer; an HTTP-date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const seconds = Number(v);
    return Number.isFinite(seconds) ? seconds * 1000 : null;
  }
  if (!HTTP_DATE.test(v)) return null;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, at - nowMs);
}

/** The Retry-After of one answer, in ms, when its status is one that defines it. Not yet bounded. */
export function retryAfterOf(status: number | null, headers: Record<string, string> | undefined, nowMs: number): number | null {
  if (status == null || !RETRY_AFTER_STATUSES.includes(status)) return null;
  return parseRetryAfter(headers?.['retry-after'], nowMs);
}

/**
 * When the next try goes: the receiver's wish clamped to `maxMs`, and never sooner than our own
 * backoff would have waited.
 *
 * Clamped, because a receiver must not park a message for days (or overflow a timer) with
 * `Retry-After: 99999999`: past the operator's maximum we try again at the maximum, and that try
 * counts like any other. Never shorter than the backoff, because `Retry-After: 0` (or a date in
 * the past) on every answer would otherwise turn the retries into a burst that spends every try
 * within a second, which is exactly what a struggling receiver does not need; Retry-After is
 * honoured as "not before", which waiting longer still respects.
 */
export function nextTryDelayMs(retryAfterMs: number, backoffMs: number, maxMs: number): number {
  return Math.max(Math.min(retryAfterMs, maxMs), Math.max(0, backoffMs));
}
