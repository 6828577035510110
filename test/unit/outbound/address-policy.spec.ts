import { AddressPolicy } from '../../../src/outbound/address-policy';
import { embeddedIPv4, parseIp } from '../../../src/outbound/ip';

const strict = AddressPolicy.fromAllowList([]);

describe('AddressPolicy without an allow list', () => {
  it.each([
    ['0.0.0.0', 'UNSPECIFIED'],
    ['0.1.2.3', 'UNSPECIFIED'],
    ['127.0.0.1', 'LOOPBACK'],
    ['127.255.255.254', 'LOOPBACK'],
    ['10.0.0.1', 'PRIVATE'],
    ['172.16.0.1', 'PRIVATE'],
    ['172.31.255.255', 'PRIVATE'],
    ['192.168.1.1', 'PRIVATE'],
    ['169.254.169.254', 'METADATA'],
    ['100.100.100.200', 'METADATA'],
    ['169.254.1.1', 'LINK_LOCAL'],
    ['100.64.0.1', 'SHARED'],
    ['100.127.255.255', 'SHARED'],
    ['255.255.255.255', 'BROADCAST'],
    ['224.0.0.1', 'MULTICAST'],
    ['240.0.0.1', 'RESERVED'],
    ['192.0.2.10', 'RESERVED'],
    ['198.18.0.1', 'RESERVED'],
  ])('refuses IPv4 %s (%s)', (address, reason) => {
    expect(strict.check(address)).toBe(reason);
  });

  it.each([
    ['::1', 'LOOPBACK'],
    ['::', 'UNSPECIFIED'],
    ['fc00::1', 'PRIVATE'],
    ['fd12:3456::1', 'PRIVATE'],
    ['fd00:ec2::254', 'METADATA'],
    ['fe80::1', 'LINK_LOCAL'],
    ['fe80::1%eth0', 'LINK_LOCAL'],
    ['febf::1', 'LINK_LOCAL'],
    ['ff02::1', 'MULTICAST'],
    ['2001:db8::1', 'RESERVED'],
    ['64:ff9b:1::1', 'RESERVED'],
  ])('refuses IPv6 %s (%s)', (address, reason) => {
    expect(strict.check(address)).toBe(reason);
  });

  it.each([
    ['::ffff:127.0.0.1', 'LOOPBACK'],
    ['::ffff:7f00:1', 'LOOPBACK'],
    ['[::ffff:7f00:1]', 'LOOPBACK'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'METADATA'],
    ['::ffff:10.1.2.3', 'PRIVATE'],
    ['::ffff:0:10.1.2.3', 'PRIVATE'], // SIIT
    ['::127.0.0.1', 'LOOPBACK'], // IPv4-compatible (deprecated)
    ['64:ff9b::a9fe:a9fe', 'METADATA'], // NAT64 of 169.254.169.254
    ['64:ff9b::10.0.0.1', 'PRIVATE'],
    ['64:ff9b::7f00:1', 'LOOPBACK'],
    ['2002:7f00:1::', 'LOOPBACK'], // 6to4 of 127.0.0.1
    ['2002:c0a8:101::1', 'PRIVATE'],
  ])('refuses IPv4 carried in IPv6: %s (%s)', (address, reason) => {
    expect(strict.check(address)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows public %s', (address) => {
    expect(strict.check(address)).toBeNull();
  });

  it('refuses anything that is not an IP address', () => {
    expect(strict.check('localhost')).toBe('NOT_AN_IP');
    expect(strict.check('')).toBe('NOT_AN_IP');
    expect(strict.check('1.2.3')).toBe('NOT_AN_IP');
  });
});

describe('AddressPolicy allow list (OUTBOUND_ALLOW)', () => {
  const policy = AddressPolicy.fromAllowList(['127.0.0.0/8', '::1/128', '10.1.0.0/16', '192.168.5.5', 'Gateway.Internal.', 'fd00::/8']);

  it('allows listed ranges and single addresses, and nothing next to them', () => {
    expect(policy.check('10.1.200.3')).toBeNull();
    expect(policy.check('10.2.0.1')).toBe('PRIVATE');
    expect(policy.check('192.168.5.5')).toBeNull();
    expect(policy.check('192.168.5.6')).toBe('PRIVATE');
    expect(policy.check('fd00::1')).toBeNull();
    expect(policy.check('fc00::1')).toBe('PRIVATE');
  });

  it('does not open loopback or metadata although its ranges cover them', () => {
    expect(policy.check('127.0.0.1')).toBe('LOOPBACK');
    expect(policy.check('::1')).toBe('LOOPBACK');
    expect(policy.check('::ffff:127.0.0.1')).toBe('LOOPBACK');
    expect(policy.check('fd00:ec2::254')).toBe('METADATA');
  });

  it('an allowed IPv4 range also covers its IPv4-mapped IPv6 form, not its NAT64 / 6to4 forms', () => {
    expect(policy.check('::ffff:10.1.2.3')).toBeNull();
    expect(policy.check('64:ff9b::a01:203')).toBe('PRIVATE');
    expect(policy.check('2002:a01:203::')).toBe('PRIVATE');
  });

  it('hostnames match exactly, case-insensitively, ignoring a trailing dot', () => {
    expect(policy.allowsHost('gateway.internal')).toBe(true);
    expect(policy.allowsHost('GATEWAY.internal.')).toBe(true);
    expect(policy.allowsHost('evil.gateway.internal')).toBe(false);
    expect(policy.allowsHost('localhost')).toBe(false);
  });

  it('a host named in the list may resolve to private addresses, never to metadata, link-local or loopback', () => {
    expect(policy.check('10.9.9.9', true)).toBeNull();
    expect(policy.check('169.254.169.254', true)).toBe('METADATA');
    expect(policy.check('fe80::1', true)).toBe('LINK_LOCAL');
    expect(policy.check('127.0.0.1', true)).toBe('LOOPBACK');
  });

  it('a bad entry fails fast, naming its position but not its text', () => {
    expect(() => AddressPolicy.fromAllowList(['10.0.0.0/8', '10.0.0.0/33'])).toThrow('OUTBOUND_ALLOW entry 2 is not');
    expect(() => AddressPolicy.fromAllowList(['not a host!'])).toThrow(/entry 1/);
    expect(() => AddressPolicy.fromAllowList(['not a host!'])).not.toThrow(/not a host!/);
    expect(() => AddressPolicy.fromAllowList(['zz::/64'])).toThrow(/entry 1/);
  });
});

describe('deny before allow: what OUTBOUND_ALLOW can never open', () => {
  // Everything, as an operator might write in a hurry, and the link-local ranges by name.
  const everything = AddressPolicy.fromAllowList(['0.0.0.0/0', '::/0', '169.254.0.0/16', 'fe80::/10', '100.64.0.0/10', 'fd00::/8']);

  it.each([
    ['169.254.169.254', 'METADATA'],
    ['100.100.100.200', 'METADATA'],
    ['fd00:ec2::254', 'METADATA'],
    ['169.254.0.1', 'LINK_LOCAL'],
    ['169.254.255.255', 'LINK_LOCAL'],
    ['fe80::1', 'LINK_LOCAL'],
    ['febf:ffff::1', 'LINK_LOCAL'],
    ['::ffff:169.254.169.254', 'METADATA'],
    ['::ffff:a9fe:a9fe', 'METADATA'],
    ['::169.254.169.254', 'METADATA'], // IPv4-compatible
    ['::ffff:0:169.254.169.254', 'METADATA'], // SIIT
    ['64:ff9b::169.254.169.254', 'METADATA'], // NAT64
    ['2002:a9fe:a9fe::1', 'METADATA'], // 6to4
    ['::ffff:169.254.1.1', 'LINK_LOCAL'],
    ['0.0.0.0', 'UNSPECIFIED'],
    ['::', 'UNSPECIFIED'],
    ['127.0.0.1', 'LOOPBACK'],
    ['::1', 'LOOPBACK'],
    ['::ffff:127.0.0.1', 'LOOPBACK'],
    ['224.0.0.1', 'MULTICAST'],
  ])('%s stays refused (%s)', (address, reason) => {
    expect(everything.check(address)).toBe(reason);
  });

  it('while the private ranges it names are open', () => {
    expect(everything.check('10.0.0.1')).toBeNull();
    expect(everything.check('100.64.0.1')).toBeNull();
    expect(everything.check('::ffff:192.168.1.1')).toBeNull();
  });
});

describe('OUTBOUND_ALLOW_LOOPBACK', () => {
  const loopback = AddressPolicy.create({ allow: [], allowLoopback: true });

  it("opens this host's loopback in every direct and mapped form, and nothing else", () => {
    for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1']) {
      expect([address, loopback.check(address)]).toEqual([address, null]);
    }
    expect(loopback.check('10.0.0.1')).toBe('PRIVATE');
    expect(loopback.check('169.254.169.254')).toBe('METADATA');
    expect(loopback.check('0.0.0.0')).toBe('UNSPECIFIED');
  });

  it("not a translator's loopback (NAT64, 6to4)", () => {
    expect(loopback.check('64:ff9b::7f00:1')).toBe('LOOPBACK');
    expect(loopback.check('2002:7f00:1::')).toBe('LOOPBACK');
  });
});

describe('IP parsing', () => {
  it('reads every IPv6 spelling to the same bytes', () => {
    const a = parseIp('::ffff:127.0.0.1')!.bytes;
    expect(parseIp('::ffff:7f00:1')!.bytes).toEqual(a);
    expect(parseIp('0:0:0:0:0:FFFF:7F00:0001')!.bytes).toEqual(a);
    expect(parseIp('[::ffff:7f00:1]')!.bytes).toEqual(a);
  });

  it('finds the embedded IPv4 and says how it is carried', () => {
    expect(embeddedIPv4(parseIp('::ffff:7f00:1')!)).toEqual({ address: '127.0.0.1', kind: 'mapped' });
    expect(embeddedIPv4(parseIp('64:ff9b::a9fe:a9fe')!)).toEqual({ address: '169.254.169.254', kind: 'translated' });
    expect(embeddedIPv4(parseIp('2002:a00:1::')!)).toEqual({ address: '10.0.0.1', kind: 'translated' });
    expect(embeddedIPv4(parseIp('2606:4700::1')!)).toBeNull();
    expect(embeddedIPv4(parseIp('10.0.0.1')!)).toBeNull();
  });
});
