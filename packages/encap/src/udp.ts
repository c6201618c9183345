// UDP header (RFC 768). weft never writes it on the hot path (the kernel's UDP socket does), but the tunnel's
// offload code, the fixtures and the tests read it.
//
//   0      7 8     15 16    23 24    31
//  +--------+--------+--------+--------+
//  |   Source Port   | Destination Port|
//  +--------+--------+--------+--------+
//  |     Length      |    Checksum     |
//  +--------+--------+--------+--------+
import { FieldRangeError, need, windowEnd } from './errors.ts';

/** 2 source port + 2 destination port + 2 length + 2 checksum. */
export const UDP_HEADER_LENGTH = 8;

const RFC = 'RFC 768';

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Header plus payload, in bytes. */
  length: number;
  /** 0 means "no checksum" over IPv4 (the Linux vxlan driver sends 0 unless `udpcsum` is set). */
  checksum: number;
}

/** Decodes the header at `offset`, reading no further than `offset + length`. Throws TruncatedError. */
export function decodeUdpHeader(buf: Buffer, offset = 0, length?: number): UdpHeader {
  need('UDP header', RFC, UDP_HEADER_LENGTH, offset, windowEnd(buf, offset, length));
  return {
    srcPort: buf.readUInt16BE(offset),
    dstPort: buf.readUInt16BE(offset + 2),
    length: buf.readUInt16BE(offset + 4),
    checksum: buf.readUInt16BE(offset + 6),
  };
}

/** Encodes `h` at `offset`; returns 8. Throws FieldRangeError, TruncatedError. */
export function encodeUdpHeader(h: UdpHeader, buf: Buffer, offset = 0): number {
  need('UDP header', RFC, UDP_HEADER_LENGTH, offset, buf.length);
  const fields: [string, number][] = [
    ['source port', h.srcPort],
    ['destination port', h.dstPort],
    ['length', h.length],
    ['checksum', h.checksum],
  ];
  fields.forEach(([name, v], i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw new FieldRangeError(`UDP ${name}`, v, 0, 0xffff, RFC, offset);
    buf.writeUInt16BE(v, offset + 2 * i);
  });
  return UDP_HEADER_LENGTH;
}
