import { BlockList } from 'node:net';
import { embeddedIPv4, parseIp, type ParsedIp } from './ip';

/** Why an address is refused; coarse on purpose (it ends up in logs and attempt rows). */
export type BlockReason =
  | 'UNSPECIFIED'
  | 'LOOPBACK'
  | 'PRIVATE'
  | 'METADATA'
  | 'LINK_LOCAL'
  | 'SHARED'
  | 'BROADCAST'
  | 'MULTICAST'
  | 'RESERVED';

/**
 * Ranges an outbound request must never reach unless ops allow them. Order matters only for the
 * reason reported (metadata before private and link-local, broadcast before reserved).
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

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

const familyOf = (ip: ParsedIp) => (ip.family === 4 ? 'ipv4' : 'ipv6');

/**
 * Which addresses outbound requests (webhooks, custom provider base URLs) may reach: public
 * unicast only, plus what ops allow by exact hostname or CIDR (OUTBOUND_ALLOW). Pure: no DNS.
 */
export class AddressPolicy {
  private constructor(
    private readonly hosts: ReadonlySet<string>,
    private readonly ranges: BlockList,
  ) {}

  /** Entries: exact hostnames, IP addresses or CIDR ranges. A bad entry throws (fail fast at start-up). */
  static fromAllowList(entries: readonly string[]): AddressPolicy {
    const hosts = new Set<string>();
    const ranges = new BlockList();
    entries.forEach((raw, i) => {
      const entry = raw.trim();
      try {
        if (entry.includes('/')) return subnet(ranges, entry);
        const ip = parseIp(entry);
        if (ip) return ranges.addAddress(ip.text, familyOf(ip));
        const host = normalizeHost(entry);
        if (!HOSTNAME.test(host)) throw new Error('not a hostname');
        hosts.add(host);
      } catch {
        // The entry's position, not its text: config errors name variables, never values.
        throw new Error(`OUTBOUND_ALLOW entry ${i + 1} is not a hostname, IP address or CIDR range`);
      }
    });
    return new AddressPolicy(hosts, ranges);
  }

  /** Ops named this exact host: whatever it resolves to is allowed. */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(normalizeHost(hostname.replace(/^\[|\]$/g, '')));
  }

  /** null when the address may be reached; the reason otherwise. Non-IP input is refused. */
  check(address: string): BlockReason | 'NOT_AN_IP' | null {
    const ip = parseIp(address);
    if (!ip) return 'NOT_AN_IP';
    const embedded = embeddedIPv4(ip);
    if (this.ranges.check(ip.text, familyOf(ip))) return null;
    if (embedded?.kind === 'mapped' && this.ranges.check(embedded.address, 'ipv4')) return null;
    const own = denied(ip);
    if (own || !embedded) return own;
    return denied(parseIp(embedded.address)!);
  }
}

function denied(ip: ParsedIp): BlockReason | null {
  for (const { reason, list } of DENY_LISTS) if (list.check(ip.text, familyOf(ip))) return reason;
  return null;
}
