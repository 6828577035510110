import { OutboundGate } from '../../../src/outbound/isolation/outbound-gate';
import { MemorySlots, type SlotStore } from '../../../src/outbound/isolation/slot-store';
import {
  afterOutcome,
  backoffMs,
  deferDelayMs,
  destinationOf,
  LEASE_MARGIN_MS,
  leaseMsFor,
  slotKeys,
  maxPutBackMs,
  poolLimits,
  providerPoolDefaults,
  slotLimits,
  type IsolationSettings,
  type Pool,
} from '../../../src/outbound/isolation/slots';
import { triesStarted } from '../../../workers/processors/outbound-slot';
import { ConfigError, loadConfig } from '../../../src/config';

const SETTINGS: IsolationSettings = {
  maxPerTenant: 2,
  maxPerDestination: 4,
  providerMaxPerTenant: 3,
  providerMaxPerDestination: 6,
  backoffAfter: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 8_000,
  deferMs: 100,
};

function world(settings: Partial<IsolationSettings> = {}) {
  let now = 1_000_000;
  const store = new MemorySlots(() => now);
  const woken: string[] = [];
  const gate = new OutboundGate(store, { ...SETTINGS, ...settings }, 'kp', undefined, async (holder) => (woken.push(holder), true));
  const admit = (tenantId: string, url: string, holder: string, pool: Pool = 'webhook') =>
    gate.admit({ pool, tenantId, url, holder, callTimeoutMs: 1_000, deferrals: 0 });
  return { store, gate, admit, woken, tick: (ms: number) => (now += ms), now: () => now };
}

describe('slot arithmetic', () => {
  it('names a destination by host and port, default ports filled in', () => {
    expect(destinationOf('https://Hooks.Example.com/x?y')).toBe('hooks.example.com:443');
    expect(destinationOf('http://hooks.example.com/x')).toBe('hooks.example.com:80');
    expect(destinationOf('http://127.0.0.1:8080/x')).toBe('127.0.0.1:8080');
    expect(destinationOf('http://[::1]:9/x')).toBe('[::1]:9');
    expect(destinationOf('not a url')).toBeNull();
  });

  it('keys slots by pool, tenant and destination under the prefix, the pool as hash tag (one cluster slot per pool)', () => {
    expect(slotKeys('kp', 'provider', 't1', 'h:443')).toEqual({
      tenant: 'kp:outbound:{provider}:t:t1',
      destination: 'kp:outbound:{provider}:d:h:443',
      tenantDestination: 'kp:outbound:{provider}:td:t1:h:443',
      circuit: 'kp:outbound:{provider}:c:t1:h:443',
    });
  });

  it("gives one tenant at most half of a destination's slots (rounded up, at least one)", () => {
    expect(slotLimits({ maxPerTenant: 4, maxPerDestination: 4 }).tenantDestination).toBe(2);
    expect(slotLimits({ maxPerTenant: 4, maxPerDestination: 5 }).tenantDestination).toBe(3);
    expect(slotLimits({ maxPerTenant: 4, maxPerDestination: 1 }).tenantDestination).toBe(1);
  });

  it('gives the provider pool its own limits, by default derived from the worker concurrency, never below the webhook pool', () => {
    expect(poolLimits(SETTINGS, 'webhook')).toEqual({ tenant: 2, destination: 4, tenantDestination: 2 });
    expect(poolLimits(SETTINGS, 'provider')).toEqual({ tenant: 3, destination: 6, tenantDestination: 3 });
    expect(providerPoolDefaults(50, { maxPerTenant: 4, maxPerDestination: 4 })).toEqual({ providerMaxPerTenant: 25, providerMaxPerDestination: 38 });
    expect(providerPoolDefaults(1, { maxPerTenant: 4, maxPerDestination: 4 })).toEqual({ providerMaxPerTenant: 4, providerMaxPerDestination: 4 });
    // A tenant never holds more than half of one worker's key-check slots: another always finds the rest.
    for (const c of [1, 2, 3, 10, 11, 50, 500]) {
      const p = providerPoolDefaults(c, { maxPerTenant: 1, maxPerDestination: 1 });
      const l = poolLimits({ ...SETTINGS, ...p }, 'provider');
      expect(Math.min(l.tenant, l.tenantDestination)).toBeLessThanOrEqual(Math.ceil(c / 2));
      expect(l.destination).toBeLessThanOrEqual(Math.max(1, Math.ceil((3 * c) / 4)));
    }
  });

  it('leases a slot for the call deadline plus a margin', () => {
    expect(leaseMsFor(5_000)).toBe(5_000 + LEASE_MARGIN_MS);
  });

  it('backs off after N unanswered calls, doubling up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50_000].map((f) => backoffMs(f, SETTINGS))).toEqual([0, 0, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('opens the circuit at the threshold, does not count calls in flight while open, and closes on an answer', () => {
    let s = { failures: 0, openUntil: 0 };
    s = afterOutcome(s, true, 0, SETTINGS);
    s = afterOutcome(s, true, 0, SETTINGS);
    expect(s).toEqual({ failures: 2, openUntil: 0 });
    s = afterOutcome(s, true, 10, SETTINGS);
    expect(s).toEqual({ failures: 3, openUntil: 1_010 });
    // Calls that were already out when it opened do not double the window.
    expect(afterOutcome(s, true, 500, SETTINGS)).toBe(s);
    // The probe after the window fails: the next window is twice as long.
    expect(afterOutcome(s, true, 1_100, SETTINGS)).toEqual({ failures: 4, openUntil: 3_100 });
    expect(afterOutcome(s, false, 1_100, SETTINGS)).toEqual({ failures: 0, openUntil: 0 });
  });

  it('puts a refused job back briefly, longer with each put-back (capped), jittered; a backed-off one until its window ends', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((n) => deferDelayMs({ reason: 'TENANT', retryInMs: 9_999 }, n, 100, mid))).toEqual([100, 200, 400, 800, 800]);
    expect(deferDelayMs({ reason: 'DESTINATION', retryInMs: 0 }, 0, 100, () => 0)).toBe(50);
    expect(deferDelayMs({ reason: 'DESTINATION', retryInMs: 0 }, 0, 100, () => 0.999)).toBe(150);
    expect(deferDelayMs({ reason: 'BACKOFF', retryInMs: 2_000 }, 0, 100, mid)).toBe(2_050);
  });

  it('does not count starts that only waited for a slot as tries', () => {
    expect(triesStarted({ attemptsMade: 0, attemptsStarted: 1, data: {} })).toBe(1);
    expect(triesStarted({ attemptsMade: 0, attemptsStarted: 6, data: { deferred: 5 } })).toBe(1);
    expect(triesStarted({ attemptsMade: 1, attemptsStarted: 7, data: { deferred: 5 } })).toBe(2);
    // A stalled-and-restarted try still counts (attemptsStarted ran ahead of attemptsMade).
    expect(triesStarted({ attemptsMade: 0, attemptsStarted: 2, data: {} })).toBe(2);
  });
});

describe('OutboundGate on the reference store', () => {
  it('holds a tenant to its limit while another tenant still gets through, and frees a slot on leave', async () => {
    const w = world();
    const a = await w.admit('H', 'http://a.test/x', 'q:1');
    const b = await w.admit('H', 'http://b.test/x', 'q:2');
    expect([a.admitted, b.admitted]).toEqual([true, true]);
    expect(await w.admit('H', 'http://c.test/x', 'q:3')).toMatchObject({ admitted: false, reason: 'TENANT' });
    expect(await w.admit('G', 'http://c.test/x', 'q:4')).toMatchObject({ admitted: true });
    if (a.admitted) await a.leave({ unreachable: false });
    expect(await w.admit('H', 'http://c.test/x', 'q:3')).toMatchObject({ admitted: true });
  });

  it('limits a destination across tenants, and one tenant to half of it', async () => {
    const w = world({ maxPerTenant: 4 });
    expect(await w.admit('A', 'http://d.test/', 'q:1')).toMatchObject({ admitted: true });
    expect(await w.admit('A', 'http://d.test/', 'q:2')).toMatchObject({ admitted: true });
    expect(await w.admit('A', 'http://d.test/', 'q:3')).toMatchObject({ admitted: false, reason: 'TENANT_DESTINATION' });
    expect(await w.admit('B', 'http://d.test/', 'q:4')).toMatchObject({ admitted: true });
    expect(await w.admit('B', 'http://d.test/', 'q:5')).toMatchObject({ admitted: true });
    expect(await w.admit('D', 'http://d.test/', 'q:6')).toMatchObject({ admitted: false, reason: 'DESTINATION' });
  });

  it("wakes the oldest job waiting on a tenant's slot when one of the tenant's calls ends", async () => {
    const w = world();
    const a = await w.admit('H', 'http://a.test/', 'q:1');
    await w.admit('H', 'http://b.test/', 'q:2');
    const r3 = await w.admit('H', 'http://c.test/', 'q:3');
    w.tick(1);
    const r4 = await w.admit('H', 'http://c.test/', 'q:4');
    if (r3.admitted || r4.admitted) throw new Error('admitted over the limit');
    await r3.waitForSlot();
    await r4.waitForSlot();
    await r3.waitForSlot(); // again: keeps its first place
    expect(w.woken).toEqual([]);
    expect(w.store.waiting('kp:outbound:{webhook}:t:H')).toEqual(['q:3', 'q:4']);
    if (a.admitted) await a.leave({ unreachable: false });
    expect(w.woken).toEqual(['q:3']);
    // Woken, it takes the freed slot and leaves the waiters; the next waits for the next release.
    expect(await w.admit('H', 'http://c.test/', 'q:3')).toMatchObject({ admitted: true });
    expect(w.store.waiting('kp:outbound:{webhook}:t:H')).toEqual(['q:4']);
  });

  it("never wakes another tenant's waiter with a tenant's slot, but does with a shared destination's", async () => {
    const w = world({ maxPerTenant: 1 });
    const a = await w.admit('A', 'http://d.test/', 'q:a1');
    const b = await w.admit('B', 'http://e.test/', 'q:b1');
    const rb = await w.admit('B', 'http://e.test/', 'q:b2');
    if (rb.admitted) throw new Error('admitted over the limit');
    await rb.waitForSlot();
    if (a.admitted) await a.leave({ unreachable: false });
    expect(w.woken).toEqual([]); // A's tenant slot is no slot of B's
    if (b.admitted) await b.leave({ unreachable: false });
    expect(w.woken).toEqual(['q:b2']);
    // A destination full of two tenants' calls: a third tenant's waiter is woken by either's release.
    const w2 = world({ maxPerTenant: 4, maxPerDestination: 2 });
    const x = await w2.admit('X', 'http://d.test/', 'q:x');
    await w2.admit('Y', 'http://d.test/', 'q:y');
    const z = await w2.admit('Z', 'http://d.test/', 'q:z');
    expect(z).toMatchObject({ admitted: false, reason: 'DESTINATION' });
    if (!z.admitted) await z.waitForSlot();
    if (x.admitted) await x.leave({ unreachable: false });
    expect(w2.woken).toEqual(['q:z']);
  });

  it('wakes a waiter at once when the slot freed between its refusal and its wait, and forgets stale waiters', async () => {
    const w = world();
    const a = await w.admit('H', 'http://a.test/', 'q:1');
    await w.admit('H', 'http://b.test/', 'q:2');
    const r = await w.admit('H', 'http://c.test/', 'q:3');
    if (a.admitted) await a.leave({ unreachable: false }); // nobody waits yet: no one to wake
    expect(w.woken).toEqual([]);
    if (!r.admitted) await r.waitForSlot();
    expect(w.woken).toEqual(['q:3']);
    // A waiter older than the longest put-back timer came back on that timer already.
    expect(await w.admit('H', 'http://c.test/', 'q:3')).toMatchObject({ admitted: true });
    const r4 = await w.admit('H', 'http://c.test/', 'q:4');
    const r5 = await w.admit('H', 'http://c.test/', 'q:5');
    if (r4.admitted || r5.admitted) throw new Error('admitted over the limit');
    await r4.waitForSlot();
    w.tick(maxPutBackMs(SETTINGS.deferMs));
    await r5.waitForSlot();
    expect(w.store.waiting('kp:outbound:{webhook}:t:H')).toEqual(['q:5']);
  });

  it('does not record a backed-off job as a waiter (its window is a time), and counts put-backs, wake-ups and opened circuits', async () => {
    const w = world();
    for (const h of ['q:1', 'q:2', 'q:3']) {
      const a = await w.admit('H', 'http://slow.test/', h);
      if (a.admitted) await a.leave({ unreachable: true });
    }
    const r = await w.admit('H', 'http://slow.test/', 'q:4');
    expect(r).toMatchObject({ admitted: false, reason: 'BACKOFF' });
    if (!r.admitted) await r.waitForSlot();
    expect(w.store.waiting('kp:outbound:{webhook}:td:H:slow.test:80')).toEqual([]);
    const value = async (c: { get(): Promise<{ values: { labels: object; value: number }[] }> }, labels: object) =>
      (await c.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value;
    expect(await value(w.gate.putBacks, { pool: 'webhook', reason: 'BACKOFF' })).toBe(1);
    expect(await value(w.gate.putBacks, { pool: 'provider', reason: 'TENANT' })).toBe(0);
    expect(await value(w.gate.circuitsOpened, { pool: 'webhook' })).toBe(1);
  });

  it('meters the provider pool with its own, higher limits', async () => {
    const w = world();
    for (const h of ['p:1', 'p:2', 'p:3']) expect(await w.admit('H', 'http://api.test/', h, 'provider')).toMatchObject({ admitted: true });
    expect(await w.admit('H', 'http://api.test/', 'p:4', 'provider')).toMatchObject({ admitted: false, reason: 'TENANT' });
    // The webhook pool's slots are apart.
    expect(await w.admit('H', 'http://api.test/', 'q:1')).toMatchObject({ admitted: true });
  });

  it('lets a restarted holder keep its own slot instead of taking another', async () => {
    const w = world();
    expect(await w.admit('H', 'http://a.test/', 'q:1')).toMatchObject({ admitted: true });
    expect(await w.admit('H', 'http://a.test/', 'q:1')).toMatchObject({ admitted: true });
    expect(w.store.holders('kp:outbound:{webhook}:t:H')).toEqual(['q:1']);
  });

  it("frees a crashed holder's slots when the lease lapses", async () => {
    const w = world();
    await w.admit('H', 'http://a.test/', 'q:1');
    await w.admit('H', 'http://a.test/', 'q:2'); // both "crash": nobody leaves
    expect(await w.admit('H', 'http://a.test/', 'q:3')).toMatchObject({ admitted: false, reason: 'TENANT' });
    w.tick(1_000 + LEASE_MARGIN_MS - 1);
    expect(await w.admit('H', 'http://a.test/', 'q:3')).toMatchObject({ admitted: false, reason: 'TENANT' });
    w.tick(1);
    expect(await w.admit('H', 'http://a.test/', 'q:3')).toMatchObject({ admitted: true });
  });

  it('backs a destination off after N unanswered calls, probes it with one call, and recovers on an answer', async () => {
    const w = world();
    const call = async (holder: string, unreachable: boolean) => {
      const a = await w.admit('H', 'http://slow.test/', holder);
      if (a.admitted) await a.leave({ unreachable });
      return a;
    };
    for (const h of ['q:1', 'q:2', 'q:3']) expect(await call(h, true)).toMatchObject({ admitted: true });
    const refused = await w.admit('H', 'http://slow.test/', 'q:4');
    expect(refused).toMatchObject({ admitted: false, reason: 'BACKOFF' });
    expect(refused.admitted === false && refused.delayMs).toBeGreaterThanOrEqual(1_000);
    // Other destinations of the tenant, and other tenants on this one, are not backed off.
    const other = await w.admit('H', 'http://fast.test/', 'q:5');
    expect(other).toMatchObject({ admitted: true });
    if (other.admitted) await other.leave({ unreachable: false });
    expect(await w.admit('G', 'http://slow.test/', 'q:6')).toMatchObject({ admitted: true });
    w.tick(1_000);
    // Half-open: one probe at a time.
    const probe = await w.admit('H', 'http://slow.test/', 'q:7');
    expect(probe).toMatchObject({ admitted: true });
    expect(await w.admit('H', 'http://slow.test/', 'q:8')).toMatchObject({ admitted: false, reason: 'TENANT_DESTINATION' });
    if (probe.admitted) await probe.leave({ unreachable: true });
    expect(await w.admit('H', 'http://slow.test/', 'q:8')).toMatchObject({ admitted: false, reason: 'BACKOFF' });
    w.tick(2_000); // the window doubled
    expect(await call('q:8', false)).toMatchObject({ admitted: true });
    expect(w.store.circuit('kp:outbound:{webhook}:c:H:slow.test:80')).toEqual({ failures: 0, openUntil: 0 });
  });

  it('lets calls through unmetered when the store fails, and never meters an unparsable URL', async () => {
    const broken: SlotStore = {
      acquire: () => Promise.reject(new Error('down')),
      wait: () => Promise.reject(new Error('down')),
      release: () => Promise.reject(new Error('down')),
      report: () => Promise.reject(new Error('down')),
      leave: () => Promise.reject(new Error('down')),
      close: async () => undefined,
    };
    const warn = jest.fn();
    const gate = new OutboundGate(broken, SETTINGS, 'kp', { warn });
    const a = await gate.admit({ pool: 'provider', tenantId: 'H', url: 'http://a.test/', holder: 'q:1', callTimeoutMs: 1_000, deferrals: 0 });
    expect(a.admitted).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    const b = await gate.admit({ pool: 'provider', tenantId: 'H', url: '::', holder: 'q:2', callTimeoutMs: 1_000, deferrals: 0 });
    expect(b.admitted).toBe(true);
  });
});

describe('isolation settings', () => {
  const env = { NODE_ENV: 'test', DATABASE_URL: 'postgres://x@127.0.0.1/x', KEYPLANE_LOCAL_SECRETS_FILE: '/nonexistent/x.json' };
  const quiet = () => undefined;

  it('has defaults, and reads the variables', () => {
    const base = {
      ...env,
      KEYPLANE_ADMIN_TOKEN: 'a'.repeat(32),
      KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
      KEYPLANE_FINGERPRINT_KEY: 'f'.repeat(32),
    };
    expect(loadConfig(base, quiet).outboundIsolation).toEqual({
      maxPerTenant: 4,
      maxPerDestination: 4,
      // WORKER_CONCURRENCY 10: half of it per tenant, three quarters per provider host.
      providerMaxPerTenant: 5,
      providerMaxPerDestination: 8,
      backoffAfter: 3,
      backoffBaseMs: 10_000,
      backoffMaxMs: 300_000,
      deferMs: 5000,
    });
    expect(loadConfig({ ...base, OUTBOUND_MAX_PER_TENANT: '8', OUTBOUND_DEFER_MS: '50' }, quiet).outboundIsolation).toMatchObject({
      maxPerTenant: 8,
      deferMs: 50,
    });
    expect(() => loadConfig({ ...base, OUTBOUND_MAX_PER_TENANT: '0' }, quiet)).toThrow(/OUTBOUND_MAX_PER_TENANT/);
    expect(loadConfig({ ...base, WORKER_CONCURRENCY: '50' }, quiet).outboundIsolation).toMatchObject({
      providerMaxPerTenant: 25,
      providerMaxPerDestination: 38,
    });
    expect(
      loadConfig({ ...base, WORKER_CONCURRENCY: '50', OUTBOUND_PROVIDER_MAX_PER_TENANT: '7', OUTBOUND_PROVIDER_MAX_PER_DESTINATION: '9' }, quiet)
        .outboundIsolation,
    ).toMatchObject({ maxPerTenant: 4, providerMaxPerTenant: 7, providerMaxPerDestination: 9 });
    expect(() => loadConfig({ ...base, OUTBOUND_PROVIDER_MAX_PER_TENANT: '0' }, quiet)).toThrow(/OUTBOUND_PROVIDER_MAX_PER_TENANT/);
    expect(() => loadConfig({ ...base, OUTBOUND_BACKOFF_BASE_MS: '5000', OUTBOUND_BACKOFF_MAX_MS: '1000' }, quiet)).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, OUTBOUND_BACKOFF_BASE_MS: '5000', OUTBOUND_BACKOFF_MAX_MS: '1000' }, quiet)).toThrow(
      /OUTBOUND_BACKOFF_MAX_MS/,
    );
  });
});
