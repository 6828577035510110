import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/db/data-source';
import { createSlotStore, type SlotStore } from '../../../src/outbound/isolation/slot-store';
import { slotKeys, type SlotLimits } from '../../../src/outbound/isolation/slots';
import { onPostgresQueues, testQueueConfig } from '../../helpers/queue-backend';
import { TEST_DATABASE_URL } from '../../helpers/test-env';

/**
 * The shared slot store of the backend under test (Redis script, or PostgreSQL functions) runs the
 * steps of the reference (slots.ts `decide`, `afterOutcome`): limits, leases that lapse when their
 * holder crashed, the circuit, and atomic takes under contention.
 */
const LIMITS: SlotLimits = { tenant: 2, destination: 4, tenantDestination: 2 };
const BACKOFF = { backoffAfter: 3, backoffBaseMs: 400, backoffMaxMs: 5_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 60_000;

let db: DataSource;
let store: SlotStore;
let prefix: string;

beforeAll(async () => {
  db = createDataSource(TEST_DATABASE_URL, 4);
  await db.initialize();
  prefix = `kp-slots-${randomUUID().slice(0, 8)}`;
  store = createSlotStore(testQueueConfig(prefix), db);
});
afterAll(async () => {
  await store.close();
  if (onPostgresQueues) {
    await db.query('DELETE FROM outbound_slots WHERE starts_with(key, $1)', [`${prefix}:`]);
    await db.query('DELETE FROM outbound_waiters WHERE starts_with(key, $1)', [`${prefix}:`]);
  }
  await db.destroy();
});

const keysFor = (tenant: string, dest = 'hooks.test:443') => slotKeys(prefix, 'webhook', tenant, dest);
const take = (tenant: string, holder: string, opts: { dest?: string; leaseMs?: number; limits?: SlotLimits } = {}) =>
  store.acquire({
    keys: keysFor(tenant, opts.dest),
    holder,
    limits: opts.limits ?? LIMITS,
    leaseMs: opts.leaseMs ?? 10_000,
    backoffAfter: BACKOFF.backoffAfter,
  });
const report = (tenant: string, unreachable: boolean, dest?: string) =>
  store.report({ circuit: keysFor(tenant, dest).circuit, unreachable, ...BACKOFF });

it("holds a tenant to its limit, and frees a crashed holder's slots when its lease lapses", async () => {
  const t = `t-${randomUUID()}`;
  expect(await take(t, 'q:1', { leaseMs: 600, dest: 'a.test:80' })).toEqual({ granted: true });
  expect(await take(t, 'q:2', { leaseMs: 600, dest: 'b.test:80' })).toEqual({ granted: true });
  // Nobody releases q:1 and q:2 (their worker "crashed").
  const refused = await take(t, 'q:3', { dest: 'c.test:80' });
  expect(refused).toMatchObject({ granted: false, reason: 'TENANT' });
  expect(refused.granted === false && refused.retryInMs).toBeLessThanOrEqual(600);
  // Another tenant is not held up.
  expect(await take(`t-${randomUUID()}`, 'q:4', { dest: 'c.test:80' })).toEqual({ granted: true });
  await sleep(700);
  expect(await take(t, 'q:3', { dest: 'c.test:80' })).toEqual({ granted: true });
});

it('gives a slot back on release, and lets a restarted holder keep its own', async () => {
  const t = `t-${randomUUID()}`;
  expect(await take(t, 'q:1')).toEqual({ granted: true });
  expect(await take(t, 'q:1')).toEqual({ granted: true }); // the same job again: no second slot
  expect(await take(t, 'q:2')).toEqual({ granted: true });
  expect(await take(t, 'q:3')).toMatchObject({ granted: false, reason: 'TENANT' });
  await store.release(keysFor(t), 'q:1', WAIT_MS);
  expect(await take(t, 'q:3')).toEqual({ granted: true });
});

it('limits one destination across tenants, one tenant to its share', async () => {
  const dest = `${randomUUID()}.test:443`;
  const [a, b, c] = [1, 2, 3].map(() => `t-${randomUUID()}`);
  const wide = { ...LIMITS, tenant: 10 };
  expect(await take(a, 'q:1', { dest, limits: wide })).toEqual({ granted: true });
  expect(await take(a, 'q:2', { dest, limits: wide })).toEqual({ granted: true });
  expect(await take(a, 'q:3', { dest, limits: wide })).toMatchObject({ granted: false, reason: 'TENANT_DESTINATION' });
  expect(await take(b, 'q:4', { dest, limits: wide })).toEqual({ granted: true });
  expect(await take(b, 'q:5', { dest, limits: wide })).toEqual({ granted: true });
  expect(await take(c, 'q:6', { dest, limits: wide })).toMatchObject({ granted: false, reason: 'DESTINATION' });
});

it('backs off a destination after N unanswered calls, probes it with one call, and recovers on an answer', async () => {
  const t = `t-${randomUUID()}`;
  for (let i = 0; i < 3; i++) await report(t, true);
  const refused = await take(t, 'q:1');
  expect(refused).toMatchObject({ granted: false, reason: 'BACKOFF' });
  expect(refused.granted === false && refused.retryInMs).toBeGreaterThan(200);
  // Calls already in flight when it opened do not lengthen the window.
  await report(t, true);
  await sleep(450);
  expect(await take(t, 'q:1')).toEqual({ granted: true }); // the probe
  expect(await take(t, 'q:2')).toMatchObject({ granted: false, reason: 'TENANT_DESTINATION' });
  await report(t, true); // the probe got no answer: twice as long
  await store.release(keysFor(t), 'q:1', WAIT_MS);
  const again = await take(t, 'q:2');
  expect(again).toMatchObject({ granted: false, reason: 'BACKOFF' });
  expect(again.granted === false && again.retryInMs).toBeGreaterThan(500);
  await sleep(850);
  expect(await take(t, 'q:2')).toEqual({ granted: true });
  await report(t, false);
  await store.release(keysFor(t), 'q:2', WAIT_MS);
  // Closed: the tenant's full share again.
  expect(await take(t, 'q:3')).toEqual({ granted: true });
  expect(await take(t, 'q:4')).toEqual({ granted: true });
});

it('grants exactly the limit to concurrent takes', async () => {
  const t = `t-${randomUUID()}`;
  const limits = { tenant: 4, destination: 100, tenantDestination: 100 };
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => take(t, `q:${i}`, { limits })));
  expect(replies.filter((r) => r.granted)).toHaveLength(4);
});

describe('waiters: a released slot wakes the oldest job put back for it', () => {
  const wait = (key: string, holder: string, limit = LIMITS.tenant, maxWaitMs = WAIT_MS) => store.wait({ key, limit, holder, maxWaitMs });

  it("hands back the oldest waiter of each semaphore a release frees, and only the releasing tenant's", async () => {
    const [t, u] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
    const [dt, du] = [`${randomUUID()}.test:443`, `${randomUUID()}.test:443`];
    const k = keysFor(t, dt);
    expect(await take(t, 'w:1', { dest: dt })).toEqual({ granted: true });
    expect(await take(t, 'w:2', { dest: dt })).toEqual({ granted: true });
    expect(await take(u, 'w:u1', { dest: du })).toEqual({ granted: true });
    expect(await take(u, 'w:u2', { dest: du })).toEqual({ granted: true });
    expect(await take(u, 'w:u3', { dest: du })).toMatchObject({ granted: false, reason: 'TENANT' });
    expect(await wait(keysFor(u, du).tenant, 'w:u3')).toEqual([]);
    expect(await take(t, 'w:3', { dest: dt })).toMatchObject({ granted: false, reason: 'TENANT' });
    expect(await wait(k.tenant, 'w:3')).toEqual([]);
    await sleep(5);
    expect(await wait(k.tenant, 'w:4')).toEqual([]);
    expect(await wait(k.tenant, 'w:3')).toEqual([]); // again: keeps its first place
    // t's release frees t's slots: t's oldest waiter, never u's.
    expect(await store.release(k, 'w:1', WAIT_MS)).toEqual(['w:3']);
    // Releasing what it does not hold wakes nobody.
    expect(await store.release(k, 'w:1', WAIT_MS)).toEqual([]);
    // The woken job takes the slot and leaves every waiter set; the next release wakes the next.
    expect(await take(t, 'w:3', { dest: dt })).toEqual({ granted: true });
    expect(await store.release(k, 'w:2', WAIT_MS)).toEqual(['w:4']);
    expect(await store.release(keysFor(u, du), 'w:u1', WAIT_MS)).toEqual(['w:u3']);
  });

  it('wakes a waiter at once when its semaphore freed before it waited, and drops waiters past the longest put-back', async () => {
    const t = `t-${randomUUID()}`;
    const dest = `${randomUUID()}.test:443`;
    const k = keysFor(t, dest);
    await take(t, 'x:1', { dest });
    await take(t, 'x:2', { dest });
    expect(await take(t, 'x:3', { dest })).toMatchObject({ granted: false, reason: 'TENANT' });
    await store.release(k, 'x:1', WAIT_MS); // nobody waits yet
    expect(await wait(k.tenant, 'x:3')).toEqual(['x:3']);
    expect(await take(t, 'x:3', { dest })).toEqual({ granted: true });
    expect(await wait(k.tenant, 'x:4', LIMITS.tenant, 300)).toEqual([]);
    await sleep(400);
    expect(await wait(k.tenant, 'x:5', LIMITS.tenant, 300)).toEqual([]);
    expect(await store.release(k, 'x:2', 300)).toEqual(['x:5']);
  });

  it("wakes a waiter of a shared destination with any tenant's release there", async () => {
    const dest = `${randomUUID()}.test:443`;
    const [a, b, c] = [1, 2, 3].map(() => `t-${randomUUID()}`);
    const wide = { ...LIMITS, tenant: 10 };
    expect(await take(a, 'q:a', { dest, limits: wide })).toEqual({ granted: true });
    expect(await take(a, 'q:a2', { dest, limits: wide })).toEqual({ granted: true });
    expect(await take(b, 'q:b', { dest, limits: wide })).toEqual({ granted: true });
    expect(await take(b, 'q:b2', { dest, limits: wide })).toEqual({ granted: true });
    expect(await take(c, 'q:c', { dest, limits: wide })).toMatchObject({ granted: false, reason: 'DESTINATION' });
    expect(await wait(keysFor(c, dest).destination, 'q:c', wide.destination)).toEqual([]);
    expect(await store.release(keysFor(b, dest), 'q:b', WAIT_MS)).toEqual(['q:c']);
  });

  it('ends a call in one step: the report, then the release and its wake-ups', async () => {
    const t = `t-${randomUUID()}`;
    const dest = `${randomUUID()}.test:443`;
    const k = keysFor(t, dest);
    const leave = (holder: string, unreachable: boolean) => store.leave(k, holder, WAIT_MS, { circuit: k.circuit, unreachable, ...BACKOFF });
    for (const h of ['l:1', 'l:2']) expect(await take(t, h, { dest })).toEqual({ granted: true });
    expect(await take(t, 'l:3', { dest })).toMatchObject({ granted: false, reason: 'TENANT' });
    await wait(k.tenant, 'l:3');
    expect(await leave('l:1', true)).toEqual({ opened: false, woken: ['l:3'] });
    await report(t, true, dest);
    expect(await leave('l:2', true)).toEqual({ opened: true, woken: [] });
    expect(await take(t, 'l:3', { dest })).toMatchObject({ granted: false, reason: 'BACKOFF' });
  });

  it('says when a report opened a backoff window', async () => {
    const t = `t-${randomUUID()}`;
    expect(await report(t, true)).toBe(false);
    expect(await report(t, true)).toBe(false);
    expect(await report(t, true)).toBe(true);
    expect(await report(t, true)).toBe(false); // in flight while open: no new window
    expect(await report(t, false)).toBe(false);
  });
});
