import { BlockList } from 'node:net';
import { embeddedIPv4, parseIp, type ParsedIp } from './ip';

/** Why an address is refused; coarse on purpose (it ends up in operator logs only). */
export type BlockReason = 'UNSPECIFIED' | 'LOOPBACK' | 'PRIVATE' | 'METADATA' | 'LINK_LOCAL' | 'SHARED' | 'BROADCAST' | 'MULTICAST' | 'RESERVED';

/**
 * Ranges an outbound request must not reach. Order matters only for the reason reported
 * (metadata before private and link-local, broadcast before reserved).
 */
const DENY: { reason: BlockReason; v4?: string[]; v6?: string[] }[] = [
  { reason: 'UNSPECIFIED', v4: ['0.0.0.0/8'], v6: ['::/128'] },
  { reason: 'LOOPBACK', v4: ['127.0.0.0/8'], v6: ['::1/128'] },
  // Cloud instance metadata: AWS/GCP/Azure/OpenStack, Alibaba, AWS IMDS over IPv6.
  { reason: 'METADATA', v4: ['169.254.169.254/32', '100.100.100.200/32'], v6: ['fd00:ec2::254/128'] },
  { reason: 'PRIVATE', v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], v6: ['fc00::/7'] },
  { reason: 'LINK_LOCAL', v4: ['169.254.0.0/16'], v6: ['fe80::/10', 'fec0::/10'] },
  { reason: 'SHARED', v4: ['100.64.0.0/10'] },
  { reason: 'BROADCAST', v4: ['255.255.255.255/32'] },
  { reason: 'MULTICAST', v4: ['224.0.0.0/4'], v6: ['ff00::/8'] },
  {
    reason: 'RESERVED',
    v4: ['192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4'],
    // Local-use NAT64, discard-only, IETF protocol assignments (incl. Teredo), documentation.
    v6: ['64:ff9b:1::/48', '100::/64', '2001::/23', '2001:db8::/32'],
  },
];

/**
 * Never opened by OUTBOUND_ALLOW, whatever it says: metadata and link-local answer with cloud
 * credentials, and 0.0.0.0 / :: connect to this host. The allow list is consulted only after these.
 */
const NEVER: ReadonlySet<BlockReason> = new Set(['UNSPECIFIED', 'METADATA', 'LINK_LOCAL', 'BROADCAST', 'MULTICAST']);

function subnet(list: BlockList, cidr: string): void {
  const [network, bits] = cidr.split('/');
  const ip = parseIp(network);
  const prefix = Number(bits);
  const max = ip?.family === 4 ? 32 : 128;
  if (!ip || !/^\d{1,3}$/.test(bits ?? '') || prefix > max) throw new Error('not a CIDR range');
  list.addSubnet(ip.text, prefix, ip.family === 4 ? 'ipv4' : 'ipv6');
}

const DENY_LISTS = DENY.map(({ reason, v4 = [], v6 = [] }) => {
  const list = new BlockList();
  for (const cidr of [...v4, ...v6]) subnet(list, cidr);
  return { reason, list };
});

export const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

const familyOf = (ip: ParsedIp) => (ip.family === 4 ? 'ipv4' : 'ipv6');

export interface AddressPolicyOptions {
  /** OUTBOUND_ALLOW entries: exact hostnames, IP addresses or CIDR ranges. */
  allow: readonly string[];
  /** OUTBOUND_ALLOW_LOOPBACK: the only way to reach 127.0.0.0/8 and ::1. */
  allowLoopback: boolean;
}

/**
 * Which addresses outbound requests (webhooks, custom provider base URLs) may reach. Pure: no DNS.
 * Precedence, first match wins: never-opened ranges (metadata, link-local, unspecified, broadcast,
 * multicast) -> loopback (OUTBOUND_ALLOW_LOOPBACK only) -> OUTBOUND_ALLOW -> other non-public
 * ranges -> allowed.
 */
export class AddressPolicy {
  private constructor(
    private readonly hosts: ReadonlySet<string>,
    private readonly ranges: BlockList,
    readonly allowLoopback: boolean,
  ) {}

  /** A bad entry throws naming its position, never its text (fail fast at start-up). */
  static create(options: AddressPolicyOptions): AddressPolicy {
    const hosts = new Set<string>();
    const ranges = new BlockList();
    options.allow.forEach((raw, i) => {
      const entry = raw.trim();
      try {
        if (entry.includes('/')) return subnet(ranges, entry);
        const ip = parseIp(entry);
        if (ip) return ranges.addAddress(ip.text, familyOf(ip));
        const host = normalizeHost(entry);
        if (!HOSTNAME.test(host)) throw new Error('not a hostname');
        hosts.add(host);
      } catch {
        throw new Error(`OUTBOUND_ALLOW entry ${i + 1} is not a hostname, IP address or CIDR range`);
      }
    });
    return new AddressPolicy(hosts, ranges, options.allowLoopback);
  }

  static fromAllowList(entries: readonly string[], allowLoopback = false): AddressPolicy {
    return AddressPolicy.create({ allow: entries, allowLoopback });
  }

  /** Ops named this exact host in OUTBOUND_ALLOW: it may resolve to private addresses (not to never-opened ones). */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(normalizeHost(hostname));
  }

  /**
   * null when the address may be reached; the reason otherwise. Non-IP input is refused.
   * `hostAllowed`: the name it was resolved from is in OUTBOUND_ALLOW.
   */
  check(address: string, hostAllowed = false): BlockReason | 'NOT_AN_IP' | null {
    const ip = parseIp(address);
    if (!ip) return 'NOT_AN_IP';
    const own = denied(ip);
    if (own && NEVER.has(own)) return own;
    if (own === 'LOOPBACK') return this.allowLoopback ? null : own;
    const embedded = embeddedIPv4(ip);
    const carried = embedded ? denied(parseIp(embedded.address)!) : null;
    if (carried && NEVER.has(carried)) return carried;
    // A NAT64 / 6to4 path to 127.0.0.1 reaches the translator's loopback, never ours: not opened.
    if (carried === 'LOOPBACK') return this.allowLoopback && embedded!.kind === 'mapped' ? null : carried;
    if (hostAllowed || this.ranges.check(ip.text, familyOf(ip))) return null;
    if (embedded?.kind === 'mapped' && this.ranges.check(embedded.address, 'ipv4')) return null;
    return own ?? carried;
  }
}

function denied(ip: ParsedIp): BlockReason | null {
  for (const { reason, list } of DENY_LISTS) if (list.check(ip.text, familyOf(ip))) return reason;
  return null;
}
