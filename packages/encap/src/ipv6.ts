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
export const ipv6FlowLabel = (buf: Uint8Array, off: number): number => ((buf[off + 1]! & 0x0f) << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
/** Word `i` (0..3, big-endian uint32) of the source address: a FIB compares these without allocating. */
export const ipv6SrcWord = (buf: Uint8Array, off: number, i: number): number => readU32(buf, off + IPV6_SRC_OFFSET + 4 * i);
/** Word `i` (0..3) of the destination address. */
export const ipv6DstWord = (buf: Uint8Array, off: number, i: number): number => readU32(buf, off + IPV6_DST_OFFSET + 4 * i);

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
  const fields: [string, number, number][] = [['traffic class', h.trafficClass, 0xff], ['flow label', h.flowLabel, 0xfffff],
    ['payload length', h.payloadLength, 0xffff], ['next header', h.nextHeader, 0xff], ['hop limit', h.hopLimit, 0xff]];
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

/** Formats 16 bytes at `offset` in RFC 5952 canonical text (lowercase, longest zero run of 2+ groups as "::"). */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Parses RFC 4291 section 2.2 text forms ("fd00::1", "::ffff:10.0.0.1") into a new 16-byte Buffer. Throws AddressFormatError. */
export function parseIpv6(text: string): Buffer {
  const fail = (at: number): never => { throw new AddressFormatError(text, 'RFC 4291 section 2.2', at); };
  const halves = text.split('::');
  if (halves.length > 2) fail(text.indexOf('::', text.indexOf('::') + 1));
  const groups = (s: string, base: number): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      const at = base + parts.slice(0, i).join(':').length + (i ? 1 : 0);
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = p.split('.').map((x) => (/^\d{1,3}$/.test(x) && Number(x) <= 255 ? Number(x) : fail(at)));
        if (v4.length !== 4) fail(at);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else fail(at);
    });
    return out;
  };
  const head = groups(halves[0]!, 0);
  const tail = halves.length === 2 ? groups(halves[1]!, halves[0]!.length + 2) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) fail(0);
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = Buffer.alloc(IPV6_ADDRESS_LENGTH);
  all.forEach((v, i) => out.writeUInt16BE(v, 2 * i));
  return out;
}
