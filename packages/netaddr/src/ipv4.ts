// IPv4 addresses as uint32 numbers (always >>> 0, so 255.255.255.255 is 4294967295, never -1) and prefixes as
// { ip, prefixLen } with the host bits zero. A uint32 can be masked and compared with no allocation, which is
// what the FIB and the packet path need; text only appears at the edges (config, flags, leases, logs).
//
// One set of text rules (RFC 791 section 3.2's dotted decimal, as `inet_pton` reads it): exactly four decimal
// octets 0..255, no signs, no spaces, and no leading zeros ("010" is octal to inet_aton and decimal to others, so
// it is refused rather than guessed).
import { AddressError } from './errors.ts';

/** An IPv4 prefix: `ip` is the network address (host bits zero) as a uint32, `prefixLen` is 0..32. */
export interface Ipv4Prefix {
  readonly ip: number;
  readonly prefixLen: number;
}

/** Options of the prefix parsers. */
export interface PrefixParseOptions {
  /** Refuse host bits set after the prefix length (default true); when false they are cleared. */
  readonly strict?: boolean;
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Parses a dotted quad into a uint32. Throws AddressError: empty, bad-character (zone-id for '%'), empty-part,
 * octet-count, leading-zero, octet-range.
 */
export function parseIpv4(text: string): number {
  return parseDottedQuad(text, text, 0);
}

/**
 * parseIpv4 for a part of a longer text: `input` is the text errors name and `base` the position of `text` in it
 * (a prefix, or the dotted tail of an IPv6 address).
 */
export function parseDottedQuad(text: string, input: string, base: number): number {
  if (text.length === 0) throw new AddressError('empty', input, 'is empty, expected an IPv4 address', base);
  let value = 0;
  let octets = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (i === start) throw new AddressError('empty-part', input, `empty octet at character ${base + i}`, base + i);
      if (++octets > 4) throw new AddressError('octet-count', input, 'has more than 4 octets', base + start);
      value = value * 256 + octetAt(text, start, i, input, base);
      start = i + 1;
    } else if (c < ZERO || c > NINE) {
      throw badCharacter(input, base + i, 'an IPv4 address');
    }
  }
  if (octets !== 4) throw new AddressError('octet-count', input, `has ${octets} octets, expected 4`, base);
  return value;
}

function octetAt(text: string, start: number, end: number, input: string, base: number): number {
  if (end - start > 1 && text.charCodeAt(start) === ZERO) {
    throw new AddressError(
      'leading-zero',
      input,
      `octet "${text.slice(start, end)}" at character ${base + start} has a leading zero (octal or decimal?)`,
      base + start,
    );
  }
  const n = end - start > 3 ? 256 : Number(text.slice(start, end));
  if (n > 255)
    throw new AddressError(
      'octet-range',
      input,
      `octet "${text.slice(start, end)}" at character ${base + start} is above 255`,
      base + start,
    );
  return n;
}

/** The bad-character (or zone-id, for '%') error at `at`. */
export function badCharacter(input: string, at: number, what: string): AddressError {
  if (input[at] === '%')
    return new AddressError('zone-id', input, `zone ids ("%..." at character ${at}) are not accepted`, at);
  return new AddressError('bad-character', input, `character ${at} ("${input[at]}") does not belong in ${what}`, at);
}

/** Like parseIpv4, but returns null instead of throwing. */
export function tryParseIpv4(text: string): number | null {
  try {
    return parseIpv4(text);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** Formats a uint32 as a dotted quad. */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** The netmask of a prefix length 0..32 as a uint32 (ipv4Mask(24) is 0xffffff00). */
export function ipv4Mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Number of addresses in a prefix of this length (2 ** (32 - prefixLen)). */
export function ipv4PrefixSize(prefixLen: number): number {
  return 2 ** (32 - prefixLen);
}

/** True when `ip` has bits set after the first `prefixLen` bits. */
export function ipv4HostBitsSet(ip: number, prefixLen: number): boolean {
  return (ip & ~ipv4Mask(prefixLen)) >>> 0 !== 0;
}

/**
 * Parses `A.B.C.D/N` (N decimal 0..32, no leading zeros). Throws AddressError: the address codes, prefix-length
 * (missing or bad length), host-bits (strict, the default: the message names the network that was probably meant).
 */
export function parseIpv4Prefix(text: string, options: PrefixParseOptions = {}): Ipv4Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError('prefix-length', text, 'has no "/length", expected A.B.C.D/N');
  const ip = parseDottedQuad(text.slice(0, slash), text, 0);
  const prefixLen = parsePrefixLength(text, slash + 1, 32);
  const network = (ip & ipv4Mask(prefixLen)) >>> 0;
  if (network !== ip && options.strict !== false) {
    throw new AddressError(
      'host-bits',
      text,
      `has host bits set after /${prefixLen}; the network is ${formatIpv4(network)}/${prefixLen}`,
      slash,
    );
  }
  return { ip: network, prefixLen };
}

/** Reads the decimal prefix length from `at` to the end of `text`, 0..max. Throws AddressError prefix-length. */
export function parsePrefixLength(text: string, at: number, max: number): number {
  const digits = text.slice(at);
  if (!/^(0|[1-9]\d{0,2})$/.test(digits) || Number(digits) > max) {
    throw new AddressError('prefix-length', text, `prefix length "${digits}" is not a decimal 0..${max}`, at);
  }
  return Number(digits);
}

/** Like parseIpv4Prefix, but returns null instead of throwing. */
export function tryParseIpv4Prefix(text: string, options?: PrefixParseOptions): Ipv4Prefix | null {
  try {
    return parseIpv4Prefix(text, options);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** Formats a prefix as `A.B.C.D/N`. */
export function formatIpv4Prefix(prefix: Ipv4Prefix): string {
  return `${formatIpv4(prefix.ip)}/${prefix.prefixLen}`;
}

// Subnet arithmetic: a network split into subnets of one length, as flannel splits 10.244.0.0/16 into /24s.

/** True when `ip` (uint32) is inside `prefix`. */
export function ipv4PrefixContains(prefix: Ipv4Prefix, ip: number): boolean {
  return (ip & ipv4Mask(prefix.prefixLen)) >>> 0 === prefix.ip;
}

/** True when `inner` lies wholly inside `outer` (equal prefixes included). */
export function ipv4PrefixCovers(outer: Ipv4Prefix, inner: Ipv4Prefix): boolean {
  return inner.prefixLen >= outer.prefixLen && ipv4PrefixContains(outer, inner.ip);
}

/** True when the two prefixes are the same. */
export function ipv4PrefixEquals(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}

function checkSubnetLength(network: Ipv4Prefix, subnetLen: number): void {
  if (!Number.isInteger(subnetLen) || subnetLen < network.prefixLen || subnetLen > 32) {
    const text = formatIpv4Prefix(network);
    throw new AddressError('prefix-length', text, `subnet length ${subnetLen} is not within ${network.prefixLen}..32`);
  }
}

/** How many subnets of length `subnetLen` `network` holds. Throws AddressError when subnetLen < network's length. */
export function ipv4SubnetCount(network: Ipv4Prefix, subnetLen: number): number {
  checkSubnetLength(network, subnetLen);
  return 2 ** (subnetLen - network.prefixLen);
}

/** The `index`-th (from 0) subnet of length `subnetLen` in `network`. Throws AddressError when out of range. */
export function ipv4Subnet(network: Ipv4Prefix, subnetLen: number, index: number): Ipv4Prefix {
  const count = ipv4SubnetCount(network, subnetLen);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new AddressError(
      'prefix-length',
      formatIpv4Prefix(network),
      `subnet index ${index} is not within 0..${count - 1} for /${subnetLen}`,
    );
  }
  return { ip: (network.ip + index * ipv4PrefixSize(subnetLen)) >>> 0, prefixLen: subnetLen };
}

/** The index of `subnet` among the subnets of its length in `network`, or -1 when it is not inside. */
export function ipv4SubnetIndex(network: Ipv4Prefix, subnet: Ipv4Prefix): number {
  if (!ipv4PrefixCovers(network, subnet)) return -1;
  return (subnet.ip - network.ip) / ipv4PrefixSize(subnet.prefixLen);
}

/** The prefix of the same length right after `prefix`, or null past the end of the address space. */
export function ipv4NextPrefix(prefix: Ipv4Prefix): Ipv4Prefix | null {
  const next = prefix.ip + ipv4PrefixSize(prefix.prefixLen);
  return next > 0xffffffff ? null : { ip: next, prefixLen: prefix.prefixLen };
}

/** The subnets of length `subnetLen` in `network`, in address order, from index `from`. */
export function* ipv4Subnets(network: Ipv4Prefix, subnetLen: number, from = 0): Generator<Ipv4Prefix> {
  const count = ipv4SubnetCount(network, subnetLen);
  for (let i = from; i < count; i++) yield ipv4Subnet(network, subnetLen, i);
}
