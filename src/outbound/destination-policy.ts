import { HOSTNAME, normalizeHost } from './address-policy';
import { parseIp } from './ip';

/**
 * Which scheme, host and port an outbound URL may name, before any address is looked at.
 * `https://*:443` is always allowed; OUTBOUND_ALLOW_DESTINATIONS adds entries of the form
 * `<http|https>://<host>[:<port>]`, where host is an exact name, `*.suffix` (any name below the
 * suffix, not the suffix itself), an IP literal (`[…]` for IPv6) or `*` (any host), and port is a
 * number or `*` (omitted: 80 for http, 443 for https).
 */
type HostPattern = { kind: 'any' } | { kind: 'exact'; host: string } | { kind: 'below'; suffix: string };

interface Destination {
  scheme: 'http' | 'https';
  host: HostPattern;
  port: number | '*';
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;
// Hosts in ASCII (punycode for IDNs): no userinfo, path or query can hide in an entry.
const ENTRY = /^(https?):\/\/(\*|\*\.[a-z0-9.-]+|\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\*|\d{1,5}))?\/?$/i;

/** The always-allowed destination, and the whole production default. */
export const BASELINE_DESTINATION = 'https://*:443';

/** The host as the WHATWG URL parser normalises it (punycode, IPv4 forms), or null. */
function canonicalHost(host: string): string | null {
  try {
    return normalizeHost(new URL(`http://${host}/`).hostname);
  } catch {
    return null;
  }
}

function parseEntry(raw: string): Destination | null {
  const m = ENTRY.exec(raw.trim());
  if (!m) return null;
  const scheme = m[1].toLowerCase() as Destination['scheme'];
  const port = m[3] === undefined ? DEFAULT_PORT[scheme] : m[3] === '*' ? '*' : Number(m[3]);
  if (port !== '*' && (port < 1 || port > 65535)) return null;
  if (m[2] === '*') return { scheme, host: { kind: 'any' }, port };
  const wildcard = m[2].startsWith('*.');
  const host = canonicalHost(wildcard ? m[2].slice(2) : m[2]);
  if (!host || (!parseIp(host) && !HOSTNAME.test(host))) return null;
  if (wildcard) return parseIp(host) ? null : { scheme, host: { kind: 'below', suffix: host }, port };
  return { scheme, host: { kind: 'exact', host }, port };
}

export class DestinationPolicy {
  private constructor(private readonly entries: readonly Destination[]) {}

  /** A bad entry throws naming its position, never its text (fail fast at start-up). */
  static create(entries: readonly string[]): DestinationPolicy {
    const parsed = [BASELINE_DESTINATION, ...entries].map((raw, i) => {
      const entry = parseEntry(raw);
      if (!entry) {
        throw new Error(
          `OUTBOUND_ALLOW_DESTINATIONS entry ${i} is not <http|https>://<host>[:<port>] (host: name, *.suffix, IP or *; port: number or *)`,
        );
      }
      return entry;
    });
    return new DestinationPolicy(parsed);
  }

  /** Whether an already parsed http(s) URL names an allowed scheme, host and port. */
  allows(url: URL): boolean {
    const scheme = url.protocol.slice(0, -1);
    if (scheme !== 'http' && scheme !== 'https') return false;
    const port = url.port ? Number(url.port) : DEFAULT_PORT[scheme];
    const host = normalizeHost(url.hostname);
    const literal = parseIp(host) !== null;
    return this.entries.some((d) => {
      if (d.scheme !== scheme || (d.port !== '*' && d.port !== port)) return false;
      if (d.host.kind === 'any') return true;
      if (d.host.kind === 'exact') return d.host.host === host;
      return !literal && host.endsWith(`.${d.host.suffix}`);
    });
  }
}
