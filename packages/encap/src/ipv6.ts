// IPv6 fixed header (RFC 8200 section 3). Views for the hot path; a checked decode/encode pair for the rest.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Source Address (128 bits)                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |              Destination Address (128 bits)                   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IPv6 has no header checksum, so decrementing the hop limit is a single byte store.
import { AddressError, formatIpv6Bytes, parseIpv6 as parseIpv6Text, writeIpv6Bytes } from '@weft/netaddr';
import { AddressFormatError, FieldRangeError, IpHeaderError, need, windowEnd } from './errors.ts';
import { readU32 } from './ipv4.ts';

/** Fixed header: 4 (version, class, label) + 2 payload length + 1 next header + 1 hop limit + 16 src + 16 dst. */
export const IPV6_HEADER_LENGTH = 40;
export const IPV6_HOP_LIMIT_OFFSET = 7;
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;
/** Octets in an IPv6 address. */
export const IPV6_ADDRESS_LENGTH = 16;

const RFC = 'RFC 8200 section 3';

export const ipv6PayloadLength = (buf: Uint8Array, off: number): number => (buf[off + 4]! << 8) | buf[off + 5]!;
export const ipv6NextHeader = (buf: Uint8Array, off: number): number => buf[off + 6]!;
export const ipv6HopLimit = (buf: Uint8Array, off: number): number => buf[off + IPV6_HOP_LIMIT_OFFSET]!;
export const ipv6FlowLabel = (buf: Uint8Array, off: number): number =>
  ((buf[off + 1]! & 0x0f) << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
/** Word `i` (0..3, big-endian uint32) of the source address: a FIB compares these without allocating. */
export const ipv6SrcWord = (buf: Uint8Array, off: number, i: number): number =>
  readU32(buf, off + IPV6_SRC_OFFSET + 4 * i);
/** Word `i` (0..3) of the destination address. */
export const ipv6DstWord = (buf: Uint8Array, off: number, i: number): number =>
  readU32(buf, off + IPV6_DST_OFFSET + 4 * i);

/** A decoded IPv6 fixed header; addresses are 16-byte copies. */
export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Buffer;
  dst: Buffer;
}

/** Decodes the fixed header at `offset`, reading no further than `offset + length`. Throws TruncatedError, IpHeaderError. */
export function decodeIpv6Header(buf: Buffer, offset = 0, length?: number): Ipv6Header {
  need('IPv6 header', RFC, IPV6_HEADER_LENGTH, offset, windowEnd(buf, offset, length));
  if (buf[offset]! >> 4 !== 6) throw new IpHeaderError(`IP version ${buf[offset]! >> 4}, expected 6`, RFC, offset);
  return {
    trafficClass: ((buf[offset]! & 0x0f) << 4) | (buf[offset + 1]! >> 4),
    flowLabel: ipv6FlowLabel(buf, offset),
    payloadLength: ipv6PayloadLength(buf, offset),
    nextHeader: ipv6NextHeader(buf, offset),
    hopLimit: ipv6HopLimit(buf, offset),
    src: Buffer.from(buf.subarray(offset + IPV6_SRC_OFFSET, offset + IPV6_DST_OFFSET)),
    dst: Buffer.from(buf.subarray(offset + IPV6_DST_OFFSET, offset + IPV6_HEADER_LENGTH)),
  };
}

/** Encodes `h` at `offset`; returns 40. Throws FieldRangeError, TruncatedError. */
export function encodeIpv6Header(h: Ipv6Header, buf: Buffer, offset = 0): number {
  need('IPv6 header', RFC, IPV6_HEADER_LENGTH, offset, buf.length);
  const fields: [string, number, number][] = [
    ['traffic class', h.trafficClass, 0xff],
    ['flow label', h.flowLabel, 0xfffff],
    ['payload length', h.payloadLength, 0xffff],
    ['next header', h.nextHeader, 0xff],
    ['hop limit', h.hopLimit, 0xff],
  ];
  for (const [name, v, max] of fields) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new FieldRangeError(name, v, 0, max, RFC, offset);
  }
  for (const a of [h.src, h.dst]) {
    if (a.length !== IPV6_ADDRESS_LENGTH) throw new FieldRangeError('address length', a.length, 16, 16, RFC, offset);
  }
  buf[offset] = 0x60 | (h.trafficClass >> 4);
  buf[offset + 1] = ((h.trafficClass & 0x0f) << 4) | (h.flowLabel >> 16);
  buf.writeUInt16BE(h.flowLabel & 0xffff, offset + 2);
  buf.writeUInt16BE(h.payloadLength, offset + 4);
  buf[offset + 6] = h.nextHeader;
  buf[offset + IPV6_HOP_LIMIT_OFFSET] = h.hopLimit;
  h.src.copy(buf, offset + IPV6_SRC_OFFSET);
  h.dst.copy(buf, offset + IPV6_DST_OFFSET);
  return IPV6_HEADER_LENGTH;
}

/**
 * Formats 16 bytes at `offset` as RFC 5952 text (@weft/netaddr's formatIpv6Bytes: lowercase, longest zero run of 2+
 * groups as "::", IPv4-mapped addresses with a dotted tail). Throws RangeError when fewer than 16 bytes remain.
 */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  return formatIpv6Bytes(buf, offset);
}

/** Parses RFC 4291 section 2.2 text ("fd00::1", "::ffff:10.0.0.1") into a new 16-byte Buffer. Throws AddressFormatError. */
export function parseIpv6(text: string): Buffer {
  const out = Buffer.alloc(IPV6_ADDRESS_LENGTH);
  try {
    writeIpv6Bytes(parseIpv6Text(text), out, 0);
  } catch (e) {
    if (e instanceof AddressError) throw new AddressFormatError(text, 'RFC 4291 section 2.2', e.position);
    throw e;
  }
  return out;
}
