/*
 * The Redis side of slots.ts: `decide` and `afterOutcome` as Lua scripts, each one atomic step on
 * the Redis server, whose clock (TIME) is "now" for every worker process. A semaphore is a sorted
 * set (member: holder, score: lease end), so a lease lapses on its own: nothing a crashed worker
 * held survives it. Keys carry QUEUE_PREFIX themselves (no ioredis keyPrefix). One hash slot is not
 * assumed: a Redis Cluster deployment would need {hash tags} on them, as for the key-check script.
 */

/**
 * KEYS: 1 tenant set, 2 destination set, 3 tenant+destination set, 4 circuit hash (f: failures, ou: open until).
 * ARGV: 1 holder, 2 tenant max, 3 destination max, 4 tenant+destination max, 5 lease ms, 6 backoff after.
 * Returns {1, '', 0} when granted, else {0, reason, ms until the earliest lease ends or the window closes}.
 */
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = ARGV[1]
local failures = tonumber(redis.call('HGET', KEYS[4], 'f')) or 0
local openUntil = tonumber(redis.call('HGET', KEYS[4], 'ou')) or 0
if openUntil > now then return {0, 'BACKOFF', openUntil - now} end
local max = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
if failures >= tonumber(ARGV[6]) then max[3] = 1 end
local reasons = {'TENANT', 'DESTINATION', 'TENANT_DESTINATION'}
for i = 1, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if not redis.call('ZSCORE', KEYS[i], holder) and redis.call('ZCARD', KEYS[i]) >= max[i] then
    local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {0, reasons[i], math.max(0, tonumber(first[2]) - now)}
  end
end
local lease = tonumber(ARGV[5])
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now + lease, holder)
  if redis.call('PTTL', KEYS[i]) < lease then redis.call('PEXPIRE', KEYS[i], lease) end
end
return {1, '', 0}
`;

/** KEYS: 1 tenant set, 2 destination set, 3 tenant+destination set. ARGV: 1 holder. */
export const RELEASE_SCRIPT = `
for i = 1, 3 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`;

/**
 * KEYS: 1 circuit hash. ARGV: 1 unreachable (0|1), 2 backoff after, 3 base ms, 4 max ms.
 * The state lives on for `max ms` past its window, then a destination starts afresh.
 */
export const REPORT_SCRIPT = `
if ARGV[1] == '0' then
  redis.call('DEL', KEYS[1])
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'ou')) or 0
if openUntil > now then return 0 end
local failures = (tonumber(redis.call('HGET', KEYS[1], 'f')) or 0) + 1
local after, base, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
openUntil = 0
if failures >= after then openUntil = now + math.min(base * 2 ^ math.min(failures - after, 30), max) end
redis.call('HSET', KEYS[1], 'f', failures, 'ou', openUntil)
redis.call('PEXPIRE', KEYS[1], math.floor(math.max(openUntil - now, 0) + max))
return failures
`;
