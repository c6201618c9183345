// ICMPv4 Destination Unreachable (RFC 792), which flanneld's udp backend sends back into the TUN device when no
// route matches a packet (send_net_unreachable), and which weft also uses for "fragmentation needed" (RFC 1191)
// when a DF packet does not fit the tunnel.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   Type (3)    |     Code      |          Checksum             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      unused (0)               |  Next-Hop MTU (code 4 only)   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      Internet Header + 64 bits of Original Data Datagram      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { DropReason, PacketSpan } from './drop.ts';
import { internetChecksum } from './checksum.ts';
import { checkIpPacket } from './inner.ts';
import {
  IPV4_HEADER_LENGTH,
  IpProtocol,
  ipv4FragmentOffset,
  ipv4HeaderLength,
  ipv4Src,
  ipv4Dst,
  ipv4UpdateChecksum,
  writeU32,
} from './ipv4.ts';

/** 1 type + 1 code + 2 checksum + 4 rest-of-header. */
export const ICMP_HEADER_LENGTH = 8;
/** RFC 792: the original IP header plus the first 64 bits (8 bytes) of its data are quoted. */
export const ICMP_QUOTED_DATA_LENGTH = 8;

export enum Icmpv4Type {
  EchoReply = 0,
  DestUnreachable = 3,
  SourceQuench = 4,
  Redirect = 5,
  EchoRequest = 8,
  TimeExceeded = 11,
  ParameterProblem = 12,
}

/** Destination Unreachable codes (RFC 792; 4 per RFC 1191; 13 per RFC 1812). */
export enum Icmpv4UnreachableCode {
  Net = 0,
  Host = 1,
  Protocol = 2,
  Port = 3,
  FragmentationNeeded = 4,
  AdminProhibited = 13,
}

const ERROR_TYPES = new Set<number>([
  Icmpv4Type.DestUnreachable,
  Icmpv4Type.SourceQuench,
  Icmpv4Type.Redirect,
  Icmpv4Type.TimeExceeded,
  Icmpv4Type.ParameterProblem,
]);

/** An address that names no single host as a source or destination (0/8, 127/8, 224/4 multicast, 240/4 incl. broadcast). */
function notUnicast(a: number): boolean {
  const first = a >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

export interface Icmpv4ErrorOptions {
  /** TTL of the ICMP packet (flanneld uses 8). Default 64. */
  ttl?: number;
  /** Code 4 only: the MTU the packet must fit (RFC 1191 section 4). */
  nextHopMtu?: number;
}

const span = new PacketSpan();

/**
 * Writes an ICMPv4 Destination Unreachable about the IPv4 packet at `[offset, offset + length)` into `out` at
 * `outOffset` (which must not overlap the packet): an IPv4 header from `src` (uint32, e.g. our flannel0 address)
 * to the packet's source, the ICMP header with `code`, and the packet's IP header plus 8 bytes of its data.
 * Returns the bytes written, or 0 when no error may be sent (RFC 1812 section 4.3.2.7: about an ICMP error, a
 * non-first fragment, a source or destination that is not one unicast host) or the packet is not valid IPv4.
 * `out` needs room for 20 + 8 + 60 + 8 = 96 bytes at most. No allocation, no throw.
 */
export function buildIcmpv4DestUnreachable(
  pkt: Uint8Array,
  offset: number,
  length: number,
  code: number,
  src: number,
  out: Uint8Array,
  outOffset: number,
  opts: Icmpv4ErrorOptions = {},
): number {
  if (checkIpPacket(pkt, offset, length, 4, span) !== DropReason.None) return 0;
  const hl = ipv4HeaderLength(pkt, offset);
  const proto = pkt[offset + 9]!;
  if (proto === IpProtocol.Icmp && (span.length <= hl || ERROR_TYPES.has(pkt[offset + hl]!))) return 0;
  if (ipv4FragmentOffset(pkt, offset) !== 0 || notUnicast(ipv4Src(pkt, offset)) || notUnicast(ipv4Dst(pkt, offset)))
    return 0;
  const quoted = hl + Math.min(ICMP_QUOTED_DATA_LENGTH, span.length - hl);
  const icmpLength = ICMP_HEADER_LENGTH + quoted;
  const total = IPV4_HEADER_LENGTH + icmpLength;
  if (outOffset < 0 || outOffset + total > out.length) return 0;
  const o = outOffset;
  out.fill(0, o, o + IPV4_HEADER_LENGTH + ICMP_HEADER_LENGTH);
  out[o] = 0x45;
  out[o + 2] = total >> 8;
  out[o + 3] = total & 0xff;
  out[o + 8] = opts.ttl ?? 64;
  out[o + 9] = IpProtocol.Icmp;
  writeU32(out, o + 12, src);
  writeU32(out, o + 16, ipv4Src(pkt, offset));
  ipv4UpdateChecksum(out, o);
  const icmp = o + IPV4_HEADER_LENGTH;
  out[icmp] = Icmpv4Type.DestUnreachable;
  out[icmp + 1] = code;
  if (code === Icmpv4UnreachableCode.FragmentationNeeded && opts.nextHopMtu !== undefined) {
    out[icmp + 6] = (opts.nextHopMtu >> 8) & 0xff;
    out[icmp + 7] = opts.nextHopMtu & 0xff;
  }
  for (let i = 0; i < quoted; i++) out[icmp + ICMP_HEADER_LENGTH + i] = pkt[offset + i]!;
  const sum = internetChecksum(out, icmp, icmpLength);
  out[icmp + 2] = sum >> 8;
  out[icmp + 3] = sum & 0xff;
  return total;
}
