/**
 * GCRA (generic cell rate algorithm), the token bucket kept as one number per subject: the
 * "theoretical arrival time" (TAT) of the next request. `limit` requests per `periodMs`, refilling
 * evenly, bursts up to `limit`. Chosen over a sliding-window log because it stores one value per
 * subject however busy it is, answers with an exact retry-after, and needs no clean-up beyond the
 * key's own expiry (when the bucket is full again). The Redis script below and MemoryBuckets run
 * the same arithmetic.
 */
export interface Rate {
  limit: number;
  periodMs: number;
}

export function interval(rate: Rate): number {
  return rate.periodMs / rate.limit;
}

/** Slack before the next request is refused: a full bucket allows `limit` requests at once. */
export function tolerance(rate: Rate): number {
  return interval(rate) * (rate.limit - 1);
}

/** 0: allowed, and the new TAT; otherwise how many ms until it would be. */
export function gcra(tat: number | undefined, now: number, rate: Rate): { waitMs: number; newTat: number } {
  const base = Math.max(tat ?? now, now);
  const waitMs = base - tolerance(rate) - now;
  return waitMs > 0 ? { waitMs, newTat: base } : { waitMs: 0, newTat: base + interval(rate) };
}

/**
 * Both buckets (tenant, token) in one atomic step: a request consumes from both or from neither,
 * so a refused request costs nothing. Refusals of one tenant+token are counted in their own key
 * over the repeat window. Time is the Redis server's (TIME), so API processes with skewed clocks
 * share one notion of "now". Keys: 1 tenant bucket, 2 token bucket, 3 refusal counter, all under
 * one hash tag (key-layout.ts keyCheckKeys), so the script runs on a Redis Cluster too.
 * ARGV: tenant interval, tenant tolerance, token interval, token tolerance, refusal window (ms).
 * Returns {allowed 0|1, wait ms, refusals in the window}.
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function check(key, iv, tol)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  return tat - tol - now, tat + iv
end
local wa, na = check(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
local wb, nb = check(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
local wait = math.max(wa, wb)
if wait > 0 then
  local refused = redis.call('INCR', KEYS[3])
  if refused == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
  return {0, math.ceil(wait), refused}
end
redis.call('SET', KEYS[1], tostring(na), 'PX', math.max(1, math.ceil(na - now)))
redis.call('SET', KEYS[2], tostring(nb), 'PX', math.max(1, math.ceil(nb - now)))
return {1, 0, 0}
`;
