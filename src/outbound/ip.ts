import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP literal parsing for the address policy. Node's URL parser already normalizes odd IPv4 forms
 * (hex, octal, single integers) to dotted quads, but IPv6 comes out in many spellings
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`, zone ids), so we compare bytes, never strings.
 */
export type IpFamily = 4 | 6;
export interface ParsedIp {
  family: IpFamily;
  /** The address without brackets or zone id, as Node's BlockList accepts it. */
  text: string;
  bytes: Uint8Array;
}

export function parseIp(input: string): ParsedIp | null {
  const text = input.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(text)) return { family: 4, text, bytes: Uint8Array.from(text.split('.').map(Number)) };
  if (isIPv6(text)) return { family: 6, text, bytes: ipv6Bytes(text) };
  return null;
}

/** Expects a string isIPv6 accepted. */
function ipv6Bytes(address: string): Uint8Array {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length > 1 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  const out = new Uint8Array(16);
  groups.forEach((group, i) => {
    const n = parseInt(group, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

const zero = (b: Uint8Array, from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
const v4 = (b: Uint8Array, at: number): string => Array.from(b.subarray(at, at + 4)).join('.');

export interface EmbeddedIPv4 {
  address: string;
  /** mapped: the same host seen through an IPv6 socket; translated: a NAT64 / 6to4 path to it. */
  kind: 'mapped' | 'translated';
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach that IPv4 host (or a
 * translator in front of it): IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96 (deprecated;
 * `::` and `::1` map into 0.0.0.0/8 and are refused with it), SIIT ::ffff:0:0:0/96, NAT64
 * 64:ff9b::/96 and 6to4 2002::/16. Judging the embedded IPv4 closes the classic bypasses
 * (`[::ffff:127.0.0.1]`, `[64:ff9b::a9fe:a9fe]`).
 */
export function embeddedIPv4(ip: ParsedIp): EmbeddedIPv4 | null {
  if (ip.family !== 6) return null;
  const b = ip.bytes;
  if (zero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return { address: v4(b, 12), kind: 'mapped' };
  if (zero(b, 0, 12)) return { address: v4(b, 12), kind: 'mapped' };
  if (zero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zero(b, 10, 12)) return { address: v4(b, 12), kind: 'mapped' };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(b, 4, 12)) {
    return { address: v4(b, 12), kind: 'translated' };
  }
  if (b[0] === 0x20 && b[1] === 0x02) return { address: v4(b, 2), kind: 'translated' };
  return null;
}
