import { promises as dns } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy, BlockReason } from './address-policy';
import { parseIp } from './ip';

/** Thrown (as a socket error) when a destination is refused; carries the reason, never the URL. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  readonly code = 'ERR_OUTBOUND_BLOCKED';
  constructor(readonly reason: BlockReason | 'NOT_AN_IP') {
    super(`outbound request refused: destination address is ${reason.toLowerCase().replace(/_/g, '-')}`);
  }
}

/** Resolves every address of a name; injectable so tests can play a rebinding DNS server. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves a host and checks EVERY address it resolved to; one refused address refuses the host
 * (a name that resolves to a public and a private address is an attack, not a fallback).
 */
export async function resolveChecked(policy: AddressPolicy, hostname: string, resolve: Resolver): Promise<LookupAddress[]> {
  const literal = parseIp(hostname);
  if (literal) {
    const reason = policy.check(literal.text);
    if (reason) throw new BlockedAddressError(reason);
    return [{ address: literal.text, family: literal.family }];
  }
  const addresses = await resolve(hostname);
  if (addresses.length === 0) throw Object.assign(new Error('no address for host'), { code: 'ENOTFOUND' });
  // A host named in OUTBOUND_ALLOW may resolve to private addresses, never to metadata or loopback.
  const hostAllowed = policy.allowsHost(hostname);
  for (const { address } of addresses) {
    const reason = policy.check(address, hostAllowed);
    if (reason) throw new BlockedAddressError(reason);
  }
  return addresses;
}

/**
 * A `lookup` for net/tls.connect. The socket calls it at connect time and connects only to the
 * addresses it returns, so a DNS answer that changes between a pre-check and the connection
 * (rebinding) is judged again, on the address actually used.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(policy, hostname, resolve).then(
      (all) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = family ? all.filter((a) => a.family === family) : all;
        if (usable.length === 0) {
          callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
        } else if (options.all) {
          (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
