// ICMPv6 (RFC 4443): the upper-layer checksum over the IPv6 pseudo-header (RFC 8200 section 8.1), and the two
// errors weft's dataplane sends back into the TUN device: Destination Unreachable when no route matches (as the
// udp backend does for IPv4) and Packet Too Big when a packet does not fit the tunnel (IPv6 routers never fragment).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |          Checksum             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Unused (type 1) / MTU (type 2, RFC 4443 section 3.2)      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  As much of the invoking packet as fits in 1280 bytes in all  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Pseudo-header (RFC 8200 section 8.1): source (16), destination (16), upper-layer length (4), three zero bytes
// and the Next Header value (4). With a Routing header the destination is the final one; weft's own messages have
// none, and checking a received packet with segments left is the caller's business (pass `dstOffset`).
import { onesComplementSum } from './checksum.ts';
import { IpProtocol } from './ipv4.ts';
import { IPV6_ADDRESS_LENGTH, IPV6_DST_OFFSET, IPV6_HEADER_LENGTH, IPV6_SRC_OFFSET } from './ipv6.ts';
import { Ipv6Chain, Ipv6ChainStatus, walkIpv6Chain } from './ipv6-chain.ts';

/** 1 type + 1 code + 2 checksum + 4 type-specific. */
export const ICMPV6_HEADER_LENGTH = 8;
/** RFC 8200 section 5: every IPv6 link carries 1280 bytes; an ICMPv6 error must fit it (RFC 4443 section 2.4 c). */
export const IPV6_MIN_MTU = 1280;
/** Largest error the builders write: 1280 = 40 IPv6 + 8 ICMPv6 + 1232 quoted. */
export const ICMPV6_ERROR_MAX_LENGTH = IPV6_MIN_MTU;

/** ICMPv6 types weft sends or explains (IANA "ICMPv6 Parameters"); below 128 are errors (RFC 4443 section 2.1). */
export enum Icmpv6Type {
  DestUnreachable = 1,
  PacketTooBig = 2,
  TimeExceeded = 3,
  ParameterProblem = 4,
  EchoRequest = 128,
  EchoReply = 129,
  RouterSolicitation = 133,
  RouterAdvertisement = 134,
  NeighborSolicitation = 135,
  NeighborAdvertisement = 136,
  Redirect = 137,
}

/** Destination Unreachable codes (RFC 4443 section 3.1). */
export enum Icmpv6UnreachableCode {
  NoRoute = 0,
  AdminProhibited = 1,
  BeyondScope = 2,
  Address = 3,
  Port = 4,
  SourcePolicyFailed = 5,
  RejectRoute = 6,
}

/**
 * One's complement sum (not yet inverted) of the pseudo-header of the IPv6 packet at `ipOffset`, for an upper-layer
 * message of `upperLength` bytes with protocol `nextHeader`. Reads the source at ipOffset + 8 and the destination
 * at `dstOffset` (default ipOffset + 24). The caller checked that the header is in `buf`.
 */
export function ipv6PseudoHeaderSum(
  buf: Uint8Array,
  ipOffset: number,
  upperLength: number,
  nextHeader: number,
  dstOffset = ipOffset + IPV6_DST_OFFSET,
): number {
  let sum = onesComplementSum(buf, ipOffset + IPV6_SRC_OFFSET, IPV6_ADDRESS_LENGTH);
  sum = onesComplementSum(buf, dstOffset, IPV6_ADDRESS_LENGTH, sum);
  return sum + (upperLength >>> 16) + (upperLength & 0xffff) + nextHeader;
}

/**
 * The Internet checksum of the upper-layer message at `[upperOffset, upperOffset + upperLength)` with the
 * pseudo-header of the IPv6 packet at `ipOffset` (ICMPv6 is protocol 58, UDP 17, TCP 6). To fill a checksum field,
 * zero it first and store the result; to verify one, a correct message gives 0. No allocation; the caller checked
 * every range.
 */
export function ipv6UpperLayerChecksum(
  buf: Uint8Array,
  ipOffset: number,
  upperOffset: number,
  upperLength: number,
  nextHeader: number = IpProtocol.Ipv6Icmp,
  dstOffset = ipOffset + IPV6_DST_OFFSET,
): number {
  const pseudo = ipv6PseudoHeaderSum(buf, ipOffset, upperLength, nextHeader, dstOffset);
  return ~onesComplementSum(buf, upperOffset, upperLength, pseudo) & 0xffff;
}

export interface Icmpv6ErrorOptions {
  /** Hop limit of the error. Default 64. */
  hopLimit?: number;
  /** Cap on the whole error (IPv6 header included), e.g. the room a slot has. 96..1280; default 1280. */
  maxLength?: number;
}

const chain = new Ipv6Chain();

/** Multicast (ff00::/8), unspecified (::) or loopback (::1): not one node a reply could go to (RFC 4443 2.4 e.6). */
function notOneNode(buf: Uint8Array, off: number): boolean {
  if (buf[off] === 0xff) return true;
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15]! <= 1;
}

/**
 * May an error of `type` be sent about the packet whose chain was just walked into `chain`? RFC 4443 section 2.4 e:
 * never about an ICMPv6 error or a Redirect (e.1, e.2; a later fragment of ICMPv6 counts as one, as its type cannot
 * be read), nor to a source that is not one node (e.6); to a multicast destination only Packet Too Big (e.3).
 */
function mayAnswer(pkt: Uint8Array, offset: number, type: number): boolean {
  if (notOneNode(pkt, offset + IPV6_SRC_OFFSET)) return false;
  if (pkt[offset + IPV6_DST_OFFSET] === 0xff && type !== 2) return false;
  if (chain.protocol !== 58) return true;
  if (chain.fragmentOffset !== 0 || chain.offset >= chain.end) return false;
  const icmpType = pkt[chain.offset]!;
  return icmpType >= 128 && icmpType !== 137;
}

/**
 * Writes an ICMPv6 error of `type` and `code` with `param` (the 32-bit field after the checksum) about the IPv6
 * packet at `[offset, offset + length)` into `out` at `outOffset` (not overlapping the packet): an IPv6 header
 * from `src` (16 bytes at `srcOffset`, e.g. the node's address on the flannel interface) to the packet's source,
 * then as much of the packet as fits in min(maxLength, 1280) bytes. Returns the bytes written, or 0 when no error
 * may be sent (see mayAnswer), the packet's header chain does not walk, or `out` lacks room.
 */
function buildIcmpv6Error(
  pkt: Uint8Array,
  offset: number,
  length: number,
  type: number,
  code: number,
  param: number,
  src: Uint8Array,
  srcOffset: number,
  out: Uint8Array,
  outOffset: number,
  opts: Icmpv6ErrorOptions,
): number {
  if (walkIpv6Chain(pkt, offset, length, chain) !== Ipv6ChainStatus.Ok) return 0;
  if (!mayAnswer(pkt, offset, type)) return 0;
  const max = Math.min(opts.maxLength ?? IPV6_MIN_MTU, IPV6_MIN_MTU);
  const quoted = Math.min(chain.end - offset, max - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH);
  if (quoted < IPV6_HEADER_LENGTH) return 0;
  const icmpLength = ICMPV6_HEADER_LENGTH + quoted;
  const o = outOffset;
  if (o < 0 || o + IPV6_HEADER_LENGTH + icmpLength > out.length) return 0;
  out[o] = 0x60;
  out[o + 1] = out[o + 2] = out[o + 3] = 0;
  out[o + 4] = icmpLength >> 8;
  out[o + 5] = icmpLength & 0xff;
  out[o + 6] = 58 satisfies IpProtocol.Ipv6Icmp;
  out[o + 7] = opts.hopLimit ?? 64;
  for (let i = 0; i < IPV6_ADDRESS_LENGTH; i++) {
    out[o + IPV6_SRC_OFFSET + i] = src[srcOffset + i]!;
    out[o + IPV6_DST_OFFSET + i] = pkt[offset + IPV6_SRC_OFFSET + i]!;
  }
  const m = o + IPV6_HEADER_LENGTH;
  out[m] = type;
  out[m + 1] = code;
  out[m + 2] = out[m + 3] = 0;
  out[m + 4] = param >>> 24;
  out[m + 5] = (param >>> 16) & 0xff;
  out[m + 6] = (param >>> 8) & 0xff;
  out[m + 7] = param & 0xff;
  copyBytes(pkt, offset, quoted, out, m + ICMPV6_HEADER_LENGTH);
  const sum = ipv6UpperLayerChecksum(out, o, m, icmpLength);
  out[m + 2] = sum >> 8;
  out[m + 3] = sum & 0xff;
  return IPV6_HEADER_LENGTH + icmpLength;
}

/** Copies with Buffer.copy when it can (no view object): a byte loop took most of a 1 KB error's build time. */
function copyBytes(src: Uint8Array, from: number, n: number, dst: Uint8Array, to: number): void {
  if (Buffer.isBuffer(src)) src.copy(dst, to, from, from + n);
  else dst.set(src.subarray(from, from + n), to);
}

function checkSource(src: Uint8Array, srcOffset: number): void {
  if (srcOffset < 0 || srcOffset + IPV6_ADDRESS_LENGTH > src.length)
    throw new RangeError(`ICMPv6 source address needs 16 bytes at ${srcOffset}, the buffer has ${src.length}`);
}

/**
 * Destination Unreachable (RFC 4443 section 3.1) with `code` (NoRoute for a packet no route matches) about the
 * IPv6 packet at `[offset, offset + length)`, written into `out` at `outOffset` from our address `src` (16 bytes at
 * `srcOffset`). Returns the bytes written (48 + quoted, at most 1280), or 0 when RFC 4443 section 2.4 e forbids an
 * error (about an ICMPv6 error or Redirect, to a multicast destination, from an unspecified, loopback or multicast
 * source), the header chain is malformed, or `out` lacks room. `out` must not overlap the packet. No allocation
 * when `pkt` is a Buffer (one view object otherwise);
 * throws only a RangeError for a `src` shorter than 16 bytes (a caller bug). Rate limiting (section 2.4 f) is the
 * caller's.
 */
export function buildIcmpv6DestUnreachable(
  pkt: Uint8Array,
  offset: number,
  length: number,
  code: Icmpv6UnreachableCode,
  src: Uint8Array,
  out: Uint8Array,
  outOffset: number,
  opts: Icmpv6ErrorOptions = {},
  srcOffset = 0,
): number {
  checkSource(src, srcOffset);
  return buildIcmpv6Error(pkt, offset, length, 1, code, 0, src, srcOffset, out, outOffset, opts);
}

/**
 * Packet Too Big (RFC 4443 section 3.2, code 0) telling the source of the IPv6 packet at `[offset, offset + length)`
 * that `mtu` is the largest packet the next hop takes (the tunnel's inner MTU). As buildIcmpv6DestUnreachable, but
 * it may answer a multicast destination (section 2.4 e.3, for path MTU discovery). Throws RangeError for an `mtu`
 * below 1280 (IPv6 needs that much: the caller's configuration is wrong) or a short `src`.
 */
export function buildIcmpv6PacketTooBig(
  pkt: Uint8Array,
  offset: number,
  length: number,
  mtu: number,
  src: Uint8Array,
  out: Uint8Array,
  outOffset: number,
  opts: Icmpv6ErrorOptions = {},
  srcOffset = 0,
): number {
  if (!Number.isInteger(mtu) || mtu < IPV6_MIN_MTU || mtu > 0xffffffff)
    throw new RangeError(`Packet Too Big MTU ${mtu} is outside ${IPV6_MIN_MTU}..4294967295 (RFC 8200 section 5)`);
  checkSource(src, srcOffset);
  return buildIcmpv6Error(pkt, offset, length, 2, 0, mtu, src, srcOffset, out, outOffset, opts);
}
