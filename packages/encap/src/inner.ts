// Checks shared by every decapsulation: is the inner packet an IP packet whose header agrees with the bytes
// received? Hot path: no allocation, no throw; the verdict is a DropReason (written as checked literals, see
// drop.ts).
import { DropReason, type PacketSpan } from './drop.ts';
import { IPV4_HEADER_LENGTH, IPV4_TTL_OFFSET, ipv4DecrementTtl, ipv4HeaderLength, ipv4TotalLength } from './ipv4.ts';
import { IPV6_HEADER_LENGTH, IPV6_HOP_LIMIT_OFFSET, ipv6PayloadLength } from './ipv6.ts';

/**
 * Validates the IP packet at `[offset, offset + length)` and fills `out` with its span, trimmed to the length its
 * header states (trailing bytes are Ethernet padding of short frames). `version` is 4 or 6 when the carrier said
 * which (an EtherType), or 0 to take it from the version nibble (flannel-udp, TUN). With `forward`, also does what
 * a router does to a packet it forwards (RFC 1812 section 5.3.1; RFC 8200 section 3): drops it when its TTL (hop
 * limit) is 1 or less, otherwise decrements it, patching the IPv4 checksum incrementally (RFC 1624); a dropped
 * packet is left unchanged. Reads and writes only inside the window; no allocation, no throw.
 *
 * One function rather than a check and a forward step: the hot loops inline it whole, and measured composed
 * helpers ran ~2x slower (bench/encap.bench.ts).
 */
export function checkIpPacket(
  buf: Uint8Array,
  offset: number,
  length: number,
  version: number,
  out: PacketSpan,
  forward = false,
): DropReason {
  if (length < 1) return 1 satisfies DropReason.TooShort;
  const v = buf[offset]! >> 4;
  if (version === 0 && v !== 4 && v !== 6) return 4 satisfies DropReason.NotIp;
  if (version !== 0 && v !== version) return 5 satisfies DropReason.BadIpHeader;
  let ipLength: number;
  if (v === 4) {
    if (length < IPV4_HEADER_LENGTH) return 1 satisfies DropReason.TooShort;
    ipLength = ipv4TotalLength(buf, offset);
    const hl = ipv4HeaderLength(buf, offset);
    if (hl < IPV4_HEADER_LENGTH || ipLength < hl) return 5 satisfies DropReason.BadIpHeader;
    if (ipLength > length) return 6 satisfies DropReason.LengthMismatch;
    if (forward) {
      if (buf[offset + IPV4_TTL_OFFSET]! <= 1) return 7 satisfies DropReason.TtlExpired;
      ipv4DecrementTtl(buf, offset);
    }
  } else {
    if (length < IPV6_HEADER_LENGTH) return 1 satisfies DropReason.TooShort;
    ipLength = IPV6_HEADER_LENGTH + ipv6PayloadLength(buf, offset);
    if (ipLength > length) return 6 satisfies DropReason.LengthMismatch;
    if (forward) {
      const hop = buf[offset + IPV6_HOP_LIMIT_OFFSET]!;
      if (hop <= 1) return 7 satisfies DropReason.TtlExpired;
      buf[offset + IPV6_HOP_LIMIT_OFFSET] = hop - 1;
    }
  }
  out.offset = offset;
  out.length = ipLength;
  out.ipVersion = v;
  return 0 satisfies DropReason.None;
}
