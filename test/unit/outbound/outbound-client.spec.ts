import type { LookupAddress } from 'node:dns';
import { AddressPolicy } from '../../../src/outbound/address-policy';
import { BlockedAddressError, guardedLookup, resolveChecked, type Resolver } from '../../../src/outbound/guarded-lookup';
import { OutboundClient } from '../../../src/outbound/outbound-client';
import { startWebhookSink, type WebhookSink } from '../../fakes/webhook-sink';

let sink: WebhookSink;
beforeAll(async () => {
  sink = await startWebhookSink();
});
afterAll(() => sink.close());
afterEach(() => sink.reset());

const strict = AddressPolicy.fromAllowList([]);
const loopbackAllowed = AddressPolicy.fromAllowList(['127.0.0.0/8', '::1/128']);
const fixed = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const post = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 1000 };

describe('resolveChecked', () => {
  it('refuses a name if ANY of its addresses is refused', async () => {
    await expect(resolveChecked(strict, 'mixed.test', fixed('93.184.216.34', '10.0.0.1'))).rejects.toMatchObject({
      name: 'BlockedAddressError',
      reason: 'PRIVATE',
      code: 'ERR_OUTBOUND_BLOCKED',
    });
    await expect(resolveChecked(strict, 'public.test', fixed('93.184.216.34', '2606:4700::1'))).resolves.toHaveLength(2);
  });

  it('judges IP literals without DNS, and trusts hosts named in the allow list', async () => {
    const never: Resolver = async () => {
      throw new Error('resolver must not be called');
    };
    await expect(resolveChecked(strict, '169.254.169.254', never)).rejects.toBeInstanceOf(BlockedAddressError);
    const named = AddressPolicy.fromAllowList(['hooks.internal']);
    await expect(resolveChecked(named, 'hooks.internal', fixed('10.0.0.7'))).resolves.toEqual([{ address: '10.0.0.7', family: 4 }]);
    await expect(resolveChecked(named, 'other.internal', fixed('10.0.0.7'))).rejects.toBeInstanceOf(BlockedAddressError);
  });
});

describe('guardedLookup (the net.connect hook)', () => {
  const call = (options: { all?: boolean; family?: number }) =>
    new Promise<unknown[]>((resolve) =>
      guardedLookup(loopbackAllowed, fixed('127.0.0.1', '::1'))('x.test', options as never, ((...args: unknown[]) => resolve(args)) as never),
    );

  it('answers in both callback shapes net.connect uses', async () => {
    expect(await call({ all: true })).toEqual([null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]]);
    expect(await call({})).toEqual([null, '127.0.0.1', 4]);
    expect(await call({ family: 6 })).toEqual([null, '::1', 6]);
  });
});

describe('OutboundClient', () => {
  it('a name resolving to loopback is refused before any connection when loopback is not allowed', async () => {
    const client = new OutboundClient(strict, fixed('127.0.0.1'));
    const before = sink.connections();
    const res = await client.request(`http://sink.test:${sink.port}/hook`, post);
    expect(res).toMatchObject({ kind: 'failure', errorClass: 'BLOCKED_ADDRESS', code: 'LOOPBACK' });
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('the real system resolver: localhost is refused too', async () => {
    const client = new OutboundClient(strict);
    const before = sink.connections();
    const res = await client.request(`http://localhost:${sink.port}/hook`, post);
    expect(res).toMatchObject({ kind: 'failure', errorClass: 'BLOCKED_ADDRESS' });
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it.each([
    ['http://127.0.0.1:PORT/', 'LOOPBACK'],
    ['http://[::ffff:127.0.0.1]:PORT/', 'LOOPBACK'],
    ['http://0x7f000001:PORT/', 'LOOPBACK'],
    ['http://2130706433:PORT/', 'LOOPBACK'],
    ['http://169.254.169.254/latest/meta-data/', 'METADATA'],
    ['http://10.0.0.1/', 'PRIVATE'],
    ['http://[fe80::1]/', 'LINK_LOCAL'],
  ])('IP literal %s is refused without a socket (%s)', async (url, code) => {
    const client = new OutboundClient(strict, async () => {
      throw new Error('no DNS for literals');
    });
    const before = sink.connections();
    const res = await client.request(url.replace('PORT', String(sink.port)), post);
    expect(res).toMatchObject({ kind: 'failure', errorClass: 'BLOCKED_ADDRESS', code });
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('DNS rebinding: the address is judged again at connect time, whatever an earlier check saw', async () => {
    let calls = 0;
    const rebinding: Resolver = async (): Promise<LookupAddress[]> => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    // Someone checks first (and the public answer passes) ...
    await expect(resolveChecked(strict, 'rebind.test', rebinding)).resolves.toHaveLength(1);
    // ... then the connection resolves again and gets loopback: refused, no connection.
    const client = new OutboundClient(strict, rebinding);
    const before = sink.connections();
    const res = await client.request(`http://rebind.test:${sink.port}/hook`, post);
    expect(res).toMatchObject({ kind: 'failure', errorClass: 'BLOCKED_ADDRESS' });
    expect(calls).toBe(2);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('allowed by OUTBOUND_ALLOW, the same request reaches the receiver', async () => {
    const client = new OutboundClient(loopbackAllowed, fixed('127.0.0.1'));
    const res = await client.request(`http://sink.test:${sink.port}/hook`, post);
    expect(res).toMatchObject({ kind: 'response', status: 200 });
    expect(sink.to('/hook')).toHaveLength(1);
    await client.close();
  });

  it('never follows redirects, and classifies timeouts and bad URLs', async () => {
    const client = new OutboundClient(loopbackAllowed);
    sink.script({ status: 302, headers: { location: sink.url('/elsewhere') } }, { hang: true });
    expect(await client.request(sink.url('/hook'), post)).toMatchObject({ kind: 'response', status: 302 });
    expect(sink.to('/elsewhere')).toHaveLength(0);
    const timedOut = await client.request(sink.url('/hook'), { ...post, timeoutMs: 200 });
    expect(timedOut).toMatchObject({ kind: 'failure', errorClass: 'TIMEOUT' });
    expect(timedOut.latencyMs).toBeGreaterThanOrEqual(150);
    for (const bad of ['ftp://example.com/', 'not a url', 'http://user:pw@example.com/', 'file:///etc/passwd']) {
      expect(await client.request(bad, post)).toMatchObject({ kind: 'failure', errorClass: 'INVALID_URL' });
    }
    await client.close();
  });
});
