import type { Config } from '../config';
import { AddressPolicy, normalizeHost, type BlockReason } from './address-policy';
import { DestinationPolicy } from './destination-policy';
import { parseIp } from './ip';

/** Why the policy refuses a URL, for operator logs; tenants only ever see URL_NOT_ALLOWED or UNREACHABLE. */
export type PolicyRefusal = { rule: 'DESTINATION' } | { rule: 'ADDRESS'; reason: BlockReason | 'NOT_AN_IP' };

/** An absolute http(s) URL without credentials, or null. */
export function parseOutboundUrl(raw: string): URL | null {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username || url.password) return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * The whole outbound policy: which URLs (scheme, host, port) may be requested, and which addresses
 * their hosts may connect to. Built from config once per process.
 */
export class OutboundPolicy {
  constructor(
    readonly destinations: DestinationPolicy,
    readonly addresses: AddressPolicy,
  ) {}

  static fromConfig(config: Pick<Config, 'outbound'>): OutboundPolicy {
    const { allowDestinations, allowAddresses, allowLoopback } = config.outbound;
    return new OutboundPolicy(DestinationPolicy.create(allowDestinations), AddressPolicy.create({ allow: allowAddresses, allowLoopback }));
  }

  /**
   * Everything that can be judged without DNS: scheme, host and port, IP literals, and the names
   * that are loopback by definition (RFC 6761 `localhost`). Used when a URL is saved and again
   * before every request. Names are never resolved here: a save-time answer that depended on DNS
   * would tell a tenant what the deployment's internal names resolve to.
   */
  checkUrl(url: URL): PolicyRefusal | null {
    if (!this.destinations.allows(url)) return { rule: 'DESTINATION' };
    const host = normalizeHost(url.hostname);
    const literal = parseIp(host);
    if (literal) {
      const reason = this.addresses.check(literal.text);
      return reason ? { rule: 'ADDRESS', reason } : null;
    }
    if ((host === 'localhost' || host.endsWith('.localhost')) && !this.addresses.allowLoopback) return { rule: 'ADDRESS', reason: 'LOOPBACK' };
    return null;
  }
}
