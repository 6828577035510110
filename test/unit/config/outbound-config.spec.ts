import pino from 'pino';
import { ConfigError, loadConfig } from '../../../src/config';
import { logOutboundPolicy } from '../../../src/outbound';

const SECRETS = {
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'fingerprint-pepper-value-long-enough-0001',
  KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}`,
  DATABASE_URL: 'postgres://keyplane:pw@db.example:5432/keyplane',
};
const load = (env: Record<string, string>) => loadConfig({ ...SECRETS, ...env }, () => undefined);

/** Names resolve through c-ares with a 2 s bound, on the system's DNS servers. */
const DNS_DEFAULTS = { dnsTimeoutMs: 2_000, dnsServers: [] };

describe('outbound settings', () => {
  it('DNS: a timeout and optional servers (IP, IP:port, [v6]:port); a bad one names the variable only', () => {
    const dns = load({
      NODE_ENV: 'production',
      OUTBOUND_DNS_TIMEOUT_MS: '500',
      OUTBOUND_DNS_SERVERS: '10.0.0.2, 10.0.0.3:5353,[fd00::53]:53,::1',
    }).outbound;
    expect([dns.dnsTimeoutMs, dns.dnsServers]).toEqual([500, ['10.0.0.2', '10.0.0.3:5353', '[fd00::53]:53', '::1']]);
    for (const bad of ['dns.example', '10.0.0.2:x', '[10.0.0.2]:53']) {
      expect(() => load({ NODE_ENV: 'production', OUTBOUND_DNS_SERVERS: bad })).toThrow(/OUTBOUND_DNS_SERVERS/);
    }
    expect(() => load({ NODE_ENV: 'production', OUTBOUND_DNS_TIMEOUT_MS: '50' })).toThrow(/OUTBOUND_DNS_TIMEOUT_MS/);
  });

  it('production: only the https:443 baseline, no private ranges, no loopback', () => {
    expect(load({ NODE_ENV: 'production' }).outbound).toEqual({ allowDestinations: [], allowAddresses: [], allowLoopback: false, ...DNS_DEFAULTS });
  });

  it('development and test: any scheme and port by default (addresses still judged); an explicit value, even empty, wins', () => {
    for (const NODE_ENV of ['development', 'test']) {
      expect(load({ NODE_ENV }).outbound).toEqual({
        allowDestinations: ['http://*:*', 'https://*:*'],
        allowAddresses: [],
        allowLoopback: false,
        ...DNS_DEFAULTS,
      });
      expect(load({ NODE_ENV, OUTBOUND_ALLOW_DESTINATIONS: '' }).outbound.allowDestinations).toEqual([]);
    }
    const set = load({
      NODE_ENV: 'production',
      OUTBOUND_ALLOW_DESTINATIONS: ' http://fake.internal:8080 , https://*.corp.example:8443',
      OUTBOUND_ALLOW: '10.20.0.0/16',
    });
    expect(set.outbound).toEqual({
      allowDestinations: ['http://fake.internal:8080', 'https://*.corp.example:8443'],
      allowAddresses: ['10.20.0.0/16'],
      allowLoopback: false,
      ...DNS_DEFAULTS,
    });
  });

  it('OUTBOUND_ALLOW_LOOPBACK is off unless set to true; it is reported at start, at error level in production', () => {
    expect(load({ NODE_ENV: 'test', OUTBOUND_ALLOW_LOOPBACK: 'true' }).outbound.allowLoopback).toBe(true);
    expect(() => load({ NODE_ENV: 'test', OUTBOUND_ALLOW_LOOPBACK: 'yes' })).toThrow(/OUTBOUND_ALLOW_LOOPBACK/);
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    logOutboundPolicy(load({ NODE_ENV: 'production', OUTBOUND_ALLOW_LOOPBACK: 'true' }), log);
    logOutboundPolicy(load({ NODE_ENV: 'development', OUTBOUND_ALLOW_LOOPBACK: 'true' }), log);
    logOutboundPolicy(load({ NODE_ENV: 'production' }), log);
    const loud = lines.filter((l) => /OUTBOUND_ALLOW_LOOPBACK/.test(l.msg)).map((l) => l.level);
    expect(loud).toEqual([50, 40]); // error in production, warn in development, nothing when off
  });

  it('a bad entry fails at load, naming the variable and position, never the entry', () => {
    const secretish = 'https://user:hunter2@hooks.example.com';
    expect(() => load({ OUTBOUND_ALLOW_DESTINATIONS: `https://ok.example,${secretish}` })).toThrow(/OUTBOUND_ALLOW_DESTINATIONS entry 2/);
    expect(() => load({ OUTBOUND_ALLOW_DESTINATIONS: secretish })).not.toThrow(/hunter2/);
    expect(() => load({ OUTBOUND_ALLOW: '10.0.0.0/8,10.0.0.0/99' })).toThrow(/OUTBOUND_ALLOW entry 2/);
    expect(() => load({ OUTBOUND_ALLOW: '10.0.0.0/99' })).toThrow(ConfigError);
  });
});
