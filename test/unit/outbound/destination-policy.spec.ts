import { AddressPolicy } from '../../../src/outbound/address-policy';
import { DestinationPolicy } from '../../../src/outbound/destination-policy';
import { OutboundPolicy } from '../../../src/outbound/outbound-policy';

const allows = (policy: DestinationPolicy, url: string) => policy.allows(new URL(url));

describe('DestinationPolicy: the production default (no entries)', () => {
  const production = DestinationPolicy.create([]);

  it.each(['https://hooks.example.com/x', 'https://hooks.example.com:443/x', 'https://93.184.216.34/', 'https://[2606:4700::1]/'])(
    'allows %s',
    (url) => expect(allows(production, url)).toBe(true),
  );

  it.each(['http://hooks.example.com/x', 'http://hooks.example.com:443/x', 'https://hooks.example.com:8443/x', 'https://hooks.example.com:80/x'])(
    'refuses %s (plain http or a port other than 443)',
    (url) => expect(allows(production, url)).toBe(false),
  );
});

describe('DestinationPolicy: OUTBOUND_ALLOW_DESTINATIONS entries', () => {
  const policy = DestinationPolicy.create([
    'http://fake.internal:8080',
    'https://*.corp.example:8443',
    'http://127.0.0.1:*',
    'http://[::1]:9000',
    'HTTP://Gateway.Internal.',
  ]);

  it('exact host and port, scheme included', () => {
    expect(allows(policy, 'http://fake.internal:8080/hook')).toBe(true);
    expect(allows(policy, 'http://FAKE.internal.:8080/hook')).toBe(true);
    expect(allows(policy, 'http://fake.internal:8081/hook')).toBe(false);
    expect(allows(policy, 'https://fake.internal:8080/hook')).toBe(false);
    expect(allows(policy, 'http://other.internal:8080/hook')).toBe(false);
  });

  it('a port left out means the scheme default', () => {
    expect(allows(policy, 'http://gateway.internal/x')).toBe(true);
    expect(allows(policy, 'http://gateway.internal:80/x')).toBe(true);
    expect(allows(policy, 'http://gateway.internal:8080/x')).toBe(false);
  });

  it('*.suffix: any name below it, not the suffix itself, not a look-alike, never an IP', () => {
    expect(allows(policy, 'https://a.corp.example:8443/')).toBe(true);
    expect(allows(policy, 'https://a.b.corp.example:8443/')).toBe(true);
    expect(allows(policy, 'https://corp.example:8443/')).toBe(false);
    expect(allows(policy, 'https://evilcorp.example:8443/')).toBe(false);
    expect(allows(policy, 'https://a.corp.example.evil.test:8443/')).toBe(false);
  });

  it('IP literals, any port with *, in every spelling the URL parser normalises', () => {
    expect(allows(policy, 'http://127.0.0.1:41234/')).toBe(true);
    expect(allows(policy, 'http://2130706433:41234/')).toBe(true);
    expect(allows(policy, 'http://127.0.0.2:41234/')).toBe(false);
    expect(allows(policy, 'http://[::1]:9000/')).toBe(true);
    expect(allows(policy, 'http://[0:0:0:0:0:0:0:1]:9000/')).toBe(true);
    expect(allows(policy, 'http://[::1]:9001/')).toBe(false);
  });

  it('a bad entry fails fast, naming the variable and its position but not its text', () => {
    for (const bad of [
      'ftp://x.example',
      'https://x.example/path',
      'https://user@x.example',
      'https://x.example:70000',
      'x.example',
      'https://*.1.2.3.4',
      'https://a*.example',
    ]) {
      expect(() => DestinationPolicy.create(['https://ok.example', bad])).toThrow(/^OUTBOUND_ALLOW_DESTINATIONS entry 2 is not/);
      expect(() => DestinationPolicy.create([bad])).not.toThrow(bad);
    }
  });
});

describe('OutboundPolicy.checkUrl (what is judged when a URL is saved: no DNS)', () => {
  const make = (destinations: string[], allow: string[] = [], allowLoopback = false) =>
    new OutboundPolicy(DestinationPolicy.create(destinations), AddressPolicy.create({ allow, allowLoopback }));
  const check = (policy: OutboundPolicy, url: string) => policy.checkUrl(new URL(url));

  it('destination first, then IP literals and localhost names', () => {
    const production = make([]);
    expect(check(production, 'http://hooks.example.com/')).toEqual({ rule: 'DESTINATION' });
    expect(check(production, 'https://hooks.example.com/')).toBeNull();
    expect(check(production, 'https://10.0.0.1/')).toEqual({ rule: 'ADDRESS', reason: 'PRIVATE' });
    expect(check(production, 'https://0xa9fea9fe/')).toEqual({ rule: 'ADDRESS', reason: 'METADATA' });
    expect(check(production, 'https://localhost/')).toEqual({ rule: 'ADDRESS', reason: 'LOOPBACK' });
    expect(check(production, 'https://api.localhost./')).toEqual({ rule: 'ADDRESS', reason: 'LOOPBACK' });
  });

  it('an allowed destination does not open a blocked address; the address rules still apply', () => {
    const policy = make(['http://169.254.169.254', 'http://10.0.0.1', 'http://127.0.0.1:*'], ['10.0.0.0/8', '169.254.0.0/16']);
    expect(check(policy, 'http://169.254.169.254/latest/meta-data/')).toEqual({ rule: 'ADDRESS', reason: 'METADATA' });
    expect(check(policy, 'http://10.0.0.1/')).toBeNull();
    expect(check(policy, 'http://127.0.0.1:8080/')).toEqual({ rule: 'ADDRESS', reason: 'LOOPBACK' });
    expect(check(make(['http://127.0.0.1:*', 'http://localhost:*'], [], true), 'http://127.0.0.1:8080/')).toBeNull();
    expect(check(make(['http://localhost:*'], [], true), 'http://localhost:8080/')).toBeNull();
  });

  it('a name is never resolved here, whatever it would resolve to', () => {
    expect(check(make([]), 'https://metadata.google.internal/')).toBeNull();
  });
});
