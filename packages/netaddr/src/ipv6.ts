// IPv6 addresses as bigint (0 .. 2**128 - 1) and prefixes as { ip, prefixLen } with the host bits zero. A bigint is
// the form in which 128-bit masks, subnet counts and indexes are plain arithmetic, so the allocator and config use
// it; it allocates, so the packet path uses the packed form of packed6.ts instead.
//
// Text rules (RFC 4291 section 2.2): eight groups of 1..4 hex digits, one "::" at most standing for one or more zero
// groups, and a dotted quad (the IPv4 rules, leading zeros refused) allowed only as the last 32 bits. Zone ids
// ("fe80::1%eth0", RFC 4007) are refused: an address in a prefix, a lease or a route has no scope.
// Formatting is RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero groups as
// "::" (the first of equal runs), and section 5: IPv4-mapped addresses keep their dotted tail (::ffff:192.0.2.1).
import { AddressError } from './errors.ts';
import { badCharacter, parseDottedQuad, parsePrefixLength, type PrefixParseOptions } from './ipv4.ts';

/** An IPv6 prefix: `ip` is the network address (host bits zero), `prefixLen` is 0..128. */
export interface Ipv6Prefix {
  readonly ip: bigint;
  readonly prefixLen: number;
}

/** The largest IPv6 address, ffff:...:ffff. */
export const IPV6_MAX = (1n << 128n) - 1n;

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/**
 * Parses IPv6 text into a bigint. Throws AddressError: empty, bad-character, zone-id, double-colon, empty-part,
 * group-range, group-count, embedded-ipv4, and the IPv4 codes for a bad dotted tail.
 */
export function parseIpv6(text: string): bigint {
  return parseIpv6Text(text, text);
}

/** parseIpv6 for the address part of a prefix: errors name `input`, the whole text (the address starts it). */
function parseIpv6Text(text: string, input: string): bigint {
  if (text.length === 0) throw new AddressError('empty', input, 'is empty, expected an IPv6 address');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isHex(c) && c !== 0x3a && c !== 0x2e) throw badCharacter(input, i, 'an IPv6 address');
  }
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) {
    const at = text.indexOf('::', gap + 1);
    throw new AddressError(
      'double-colon',
      input,
      `has a second "::" at character ${at}; only one run of zero groups may be elided`,
      at,
    );
  }
  const head = gap < 0 ? text : text.slice(0, gap);
  const groups = groupsOf(input, head, 0, gap < 0);
  const tail = gap < 0 ? [] : groupsOf(input, text.slice(gap + 2), gap + 2, true);
  const count = groups.length + tail.length;
  if (gap < 0 && count !== 8) throw new AddressError('group-count', input, `has ${count} groups, expected 8 (or "::")`);
  if (gap >= 0 && count > 7)
    throw new AddressError('group-count', input, `has ${count} groups beside "::", at most 7 fit`);
  if (gap >= 0) groups.push(...new Array<number>(8 - count).fill(0), ...tail);
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** The 16-bit groups of `part` (which starts at `base` in `input`); a dotted quad counts as two groups. */
function groupsOf(input: string, part: string, base: number, last: boolean): number[] {
  if (part === '') return [];
  const out: number[] = [];
  const pieces = part.split(':');
  let at = base;
  pieces.forEach((p, i) => {
    if (p === '') throw new AddressError('empty-part', input, `empty group at character ${at}`, at);
    if (p.includes('.')) {
      if (!last || i !== pieces.length - 1)
        throw new AddressError(
          'embedded-ipv4',
          input,
          `a dotted quad (character ${at}) may only be the last 32 bits`,
          at,
        );
      const v4 = parseDottedQuad(p, input, at);
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (p.length > 4) {
      throw new AddressError('group-range', input, `group "${p}" at character ${at} has more than 4 hex digits`, at);
    } else {
      out.push(parseInt(p, 16));
    }
    at += p.length + 1;
  });
  return out;
}

/** Like parseIpv6, but returns null instead of throwing. */
export function tryParseIpv6(text: string): bigint | null {
  try {
    return parseIpv6(text);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** The eight 16-bit groups of an address, most significant first. */
export function ipv6Groups(ip: bigint): number[] {
  const out = new Array<number>(8);
  for (let i = 7; i >= 0; i--, ip >>= 16n) out[i] = Number(ip & 0xffffn);
  return out;
}

/** RFC 5952 text of an address (see the notes at the top of this file). */
export function formatIpv6(ip: bigint): string {
  for (let i = 7; i >= 0; i--, ip >>= 16n) scratchGroups[i] = Number(ip & 0xffffn);
  return formatGroups(scratchGroups);
}

/**
 * RFC 5952 text of the 16 bytes at `offset` (network order), without making a bigint: for decoders and logs that
 * hold addresses as bytes. `dottedMapped` false prints IPv4-mapped addresses in hex like any other (section 4 only),
 * for callers whose stored text predates this package. Throws RangeError when fewer than 16 bytes remain.
 */
export function formatIpv6Bytes(buf: Uint8Array, offset = 0, dottedMapped = true): string {
  if (offset < 0 || offset + 16 > buf.length)
    throw new RangeError(`need 16 bytes at offset ${offset}, have ${buf.length - offset}`);
  for (let i = 0; i < 8; i++) scratchGroups[i] = (buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!;
  return formatGroups(scratchGroups, dottedMapped);
}

const scratchGroups = new Uint16Array(8);

function formatGroups(g: Uint16Array, dottedMapped = true): string {
  if (dottedMapped && g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  let best = -1;
  let bestLen = 1; // a single zero group stays "0" (section 4.2.2)
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
    } else {
      out += (out === '' || out.endsWith(':') ? '' : ':') + g[i]!.toString(16);
    }
  }
  return out;
}

/** The netmask of a prefix length 0..128 (ipv6Mask(64) has the high 64 bits set). */
export function ipv6Mask(prefixLen: number): bigint {
  return IPV6_MAX ^ ((1n << BigInt(128 - prefixLen)) - 1n);
}

/** True when `ip` has bits set after the first `prefixLen` bits. */
export function ipv6HostBitsSet(ip: bigint, prefixLen: number): boolean {
  return (ip & ~ipv6Mask(prefixLen)) !== 0n;
}

/**
 * Parses `ADDR/N` (N decimal 0..128, no leading zeros). Throws AddressError: the address codes, prefix-length,
 * host-bits (strict, the default; the message names the network that was probably meant).
 */
export function parseIpv6Prefix(text: string, options: PrefixParseOptions = {}): Ipv6Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError('prefix-length', text, 'has no "/length", expected ADDR/N');
  const ip = parseIpv6Text(text.slice(0, slash), text);
  const prefixLen = parsePrefixLength(text, slash + 1, 128);
  const network = ip & ipv6Mask(prefixLen);
  if (network !== ip && options.strict !== false) {
    throw new AddressError(
      'host-bits',
      text,
      `has host bits set after /${prefixLen}; the network is ${formatIpv6(network)}/${prefixLen}`,
      slash,
    );
  }
  return { ip: network, prefixLen };
}

/** Like parseIpv6Prefix, but returns null instead of throwing. */
export function tryParseIpv6Prefix(text: string, options?: PrefixParseOptions): Ipv6Prefix | null {
  try {
    return parseIpv6Prefix(text, options);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** Formats a prefix as `ADDR/N` (RFC 5952 address). */
export function formatIpv6Prefix(prefix: Ipv6Prefix): string {
  return `${formatIpv6(prefix.ip)}/${prefix.prefixLen}`;
}

/** Reads 16 bytes at `offset` (network order) as an address. Throws RangeError when fewer than 16 remain. */
export function ipv6FromBytes(buf: Uint8Array, offset = 0): bigint {
  if (offset < 0 || offset + 16 > buf.length)
    throw new RangeError(`need 16 bytes at offset ${offset}, have ${buf.length - offset}`);
  let v = 0n;
  for (let i = 0; i < 4; i++) {
    const o = offset + 4 * i;
    v = (v << 32n) | BigInt(((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0);
  }
  return v;
}

/** Writes an address as 16 bytes at `offset` and returns 16. Throws RangeError when fewer than 16 remain. */
export function writeIpv6Bytes(ip: bigint, buf: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + 16 > buf.length)
    throw new RangeError(`need 16 bytes at offset ${offset}, have ${buf.length - offset}`);
  for (let i = 15; i >= 0; i--, ip >>= 8n) buf[offset + i] = Number(ip & 0xffn);
  return 16;
}

/** The address as a new 16-byte array (network order). */
export function ipv6ToBytes(ip: bigint): Uint8Array {
  const out = new Uint8Array(16);
  writeIpv6Bytes(ip, out, 0);
  return out;
}

// Subnet arithmetic, as for IPv4 but in bigint: a /48 holds 2**16 /64s and a /32 holds 2**96 /128s.

/** True when `ip` is inside `prefix`. */
export function ipv6PrefixContains(prefix: Ipv6Prefix, ip: bigint): boolean {
  return (ip & ipv6Mask(prefix.prefixLen)) === prefix.ip;
}

/** True when `inner` lies wholly inside `outer` (equal prefixes included). */
export function ipv6PrefixCovers(outer: Ipv6Prefix, inner: Ipv6Prefix): boolean {
  return inner.prefixLen >= outer.prefixLen && ipv6PrefixContains(outer, inner.ip);
}

/** True when the two prefixes are the same. */
export function ipv6PrefixEquals(a: Ipv6Prefix, b: Ipv6Prefix): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}

/** How many subnets of length `subnetLen` `network` holds. Throws AddressError when subnetLen is not in range. */
export function ipv6SubnetCount(network: Ipv6Prefix, subnetLen: number): bigint {
  if (!Number.isInteger(subnetLen) || subnetLen < network.prefixLen || subnetLen > 128) {
    throw new AddressError(
      'prefix-length',
      formatIpv6Prefix(network),
      `subnet length ${subnetLen} is not within ${network.prefixLen}..128`,
    );
  }
  return 1n << BigInt(subnetLen - network.prefixLen);
}

/** The `index`-th (from 0) subnet of length `subnetLen` in `network`. Throws AddressError when out of range. */
export function ipv6Subnet(network: Ipv6Prefix, subnetLen: number, index: bigint | number): Ipv6Prefix {
  const count = ipv6SubnetCount(network, subnetLen);
  const n = BigInt(index);
  if (n < 0n || n >= count) {
    throw new AddressError(
      'prefix-length',
      formatIpv6Prefix(network),
      `subnet index ${n} is not within 0..${count - 1n} for /${subnetLen}`,
    );
  }
  return { ip: network.ip + (n << BigInt(128 - subnetLen)), prefixLen: subnetLen };
}

/** The index of `subnet` among the subnets of its length in `network`, or -1n when it is not inside. */
export function ipv6SubnetIndex(network: Ipv6Prefix, subnet: Ipv6Prefix): bigint {
  if (!ipv6PrefixCovers(network, subnet)) return -1n;
  return (subnet.ip - network.ip) >> BigInt(128 - subnet.prefixLen);
}

/** The prefix of the same length right after `prefix`, or null past the end of the address space. */
export function ipv6NextPrefix(prefix: Ipv6Prefix): Ipv6Prefix | null {
  const next = prefix.ip + (1n << BigInt(128 - prefix.prefixLen));
  return next > IPV6_MAX ? null : { ip: next, prefixLen: prefix.prefixLen };
}

/** The subnets of length `subnetLen` in `network`, in address order, from index `from`. */
export function* ipv6Subnets(
  network: Ipv6Prefix,
  subnetLen: number,
  from: bigint | number = 0n,
): Generator<Ipv6Prefix> {
  const count = ipv6SubnetCount(network, subnetLen);
  for (let i = BigInt(from); i < count; i++) yield ipv6Subnet(network, subnetLen, i);
}
