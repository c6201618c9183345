// Checks shared by every decapsulation: is the inner packet an IP packet whose header agrees with the bytes
// received? Hot path: no allocation, no throw; the verdict is a DropReason.
import { DropReason, type PacketSpan } from './drop.ts';
import { IPV4_HEADER_LENGTH, IPV4_TTL_OFFSET, ipv4DecrementTtl, ipv4HeaderLength, ipv4TotalLength } from './ipv4.ts';
import { IPV6_HEADER_LENGTH, IPV6_HOP_LIMIT_OFFSET, ipv6PayloadLength } from './ipv6.ts';

/**
 * Validates the IP packet at `[offset, offset + length)` and fills `out` with its span, trimmed to the length its
 * header states (trailing bytes are Ethernet padding of short frames). `version` is 4 or 6 when the carrier said
 * which (an EtherType), or 0 to take it from the version nibble (flannel-udp, TUN). Reads only inside the window.
 */
export function checkIpPacket(buf: Uint8Array, offset: number, length: number, version: number, out: PacketSpan): DropReason {
  if (length < 1) return DropReason.TooShort;
  const v = buf[offset]! >> 4;
  if (version === 0 && v !== 4 && v !== 6) return DropReason.NotIp;
  if (version !== 0 && v !== version) return DropReason.BadIpHeader;
  let ipLength: number;
  if (v === 4) {
    if (length < IPV4_HEADER_LENGTH) return DropReason.TooShort;
    ipLength = ipv4TotalLength(buf, offset);
    const hl = ipv4HeaderLength(buf, offset);
    if (hl < IPV4_HEADER_LENGTH || ipLength < hl) return DropReason.BadIpHeader;
  } else {
    if (length < IPV6_HEADER_LENGTH) return DropReason.TooShort;
    ipLength = IPV6_HEADER_LENGTH + ipv6PayloadLength(buf, offset);
  }
  if (ipLength > length) return DropReason.LengthMismatch;
  out.offset = offset;
  out.length = ipLength;
  out.ipVersion = v;
  return DropReason.None;
}

/**
 * What a router does to a packet it forwards (RFC 1812 section 5.3.1; RFC 8200 section 3): drop it when its TTL
 * (hop limit) is 1 or less, otherwise decrement it, patching the IPv4 checksum incrementally (RFC 1624). The
 * packet at `offset` has passed checkIpPacket, so its version is 4 or 6.
 */
export function forwardTtl(buf: Uint8Array, offset: number): DropReason {
  if (buf[offset]! >> 4 === 4) {
    if (buf[offset + IPV4_TTL_OFFSET]! <= 1) return DropReason.TtlExpired;
    ipv4DecrementTtl(buf, offset);
  } else {
    const hop = buf[offset + IPV6_HOP_LIMIT_OFFSET]!;
    if (hop <= 1) return DropReason.TtlExpired;
    buf[offset + IPV6_HOP_LIMIT_OFFSET] = hop - 1;
  }
  return DropReason.None;
}
