/*
 * The Redis side of slots.ts: `decide` and `afterOutcome` as Lua scripts, each one atomic step on
 * the Redis server, whose clock (TIME) is "now" for every worker process. A semaphore is a sorted
 * set (member: holder, score: lease end), so a lease lapses on its own: nothing a crashed worker
 * held survives it. Keys carry QUEUE_PREFIX themselves (no ioredis keyPrefix). Every key of a pool
 * (semaphores, their waiter sets, circuits) carries the pool as hash tag (slots.ts slotKeys), so
 * each script's keys are in one Redis Cluster slot. Waking a job (BullMQ promote) is a separate
 * call, on its queue's own keys and slot (workers/processors/outbound-slot.ts).
 *
 * Waiters: a job refused for want of a slot is put back as a delayed job and then recorded in the
 * refusing semaphore's waiter set (member: holder = "<queue>:<job id>", score: when it first
 * waited); a release pops the oldest waiter of each of its three semaphores for the caller to
 * promote. A waiter older than the longest put-back delay is dropped: its timer fired already.
 */

/**
 * KEYS: 1 tenant set, 2 destination set, 3 tenant+destination set, 4 circuit hash (f: failures, ou: open until),
 * 5-7 the waiter sets of 1-3.
 * ARGV: 1 holder, 2 tenant max, 3 destination max, 4 tenant+destination max, 5 lease ms, 6 backoff after.
 * Returns {1, '', 0} when granted, else {0, reason, ms until the earliest lease ends or the window closes}.
 * A granted holder leaves every waiter set: a later wake must not promote it out of a delay of
 * another kind (a provider's Retry-After).
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
  redis.call('ZREM', KEYS[4 + i], holder)
end
return {1, '', 0}
`;

/**
 * KEYS: 1 the refusing semaphore, 2 its waiter set. ARGV: 1 holder, 2 the semaphore's max, 3 max wait ms.
 * Records the waiter (keeping its first place); should the semaphore have room by now (a release
 * came between the refusal and this), pops the oldest waiters for its free slots, to be woken.
 */
export const WAIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxWait = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - maxWait)
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], maxWait)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local woken = {}
if free > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], free)
  for i = 1, #popped, 2 do woken[#woken + 1] = popped[i] end
end
return woken
`;

/**
 * Frees a holder's slots and returns the oldest waiter of each semaphore it freed (at most three),
 * to be woken: each has one slot more now. sets: the three semaphores, then their waiter sets.
 */
const RELEASE_FN = `
local function release(sets, holder, maxWait, now)
  local woken = {}
  for i = 1, 3 do
    if redis.call('ZREM', sets[i], holder) == 1 then
      redis.call('ZREMRANGEBYSCORE', sets[3 + i], '-inf', now - maxWait)
      local popped = redis.call('ZPOPMIN', sets[3 + i], 1)
      if popped[1] then woken[#woken + 1] = popped[1] end
    end
  end
  return woken
end
`;

/**
 * The circuit after one call (circuit hash: f failures, ou open until). The state lives on for
 * `max` ms past its window, then a destination starts afresh. Returns the failure count when this
 * call counted (so >= after: it opened a window), 0 when it did not.
 */
const REPORT_FN = `
local function report(circuit, unreachable, after, base, max, now)
  if unreachable == '0' then
    redis.call('DEL', circuit)
    return 0
  end
  local openUntil = tonumber(redis.call('HGET', circuit, 'ou')) or 0
  if openUntil > now then return 0 end
  local failures = (tonumber(redis.call('HGET', circuit, 'f')) or 0) + 1
  openUntil = 0
  if failures >= after then openUntil = now + math.min(base * 2 ^ math.min(failures - after, 30), max) end
  redis.call('HSET', circuit, 'f', failures, 'ou', openUntil)
  redis.call('PEXPIRE', circuit, math.floor(math.max(openUntil - now, 0) + max))
  return failures
end
`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS: 1 tenant set, 2 destination set, 3 tenant+destination set, 4-6 their waiter sets. ARGV: 1 holder, 2 max wait ms. */
export const RELEASE_SCRIPT = `${RELEASE_FN}${NOW}
return release(KEYS, ARGV[1], tonumber(ARGV[2]), now)
`;

/** KEYS: 1 circuit hash. ARGV: 1 unreachable (0|1), 2 backoff after, 3 base ms, 4 max ms. */
export const REPORT_SCRIPT = `${REPORT_FN}${NOW}
return report(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), now)
`;

/**
 * The end of a call in one round trip: report, then release. KEYS: 1-3 the semaphores, 4-6 their
 * waiter sets, 7 the circuit. ARGV: 1 holder, 2 max wait ms, 3 unreachable (0|1), 4 backoff after,
 * 5 base ms, 6 max ms. Returns {failures counted (0: none), woken holders...}.
 */
export const LEAVE_SCRIPT = `${REPORT_FN}${RELEASE_FN}${NOW}
local failures = report(KEYS[7], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), now)
local out = {failures}
for _, h in ipairs(release(KEYS, ARGV[1], tonumber(ARGV[2]), now)) do out[#out + 1] = h end
return out
`;
