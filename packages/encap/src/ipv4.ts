// IPv4 header (RFC 791 section 3.1). Views read single fields at (buf, offset) with no allocation, for the hot
// path; decodeIpv4Header/encodeIpv4Header are the checked pair for everything else.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Identification        |Flags|      Fragment Offset    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                       Source Address                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Destination Address                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Options (IHL > 5)                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Addresses are uint32 numbers (10.244.1.0 is 0x0af40100), which a FIB can mask and compare without allocation.
import { AddressError, formatIpv4 as formatIpv4Text, parseIpv4 as parseIpv4Text } from '@weft/netaddr';
import { internetChecksum, onesComplementSum } from './checksum.ts';
import { AddressFormatError, FieldRangeError, IpHeaderError, need, windowEnd } from './errors.ts';

/** Fixed part of the header: IHL 5 words of 4 bytes. */
export const IPV4_HEADER_LENGTH = 20;
/** IHL is 4 bits: at most 15 words of 4 bytes. */
export const IPV4_MAX_HEADER_LENGTH = 60;
/** Byte offset of the TTL field (word 2, first byte). */
export const IPV4_TTL_OFFSET = 8;
/** Byte offset of the header checksum field. */
export const IPV4_CHECKSUM_OFFSET = 10;

/** IP protocol numbers weft looks at (IANA "Assigned Internet Protocol Numbers"). */
export enum IpProtocol {
  Icmp = 1,
  Tcp = 6,
  Udp = 17,
  Ipv6Icmp = 58,
  Sctp = 132,
}

const RFC = 'RFC 791 section 3.1';

export const ipv4Version = (buf: Uint8Array, off: number): number => buf[off]! >> 4;
/** Header length in bytes: IHL * 4. */
export const ipv4HeaderLength = (buf: Uint8Array, off: number): number => (buf[off]! & 0x0f) << 2;
export const ipv4TotalLength = (buf: Uint8Array, off: number): number => (buf[off + 2]! << 8) | buf[off + 3]!;
/** Fragment offset in 8-byte units (0 for an unfragmented packet or a first fragment). */
export const ipv4FragmentOffset = (buf: Uint8Array, off: number): number =>
  ((buf[off + 6]! & 0x1f) << 8) | buf[off + 7]!;
export const ipv4Ttl = (buf: Uint8Array, off: number): number => buf[off + IPV4_TTL_OFFSET]!;
export const ipv4Protocol = (buf: Uint8Array, off: number): number => buf[off + 9]!;
export const ipv4Src = (buf: Uint8Array, off: number): number => readU32(buf, off + 12);
export const ipv4Dst = (buf: Uint8Array, off: number): number => readU32(buf, off + 16);

/** Big-endian uint32 at `off`, as a non-negative number. */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Writes `v` as a big-endian uint32 at `off`. */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** True when the header checksum verifies (the one's complement sum over the header is 0xffff; RFC 1071). */
export function ipv4ChecksumValid(buf: Uint8Array, off: number): boolean {
  return onesComplementSum(buf, off, ipv4HeaderLength(buf, off)) === 0xffff;
}

/** Computes the header checksum, writes it into the header and returns it. */
export function ipv4UpdateChecksum(buf: Uint8Array, off: number): number {
  buf[off + IPV4_CHECKSUM_OFFSET] = 0;
  buf[off + IPV4_CHECKSUM_OFFSET + 1] = 0;
  const sum = internetChecksum(buf, off, ipv4HeaderLength(buf, off));
  buf[off + IPV4_CHECKSUM_OFFSET] = sum >>> 8;
  buf[off + IPV4_CHECKSUM_OFFSET + 1] = sum & 0xff;
  return sum;
}

/**
 * Decrements the TTL by one and patches the header checksum incrementally (RFC 1624 section 3, eqn. 3):
 * HC' = ~(~HC + ~m + m'). TTL is the high byte of the TTL/Protocol word m, so m' = m - 0x100 and
 * ~m + m' = 0xffff - 0x100 = 0xfeff whatever the protocol: one addition and one end-around carry.
 * Returns the new TTL. The caller drops packets whose TTL is 1 or less first (RFC 1812 section 5.3.1);
 * this function does not check.
 */
export function ipv4DecrementTtl(buf: Uint8Array, off: number): number {
  const c = off + IPV4_CHECKSUM_OFFSET;
  let sum = (~((buf[c]! << 8) | buf[c + 1]!) & 0xffff) + 0xfeff;
  sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  buf[c] = checksum >>> 8;
  buf[c + 1] = checksum & 0xff;
  return --buf[off + IPV4_TTL_OFFSET]!;
}

/** A decoded IPv4 header. `options` is a copy of the option bytes (empty when IHL is 5). */
export interface Ipv4Header {
  dscp: number;
  ecn: number;
  totalLength: number;
  identification: number;
  /** 3 bits: 0b010 = Don't Fragment, 0b001 = More Fragments. */
  flags: number;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  /** As found on decode; on encode, computed when undefined. */
  checksum?: number;
  src: number;
  dst: number;
  options: Buffer;
}

/**
 * Decodes the header at `offset`, reading no further than `offset + length` (default: the buffer's end).
 * Throws TruncatedError, or IpHeaderError for a version other than 4, IHL < 5 or total length < header length.
 * Does not verify the checksum (see ipv4ChecksumValid).
 */
export function decodeIpv4Header(buf: Buffer, offset = 0, length?: number): Ipv4Header {
  const end = windowEnd(buf, offset, length);
  need('IPv4 header', RFC, IPV4_HEADER_LENGTH, offset, end);
  if (ipv4Version(buf, offset) !== 4)
    throw new IpHeaderError(`IP version ${ipv4Version(buf, offset)}, expected 4`, RFC, offset);
  const hl = ipv4HeaderLength(buf, offset);
  if (hl < IPV4_HEADER_LENGTH) throw new IpHeaderError(`IHL ${hl / 4} is below the minimum of 5`, RFC, offset);
  need('IPv4 header with options', RFC, hl, offset, end);
  const totalLength = ipv4TotalLength(buf, offset);
  if (totalLength < hl)
    throw new IpHeaderError(`total length ${totalLength} is shorter than the header (${hl})`, RFC, offset + 2);
  return {
    dscp: buf[offset + 1]! >> 2,
    ecn: buf[offset + 1]! & 3,
    totalLength,
    identification: buf.readUInt16BE(offset + 4),
    flags: buf[offset + 6]! >> 5,
    fragmentOffset: ipv4FragmentOffset(buf, offset),
    ttl: ipv4Ttl(buf, offset),
    protocol: ipv4Protocol(buf, offset),
    checksum: buf.readUInt16BE(offset + IPV4_CHECKSUM_OFFSET),
    src: ipv4Src(buf, offset),
    dst: ipv4Dst(buf, offset),
    options: Buffer.from(buf.subarray(offset + IPV4_HEADER_LENGTH, offset + hl)),
  };
}

function checkRange(field: string, v: number, max: number, offset: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new FieldRangeError(field, v, 0, max, RFC, offset);
}

/** Header length `h` encodes to: 20 + options padded to a multiple of 4. */
export function ipv4HeaderEncodingLength(h: Ipv4Header): number {
  return IPV4_HEADER_LENGTH + ((h.options.length + 3) & ~3);
}

/** Encodes `h` at `offset` and returns the header length. Throws FieldRangeError, TruncatedError. */
export function encodeIpv4Header(h: Ipv4Header, buf: Buffer, offset = 0): number {
  const hl = ipv4HeaderEncodingLength(h);
  if (hl > IPV4_MAX_HEADER_LENGTH)
    throw new FieldRangeError('IPv4 header length', hl, IPV4_HEADER_LENGTH, IPV4_MAX_HEADER_LENGTH, RFC, offset);
  need('IPv4 header', RFC, hl, offset, buf.length);
  const fields: [string, number, number][] = [
    ['DSCP', h.dscp, 0x3f],
    ['ECN', h.ecn, 3],
    ['total length', h.totalLength, 0xffff],
    ['identification', h.identification, 0xffff],
    ['flags', h.flags, 7],
    ['fragment offset', h.fragmentOffset, 0x1fff],
    ['TTL', h.ttl, 0xff],
    ['protocol', h.protocol, 0xff],
    ['source', h.src, 0xffffffff],
    ['destination', h.dst, 0xffffffff],
  ];
  for (const [name, v, max] of fields) checkRange(name, v, max, offset);
  buf[offset] = 0x40 | (hl >> 2);
  buf[offset + 1] = (h.dscp << 2) | h.ecn;
  buf.writeUInt16BE(h.totalLength, offset + 2);
  buf.writeUInt16BE(h.identification, offset + 4);
  buf.writeUInt16BE((h.flags << 13) | h.fragmentOffset, offset + 6);
  buf[offset + IPV4_TTL_OFFSET] = h.ttl;
  buf[offset + 9] = h.protocol;
  writeU32(buf, offset + 12, h.src);
  writeU32(buf, offset + 16, h.dst);
  buf.fill(0, offset + IPV4_HEADER_LENGTH, offset + hl);
  h.options.copy(buf, offset + IPV4_HEADER_LENGTH);
  if (h.checksum === undefined) ipv4UpdateChecksum(buf, offset);
  else buf.writeUInt16BE(h.checksum & 0xffff, offset + IPV4_CHECKSUM_OFFSET);
  return hl;
}

/** Formats a uint32 address as a dotted quad (@weft/netaddr's formatIpv4). */
export const formatIpv4 = formatIpv4Text;

/**
 * Parses a dotted quad ("10.244.1.0") into a uint32 with @weft/netaddr's rules (four decimal octets, no leading
 * zeros). Throws AddressFormatError at the character where the text goes wrong.
 */
export function parseIpv4(text: string): number {
  try {
    return parseIpv4Text(text);
  } catch (e) {
    if (e instanceof AddressError) throw new AddressFormatError(text, 'RFC 791 section 3.2', e.position);
    throw e;
  }
}
