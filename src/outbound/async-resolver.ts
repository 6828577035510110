import { readFileSync } from 'node:fs';
import { promises as dns, type LookupAddress } from 'node:dns';
import { parseIp } from './ip';
import type { Resolver } from './guarded-lookup';

export interface AsyncResolverOptions {
  /** The longest a name may take to resolve; past it the lookup fails with DNS_ETIMEOUT. */
  timeoutMs: number;
  /** DNS servers (`ip` or `ip:port`); empty: the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  /** A hosts file read once, at start: c-ares's queries skip it, getaddrinfo does not. */
  hostsFile?: string | null;
}

/**
 * Names resolved with c-ares (`dns.Resolver`) instead of `dns.lookup`. getaddrinfo runs on libuv's
 * four-thread pool: a tenant whose webhook names never answer held those threads for ~10 s each,
 * and every other tenant's key checks and webhooks (and anything else on the pool) queued behind
 * them. A c-ares query is a socket and a timer on the event loop: a name that never answers costs
 * nothing while it waits, and the wait is bounded by `timeoutMs`, which is shorter than any
 * outbound request's own deadline.
 */
export function asyncResolver(options: AsyncResolverOptions): Resolver {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: 1 });
  if (options.servers?.length) resolver.setServers([...options.servers]);
  const hosts = options.hostsFile === null ? new Map<string, LookupAddress[]>() : readHosts(options.hostsFile ?? '/etc/hosts');
  return async (hostname) => {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const known = hosts.get(name);
    if (known) return known;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsError('ETIMEOUT')), options.timeoutMs);
    });
    try {
      const [v4, v6] = await Promise.race([Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]), deadline]);
      const addresses: LookupAddress[] = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (addresses.length > 0) return addresses;
      throw failureOf([v4, v6]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** No such name (either family) is ENOTFOUND, as getaddrinfo says it; anything else keeps c-ares's code under DNS_. */
function failureOf(results: PromiseSettledResult<unknown>[]): Error {
  const codes = results.map((r) => (r.status === 'rejected' ? String((r.reason as NodeJS.ErrnoException).code ?? 'EUNKNOWN') : 'ENODATA'));
  if (codes.some((c) => c === 'ENOTFOUND') || codes.every((c) => c === 'ENODATA')) return dnsError('ENOTFOUND', 'ENOTFOUND');
  return dnsError(codes.find((c) => c !== 'ENODATA') ?? codes[0]);
}

function dnsError(code: string, as = `DNS_${code}`): Error {
  return Object.assign(new Error('name resolution failed'), { code: as });
}

/** `address name [alias…]` lines; comments and malformed lines are skipped. A missing file is empty. */
export function readHosts(file: string): Map<string, LookupAddress[]> {
  const out = new Map<string, LookupAddress[]>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    const ip = address ? parseIp(address) : null;
    if (!ip) continue;
    for (const name of names) {
      const key = name.toLowerCase();
      const list = out.get(key) ?? [];
      if (!list.some((a) => a.address === ip.text)) list.push({ address: ip.text, family: ip.family });
      out.set(key, list);
    }
  }
  return out;
}
