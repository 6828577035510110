/*
 * Isolation between tenants on the outbound paths (webhooks, key checks): pure parts. A call takes
 * one slot in each of three counting semaphores before it goes out, and gives them back when it
 * ends (or its lease lapses):
 *
 *   tenant              at most OUTBOUND_MAX_PER_TENANT calls of one tenant at a time;
 *   destination         at most OUTBOUND_MAX_PER_DESTINATION calls to one host:port, all tenants;
 *   tenant+destination  one tenant's share of a destination: half of it, rounded up, so a tenant
 *                       that points its URLs at another tenant's receiver (a hanging path on it)
 *                       can never fill that receiver's slots by itself.
 *
 * plus a circuit per tenant+destination that backs off a destination which keeps not answering.
 * The circuit is per tenant too, for the same reason: a shared one would let a tenant's hanging
 * path on someone else's host back that host off for everyone.
 *
 * The shared stores (slot-store.ts: a Lua script on Redis, functions on PostgreSQL) run the same
 * steps as `decide` and `afterOutcome` below, atomically; MemorySlots runs them here (unit tests).
 */

export const POOLS = ['webhook', 'provider'] as const;
/** Which worker path a call is on; each path has its own slots (they run on separate queues). */
export type Pool = (typeof POOLS)[number];

export type Refusal = 'TENANT' | 'DESTINATION' | 'TENANT_DESTINATION' | 'BACKOFF';

export interface SlotKeys {
  tenant: string;
  destination: string;
  tenantDestination: string;
  circuit: string;
}

export interface SlotLimits {
  tenant: number;
  destination: number;
  tenantDestination: number;
}

export interface IsolationSettings {
  /** Webhook pool (tenant-chosen destinations). */
  maxPerTenant: number;
  maxPerDestination: number;
  /**
   * Provider pool (key checks). Provider hosts are platform-pinned (tenants cannot aim key checks
   * at hosts of their own), so a tenant's many checks are a fairness question, not a hang risk:
   * these are higher, derived from WORKER_CONCURRENCY unless set (config.ts, providerPoolDefaults).
   */
  providerMaxPerTenant: number;
  providerMaxPerDestination: number;
  /** Calls that got no answer in a row (per tenant and destination) before it is backed off. */
  backoffAfter: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** First wait of a job put back for want of a slot; doubles per put-back up to DEFER_CAP times. */
  deferMs: number;
}

export type AcquireReply = { granted: true } | { granted: false; reason: Refusal; retryInMs: number };

export interface CircuitState {
  failures: number;
  /** Epoch ms until which calls are refused; 0 when closed. */
  openUntil: number;
}

/** How long after a call's own deadline its slot is held at most, for the work around it (connect, timers). */
export const LEASE_MARGIN_MS = 5_000;
/** Put-back delays grow to at most this many times `deferMs`. */
export const DEFER_CAP = 8;
/** Exponent cap of the backoff, so the arithmetic never overflows (the max bounds it long before). */
const MAX_DOUBLINGS = 30;

/** `host:port` of an outbound URL (default ports filled in, host lower-case), or null when it does not parse. */
export function destinationOf(rawUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null;
  }
  if (!url.hostname) return null;
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/**
 * One Lua script takes a slot in the tenant, destination and tenant-destination sets and reads the
 * circuit, so on a Redis Cluster the four keys must share a slot: the pool is their hash tag (all
 * of a pool's coordination on one shard: a few small sorted sets). Harmless on one server.
 */
export function slotKeys(prefix: string, pool: Pool, tenantId: string, destination: string): SlotKeys {
  const base = `${prefix}:outbound:{${pool}}`;
  return {
    tenant: `${base}:t:${tenantId}`,
    destination: `${base}:d:${destination}`,
    tenantDestination: `${base}:td:${tenantId}:${destination}`,
    circuit: `${base}:c:${tenantId}:${destination}`,
  };
}

export function slotLimits(s: Pick<IsolationSettings, 'maxPerTenant' | 'maxPerDestination'>): SlotLimits {
  return { tenant: s.maxPerTenant, destination: s.maxPerDestination, tenantDestination: Math.max(1, Math.ceil(s.maxPerDestination / 2)) };
}

/** The limits of one pool: the webhook pool's settings, or the provider pool's own. */
export function poolLimits(s: IsolationSettings, pool: Pool): SlotLimits {
  return pool === 'webhook' ? slotLimits(s) : slotLimits({ maxPerTenant: s.providerMaxPerTenant, maxPerDestination: s.providerMaxPerDestination });
}

/**
 * Defaults of the provider pool, from the worker's concurrency C (one process's key-check slots):
 * a tenant at most half of them, so another tenant always finds the other half free (the
 * noisy-neighbour guarantee, whatever one tenant's checks do); a provider host at most three
 * quarters, so a provider's outage (every check to it hanging until its deadline) leaves a quarter
 * for checks of other providers; one tenant at most half of a host's (slotLimits). Never below the
 * webhook pool's limits. At C=50 (the bench): 25, 38, 19 instead of 4, 4, 2, which is what let one
 * tenant's bulk import of keys crawl (about 136 checks/s against 500-1500 before the slots).
 */
export function providerPoolDefaults(
  concurrency: number,
  webhook: Pick<IsolationSettings, 'maxPerTenant' | 'maxPerDestination'>,
): Pick<IsolationSettings, 'providerMaxPerTenant' | 'providerMaxPerDestination'> {
  return {
    providerMaxPerTenant: Math.max(webhook.maxPerTenant, Math.ceil(concurrency / 2)),
    providerMaxPerDestination: Math.max(webhook.maxPerDestination, Math.ceil((3 * concurrency) / 4)),
  };
}

/** The set where jobs refused by one semaphore wait to be woken when it frees a slot (same hash tag). */
export const waitersKey = (semaphore: string): string => `${semaphore}:w`;

/** Which semaphore refused: its key, for the waiters (a BACKOFF has none: its window is a timer). */
export function refusingKey(keys: SlotKeys, reason: Refusal): string | null {
  if (reason === 'TENANT') return keys.tenant;
  if (reason === 'DESTINATION') return keys.destination;
  if (reason === 'TENANT_DESTINATION') return keys.tenantDestination;
  return null;
}

/** The longest a put-back job waits for its timer (deferDelayMs's cap, jitter included): waiters older than this are stale. */
export function maxPutBackMs(deferMs: number): number {
  return Math.ceil(deferMs * DEFER_CAP * 1.5);
}

/** A slot outlives the call's deadline by a margin, never more: a crashed holder frees it then. */
export function leaseMsFor(callTimeoutMs: number): number {
  return callTimeoutMs + LEASE_MARGIN_MS;
}

/** The backoff window after `failures` unanswered calls in a row (0 below the threshold). */
export function backoffMs(failures: number, s: Pick<IsolationSettings, 'backoffAfter' | 'backoffBaseMs' | 'backoffMaxMs'>): number {
  if (failures < s.backoffAfter) return 0;
  return Math.min(s.backoffBaseMs * 2 ** Math.min(failures - s.backoffAfter, MAX_DOUBLINGS), s.backoffMaxMs);
}

/**
 * The circuit after one call. An answer (any HTTP status) closes it. A call without one counts,
 * unless the circuit is already open: calls that were in flight when it opened must not double
 * the window; only calls let through while closed, or the single probe after a window, count.
 */
export function afterOutcome(state: CircuitState, unreachable: boolean, now: number, s: Parameters<typeof backoffMs>[1]): CircuitState {
  if (!unreachable) return { failures: 0, openUntil: 0 };
  if (state.openUntil > now) return state;
  const failures = state.failures + 1;
  const window = backoffMs(failures, s);
  return { failures, openUntil: window > 0 ? now + window : 0 };
}

/** Holders of one semaphore: holder id -> lease end (epoch ms). */
export type Holders = Map<string, number>;

/**
 * One take, as the stores run it: refused while the circuit is open; after a window (failures
 * still at or over the threshold) only one call of the tenant may probe the destination. Expired
 * leases are dropped first. A holder already in a semaphore (its job restarted after a stall)
 * keeps its place instead of taking a second one. Either all three slots are taken or none.
 */
export function decide(
  sets: [Holders, Holders, Holders],
  circuit: CircuitState,
  holder: string,
  limits: SlotLimits,
  backoffAfter: number,
  leaseMs: number,
  now: number,
): AcquireReply {
  if (circuit.openUntil > now) return { granted: false, reason: 'BACKOFF', retryInMs: circuit.openUntil - now };
  const max = [limits.tenant, limits.destination, circuit.failures >= backoffAfter ? 1 : limits.tenantDestination];
  const reasons: Refusal[] = ['TENANT', 'DESTINATION', 'TENANT_DESTINATION'];
  for (let i = 0; i < 3; i++) {
    const set = sets[i];
    for (const [h, until] of set) if (until <= now) set.delete(h);
    if (!set.has(holder) && set.size >= max[i]) {
      return { granted: false, reason: reasons[i], retryInMs: Math.min(...set.values()) - now };
    }
  }
  for (const set of sets) set.set(holder, now + leaseMs);
  return { granted: true };
}

/**
 * How long a job waits, out of the worker, before asking again. Refused for a slot: `deferMs`
 * doubling with each put-back of this job (capped), so a tenant with a thousand queued calls does
 * not poll the store a thousand times a second; backed off: until the window ends. Both jittered
 * (x0.5 to x1.5 of the base, plus up to one `deferMs` after a window), so put-back jobs do not
 * come back in lockstep.
 */
export function deferDelayMs(reply: { reason: Refusal; retryInMs: number }, deferrals: number, deferMs: number, random = Math.random): number {
  if (reply.reason === 'BACKOFF') return Math.max(0, Math.ceil(reply.retryInMs)) + Math.round(random() * deferMs);
  const base = deferMs * Math.min(2 ** Math.max(0, deferrals), DEFER_CAP);
  return Math.max(1, Math.round(base * (0.5 + random())));
}
