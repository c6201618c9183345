// IP addresses and NLRI prefixes on the wire (RFC 4271 §4.3 "Network Layer Reachability Information",
// RFC 4760 §5 for the same encoding inside MP_REACH/MP_UNREACH).
//
// One prefix is a length in bits followed by just enough octets to hold it; trailing bits are padding:
//
//   +---------------------------+
//   |   Length (1 octet, bits)  |
//   +---------------------------+
//   |   Prefix (ceil(Length/8)) |
//   +---------------------------+
//
// e.g. 10.244.1.0/24 is `18 0a f4 01` and 0.0.0.0/0 is just `00`.
//
// Addresses are text in our types (dotted quad, RFC 5952 IPv6). Padding bits are required to be zero on send and
// masked off on receive (RFC 4271 says they are irrelevant), so `addr` is always canonical.
import {
  AddressError,
  formatIpv4 as formatIpv4Text,
  formatIpv6Bytes,
  parseIpv4,
  parseIpv6,
  parsePrefix as parseIpPrefix,
  writeIpv6Bytes,
} from '@weft/netaddr';
import { Afi, type Prefix } from '../types.ts';

/** Address length in bytes per family. */
export function addrBytes(afi: Afi): number {
  return afi === Afi.Ipv4 ? 4 : 16;
}

/** Max prefix length in bits per family. */
export function maxPrefixBits(afi: Afi): number {
  return afi === Afi.Ipv4 ? 32 : 128;
}

/** Formats 4 bytes at `offset` as a dotted quad. Caller checks bounds. */
export function formatIpv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/**
 * Formats 16 bytes at `offset` per RFC 5952 section 4 (@weft/netaddr): lower-case hex, no leading zeros, longest
 * zero run as `::`. IPv4-mapped addresses stay in hex (`::ffff:c000:201`): Prefix.addr is also a RIB key, and
 * that is the text the RIB and its tests have always used.
 */
export function formatIpv6(buf: Uint8Array, offset: number): string {
  return formatIpv6Bytes(buf, offset, false);
}

/** Writes a dotted quad into 4 bytes at `offset`. Throws TypeError on malformed text (encoder input). */
export function writeIpv4(addr: string, buf: Uint8Array, offset: number): void {
  const v = asTypeError(() => parseIpv4(addr), 'IPv4 address');
  buf[offset] = v >>> 24;
  buf[offset + 1] = (v >>> 16) & 0xff;
  buf[offset + 2] = (v >>> 8) & 0xff;
  buf[offset + 3] = v & 0xff;
}

/** Writes IPv6 text (with optional `::` and embedded dotted quad) into 16 bytes at `offset`. Throws TypeError. */
export function writeIpv6(addr: string, buf: Uint8Array, offset: number): void {
  writeIpv6Bytes(
    asTypeError(() => parseIpv6(addr), 'IPv6 address'),
    buf,
    offset,
  );
}

/** Runs a @weft/netaddr parser; its AddressError becomes the TypeError this codec throws for bad encoder input. */
function asTypeError<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof AddressError) throw new TypeError(`not an ${what}: ${e.message}`);
    throw e;
  }
}

/** Writes an address of the given family; returns bytes written (4 or 16). */
export function writeAddr(afi: Afi, addr: string, buf: Uint8Array, offset: number): number {
  if (afi === Afi.Ipv4) writeIpv4(addr, buf, offset);
  else writeIpv6(addr, buf, offset);
  return addrBytes(afi);
}

/** Formats an address of the given family at `offset`. Caller checks bounds. */
export function formatAddr(afi: Afi, buf: Uint8Array, offset: number): string {
  return afi === Afi.Ipv4 ? formatIpv4(buf, offset) : formatIpv6(buf, offset);
}

/** A stable Map key for a prefix: `10.244.1.0/24`, `2001:db8::/32`. */
export function prefixKey(p: Prefix): string {
  return `${p.addr}/${p.length}`;
}

/** 16 bytes of scratch for address conversions (one at a time: nothing here is re-entrant). */
const scratch = new Uint8Array(16);

/** Parses `addr/len` text into a canonical Prefix (host bits cleared). Throws TypeError on bad input. */
export function parsePrefix(text: string): Prefix {
  const p = asTypeError(() => parseIpPrefix(text, { strict: false }), 'address prefix');
  if (p.family === 4) return { afi: Afi.Ipv4, length: p.prefixLen, addr: formatIpv4Text(p.ip) };
  writeIpv6Bytes(p.ip, scratch, 0);
  return { afi: Afi.Ipv6, length: p.prefixLen, addr: formatIpv6(scratch, 0) };
}

function maskTail(bytes: Uint8Array, offset: number, size: number, length: number): void {
  for (let bit = length; bit < size * 8; bit++) bytes[offset + (bit >> 3)]! &= ~(0x80 >> (bit & 7));
}

/** Bytes a prefix takes in NLRI encoding: 1 length octet + ceil(length/8). */
export function prefixEncodingLength(p: Prefix): number {
  return 1 + ((p.length + 7) >> 3);
}

/** Encodes one prefix at `offset`; returns bytes written. Host bits past `length` are written as zero. */
export function encodePrefix(p: Prefix, buf: Uint8Array, offset: number): number {
  const n = (p.length + 7) >> 3;
  if (p.length < 0 || p.length > maxPrefixBits(p.afi)) throw new RangeError(`prefix length ${p.length} out of range`);
  writeAddr(p.afi, p.addr, scratch, 0);
  maskTail(scratch, 0, n, p.length);
  buf[offset] = p.length;
  for (let i = 0; i < n; i++) buf[offset + 1 + i] = scratch[i]!;
  return 1 + n;
}

/** Error from decodePrefixes: which byte went wrong. The UPDATE decoder turns it into the right NOTIFICATION. */
export class PrefixSyntaxError extends Error {
  override readonly name = 'PrefixSyntaxError';
}

/**
 * Decodes the prefixes packed in `buf[start, end)` (a Withdrawn Routes or NLRI field, or the NLRI of an MP
 * attribute) and appends them to `out`. Throws PrefixSyntaxError when a length exceeds the family maximum or a
 * prefix runs past `end` (RFC 7606 §5.3: the caller resets the session).
 */
export function decodePrefixes(afi: Afi, buf: Uint8Array, start: number, end: number, out: Prefix[]): void {
  const max = maxPrefixBits(afi);
  for (let off = start; off < end; ) {
    const length = buf[off]!;
    const n = (length + 7) >> 3;
    if (length > max) throw new PrefixSyntaxError(`prefix length ${length} > ${max} at byte ${off}`);
    if (off + 1 + n > end) throw new PrefixSyntaxError(`prefix /${length} at byte ${off} overruns its field`);
    out.push({
      afi,
      length,
      addr: afi === Afi.Ipv4 ? ipv4PrefixText(buf, off + 1, length) : ipv6PrefixText(buf, off + 1, length),
    });
    off += 1 + n;
  }
}

/** Byte `i` of a prefix whose `length` bits start at `p`: zero past the prefix, padding bits masked off. */
function prefixByte(buf: Uint8Array, p: number, length: number, i: number): number {
  const bits = length - 8 * i;
  if (bits <= 0) return 0;
  return bits >= 8 ? buf[p + i]! : buf[p + i]! & (0xff << (8 - bits));
}

function ipv4PrefixText(buf: Uint8Array, p: number, length: number): string {
  return `${prefixByte(buf, p, length, 0)}.${prefixByte(buf, p, length, 1)}.${prefixByte(buf, p, length, 2)}.${prefixByte(buf, p, length, 3)}`;
}

function ipv6PrefixText(buf: Uint8Array, p: number, length: number): string {
  for (let i = 0; i < 16; i++) scratch[i] = prefixByte(buf, p, length, i);
  return formatIpv6(scratch, 0);
}
