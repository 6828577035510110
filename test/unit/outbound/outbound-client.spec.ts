import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:net';
import { AddressPolicy } from '../../../src/outbound/address-policy';
import { DestinationPolicy } from '../../../src/outbound/destination-policy';
import type { OutboundFailureEvent } from '../../../src/outbound/failures';
import { BlockedAddressError, guardedLookup, resolveChecked, type Resolver } from '../../../src/outbound/guarded-lookup';
import { OutboundClient } from '../../../src/outbound/outbound-client';
import { OutboundPolicy } from '../../../src/outbound/outbound-policy';
import { startWebhookSink, type WebhookSink } from '../../fakes/webhook-sink';

let sink: WebhookSink;
beforeAll(async () => {
  sink = await startWebhookSink();
});
afterAll(() => sink.close());
afterEach(() => sink.reset());

const policy = (options: { destinations?: string[]; allow?: string[]; loopback?: boolean } = {}) =>
  new OutboundPolicy(
    DestinationPolicy.create(options.destinations ?? ['http://*:*']),
    AddressPolicy.create({ allow: options.allow ?? [], allowLoopback: options.loopback ?? false }),
  );
const strict = AddressPolicy.fromAllowList([]);
const fixed =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const TIMEOUT = 300;
const post = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: TIMEOUT };

/** A client and the failure events it reports to operators. */
function watched(p: OutboundPolicy, resolve?: Resolver) {
  const client = new OutboundClient(p, resolve);
  const events: OutboundFailureEvent[] = [];
  client.onFailure((e) => events.push(e));
  return { client, events };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('resolveChecked', () => {
  it('refuses a name if ANY of its addresses is refused', async () => {
    await expect(resolveChecked(strict, 'mixed.test', fixed('93.184.216.34', '10.0.0.1'))).rejects.toMatchObject({
      name: 'BlockedAddressError',
      reason: 'PRIVATE',
      code: 'ERR_OUTBOUND_BLOCKED',
    });
    await expect(resolveChecked(strict, 'public.test', fixed('93.184.216.34', '2606:4700::1'))).resolves.toHaveLength(2);
  });

  it('judges IP literals without DNS; a host named in OUTBOUND_ALLOW may resolve privately, never to metadata', async () => {
    const never: Resolver = async () => {
      throw new Error('resolver must not be called');
    };
    await expect(resolveChecked(strict, '169.254.169.254', never)).rejects.toBeInstanceOf(BlockedAddressError);
    const named = AddressPolicy.fromAllowList(['hooks.internal']);
    await expect(resolveChecked(named, 'hooks.internal', fixed('10.0.0.7'))).resolves.toEqual([{ address: '10.0.0.7', family: 4 }]);
    await expect(resolveChecked(named, 'other.internal', fixed('10.0.0.7'))).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(resolveChecked(named, 'hooks.internal', fixed('10.0.0.7', '169.254.169.254'))).rejects.toMatchObject({ reason: 'METADATA' });
  });
});

describe('guardedLookup (the net.connect hook)', () => {
  const call = (options: { all?: boolean; family?: number }) =>
    new Promise<unknown[]>((resolve) =>
      guardedLookup(AddressPolicy.create({ allow: [], allowLoopback: true }), fixed('127.0.0.1', '::1'))(
        'x.test',
        options as never,
        ((...args: unknown[]) => resolve(args)) as never,
      ),
    );

  it('answers in both callback shapes net.connect uses', async () => {
    expect(await call({ all: true })).toEqual([
      null,
      [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    ]);
    expect(await call({})).toEqual([null, '127.0.0.1', 4]);
    expect(await call({ family: 6 })).toEqual([null, '::1', 6]);
  });
});

describe('OutboundClient: refusals', () => {
  it('a name resolving to loopback is refused before any connection, reported as UNREACHABLE no sooner than the deadline', async () => {
    const { client, events } = watched(policy(), fixed('127.0.0.1'));
    const before = sink.connections();
    const res = await client.request(`http://sink.test:${sink.port}/hook`, { ...post, tag: { purpose: 'webhook', tenantId: 't1', refId: 'd1' } });
    expect(res).toEqual({ kind: 'failure', errorClass: 'UNREACHABLE', latencyMs: expect.any(Number) });
    expect(res.latencyMs).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(events).toEqual([
      { reason: 'policy_address', detail: 'LOOPBACK', tag: { purpose: 'webhook', tenantId: 't1', refId: 'd1' }, latencyMs: res.latencyMs },
    ]);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('the real system resolver: localhost is refused too', async () => {
    const { client, events } = watched(policy());
    const before = sink.connections();
    expect(await client.request(`http://localhost:${sink.port}/hook`, post)).toMatchObject({ kind: 'failure', errorClass: 'UNREACHABLE' });
    expect(events.map((e) => [e.reason, e.detail])).toEqual([['policy_address', 'LOOPBACK']]);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it.each([
    ['http://127.0.0.1:PORT/', 'LOOPBACK'],
    ['http://[::ffff:127.0.0.1]:PORT/', 'LOOPBACK'],
    ['http://0x7f000001:PORT/', 'LOOPBACK'],
    ['http://2130706433:PORT/', 'LOOPBACK'],
    ['http://0177.0.0.1:PORT/', 'LOOPBACK'],
    ['http://169.254.169.254/latest/meta-data/', 'METADATA'],
    ['http://2852039166/latest/meta-data/', 'METADATA'],
    ['http://0251.0376.0251.0376/', 'METADATA'],
    ['http://[::ffff:a9fe:a9fe]/', 'METADATA'],
    ['http://[64:ff9b::169.254.169.254]/', 'METADATA'],
    ['http://10.0.0.1/', 'PRIVATE'],
    ['http://[fe80::1]/', 'LINK_LOCAL'],
  ])('IP literal %s is refused without a socket (%s)', async (url, detail) => {
    const { client, events } = watched(policy(), async () => {
      throw new Error('no DNS for literals');
    });
    const before = sink.connections();
    const res = await client.request(url.replace('PORT', String(sink.port)), post);
    expect(res).toMatchObject({ kind: 'failure', errorClass: 'UNREACHABLE' });
    expect(events.map((e) => [e.reason, e.detail])).toEqual([['policy_address', detail]]);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('a scheme or port outside the allowed destinations is refused before DNS (policy_destination)', async () => {
    const { client, events } = watched(policy({ destinations: [], loopback: true }), async () => {
      throw new Error('destination refusals need no DNS');
    });
    const before = sink.connections();
    for (const url of [sink.url('/hook'), `https://sink.test:${sink.port}/hook`, 'http://sink.test/hook']) {
      expect(await client.request(url, post)).toMatchObject({ kind: 'failure', errorClass: 'UNREACHABLE' });
    }
    expect(events.map((e) => e.reason)).toEqual(['policy_destination', 'policy_destination', 'policy_destination']);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('DNS rebinding: the address is judged again at connect time, whatever an earlier check saw', async () => {
    let calls = 0;
    const rebinding: Resolver = async (): Promise<LookupAddress[]> => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    await expect(resolveChecked(strict, 'rebind.test', rebinding)).resolves.toHaveLength(1);
    const { client, events } = watched(policy(), rebinding);
    const before = sink.connections();
    expect(await client.request(`http://rebind.test:${sink.port}/hook`, post)).toMatchObject({ kind: 'failure', errorClass: 'UNREACHABLE' });
    expect(events.map((e) => [e.reason, e.detail])).toEqual([['policy_address', 'LOOPBACK']]);
    expect(calls).toBe(2);
    expect(sink.connections()).toBe(before);
    await client.close();
  });

  it('with OUTBOUND_ALLOW_LOOPBACK and a matching destination, the same request reaches the receiver', async () => {
    const { client, events } = watched(policy({ destinations: ['http://sink.test:*'], loopback: true }), fixed('127.0.0.1'));
    expect(await client.request(`http://sink.test:${sink.port}/hook`, post)).toMatchObject({ kind: 'response', status: 200 });
    expect(sink.to('/hook')).toHaveLength(1);
    expect(events).toEqual([]);
    await client.close();
  });
});

describe('OutboundClient: one outcome for every cause of "no answer"', () => {
  it('blocked name, unknown name, refused port, hanging receiver and TLS failure look the same; operators see the cause', async () => {
    const { client, events } = watched(policy({ destinations: ['http://*:*', 'https://*:*'], loopback: true }));
    const refused = await closedPort();
    sink.scriptFor('/hang', { hang: true });
    const blockedName = new OutboundClient(policy(), fixed('10.0.0.1'));
    const blockedEvents: OutboundFailureEvent[] = [];
    blockedName.onFailure((e) => blockedEvents.push(e));

    // The TLS handshake gets a longer deadline: on a loaded machine 300 ms can pass before the
    // plain-HTTP sink answers the ClientHello, and that failure would then be a timeout.
    const tls = { ...post, timeoutMs: 2_000 };
    const results: [Awaited<ReturnType<OutboundClient['request']>>, number][] = [
      [await blockedName.request('http://internal.test/hook', post), TIMEOUT],
      [await client.request('http://no-such-host.invalid/hook', post), TIMEOUT],
      [await client.request(`http://127.0.0.1:${refused}/hook`, post), TIMEOUT],
      [await client.request(sink.url('/hang'), post), TIMEOUT],
      [await client.request(`https://127.0.0.1:${sink.port}/tls`, tls), tls.timeoutMs],
    ];
    for (const [res, deadline] of results) {
      expect(res).toEqual({ kind: 'failure', errorClass: 'UNREACHABLE', latencyMs: expect.any(Number) });
      expect(res.kind === 'failure' && res.latencyMs).toBeGreaterThanOrEqual(deadline - 20);
    }
    expect([...blockedEvents, ...events].map((e) => e.reason)).toEqual(['policy_address', 'dns', 'refused', 'timeout', 'tls']);
    expect(events[0].detail).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(events[1].detail).toBe('ECONNREFUSED');
    await blockedName.close();
    await client.close();
  });

  it('shutdown while a failure waits out its deadline rethrows the abort and reports nothing', async () => {
    const { client, events } = watched(policy());
    const outer = new AbortController();
    const pending = client.request('http://10.0.0.1/hook', { ...post, timeoutMs: 5000, signal: outer.signal });
    setTimeout(() => outer.abort(new Error('shutting down')), 50);
    await expect(pending).rejects.toThrow('shutting down');
    expect(events).toEqual([]);
    await client.close();
  });

  it('never follows redirects; malformed URLs are INVALID_URL at once (they say nothing about the network)', async () => {
    const { client } = watched(policy({ loopback: true }));
    sink.script({ status: 302, headers: { location: sink.url('/elsewhere') } });
    expect(await client.request(sink.url('/hook'), post)).toMatchObject({ kind: 'response', status: 302 });
    expect(sink.to('/elsewhere')).toHaveLength(0);
    for (const bad of ['ftp://example.com/', 'not a url', 'http://user:pw@example.com/', 'file:///etc/passwd']) {
      const res = await client.request(bad, { ...post, timeoutMs: 5000 });
      expect(res).toMatchObject({ kind: 'failure', errorClass: 'INVALID_URL' });
      expect(res.latencyMs).toBeLessThan(1000);
    }
    await client.close();
  });
});
