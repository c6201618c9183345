// The IPv6 header chain (RFC 8200 section 4): the extension headers between the fixed header and the upper-layer
// header. Anti-spoofing and the ICMPv6 error builder need the upper-layer protocol and where it starts; explain
// needs every header on the way.
//
// Generic layout (Hop-by-Hop 0, Routing 43, Destination Options 60, and the later ones RFC 7045 lists):
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |  Hdr Ext Len  |  (8 * (Hdr Ext Len + 1)) - 2 bytes of data ...
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Fragment (44), RFC 8200 section 4.5, always 8 bytes:
//  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//  |                         Identification                        |
// Authentication Header (51), RFC 4302 section 2: Payload Len is in 4-byte units minus 2.
//
// Design notes
// - One walker for both uses: the hot path passes a preallocated Ipv6Chain and gets a status code back (no
//   allocation, no throw); decodeIpv6Chain passes a list to collect each header and turns a bad status into an
//   Ipv6ChainError.
// - The walk ends at ESP (50, encrypted: nothing after it can be read), No Next Header (59), or any protocol that is
//   not an extension header. A non-first fragment ends it too: what follows its Fragment header is data, not a header.
// - Chains are bounded twice: every header moves the cursor forward by 8 bytes at least, and at most
//   IPV6_MAX_EXTENSION_HEADERS are walked (RFC 8200 section 4.1 orders at most 7, Destination Options twice).
import { EncapError } from './errors.ts';
import { IPV6_HEADER_LENGTH, ipv6PayloadLength } from './ipv6.ts';

/** Next Header values of the extension headers (IANA "IPv6 Extension Header Types") and the two chain ends. */
export enum Ipv6NextHeader {
  HopByHop = 0,
  Routing = 43,
  Fragment = 44,
  Esp = 50,
  Ah = 51,
  NoNextHeader = 59,
  DestinationOptions = 60,
  Mobility = 135,
  Hip = 139,
  Shim6 = 140,
  Experiment1 = 253,
  Experiment2 = 254,
}

/** How a walk ended. Only Ok fills the whole Ipv6Chain. */
export enum Ipv6ChainStatus {
  Ok = 0,
  /** Fewer than 40 bytes, or a version nibble other than 6 (RFC 8200 section 3). */
  NotIpv6 = 1,
  /** Payload Length says more bytes than the window holds (RFC 8200 section 3). */
  LengthMismatch = 2,
  /** An extension header runs past the end of the packet (RFC 8200 section 4; RFC 7112 section 5). */
  Truncated = 3,
  /** More than IPV6_MAX_EXTENSION_HEADERS headers: a repeating or hostile chain. */
  TooManyHeaders = 4,
  /** Hop-by-Hop Options anywhere but right after the fixed header (RFC 8200 section 4.3). */
  MisplacedHopByHop = 5,
}

/** Metric labels of the statuses, indexed by code. */
export const IPV6_CHAIN_STATUS_NAMES: readonly string[] = Object.freeze([
  'ok',
  'not_ipv6',
  'length_mismatch',
  'truncated_extension_header',
  'too_many_extension_headers',
  'misplaced_hop_by_hop',
]);

/** Most extension headers walked before the chain is refused. */
export const IPV6_MAX_EXTENSION_HEADERS = 8;
/** Fragment header: 1 next header + 1 reserved + 2 offset/flags + 4 identification. */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;

const RFC = 'RFC 8200 section 4';

/**
 * Result of a walk, preallocated by the caller and reused. After Ok: `protocol` is the upper-layer protocol (or 50,
 * 59), `offset` where its header starts (for a non-first fragment: where the fragment's data starts), `end` the
 * packet's end by its Payload Length. After a failure, `offset` is where the walk stopped.
 */
export class Ipv6Chain {
  protocol = 0;
  offset = 0;
  end = 0;
  /** Extension headers walked. */
  headerCount = 0;
  /** True when a Fragment header was seen; the three fields after it are its values. */
  fragmented = false;
  /** Fragment offset in bytes (the field counts 8-byte units). Non-zero: the upper-layer header is not here. */
  fragmentOffset = 0;
  moreFragments = false;
  fragmentId = 0;
}

/** One extension header as decodeIpv6Chain lists it. */
export interface Ipv6ExtensionHeader {
  /** Its type: the Next Header value that announced it. */
  type: number;
  /** Absolute offset in the buffer, and its length in bytes. */
  offset: number;
  length: number;
}

/** A whole chain: the headers in order, and where the upper layer is (as in Ipv6Chain). */
export interface Ipv6ChainInfo {
  headers: Ipv6ExtensionHeader[];
  protocol: number;
  offset: number;
  end: number;
  fragment?: { offset: number; more: boolean; id: number };
}

/** A chain that cannot be walked. `status` is the hot path's code for the same failure. Drop the packet. */
export class Ipv6ChainError extends EncapError {
  override name = 'Ipv6ChainError';
  constructor(
    readonly status: Ipv6ChainStatus,
    offset: number,
  ) {
    super(`IPv6 header chain: ${IPV6_CHAIN_STATUS_NAMES[status]} at offset ${offset} (${RFC})`, offset);
  }
}

/** True for Next Header values that announce an extension header this walker steps over. */
export function isIpv6ExtensionHeader(nh: number): boolean {
  return (
    nh === 0 || nh === 43 || nh === 44 || nh === 51 || nh === 60 || nh === 135 || nh === 139 || nh === 140 || nh >= 253
  );
}

/** Bytes of the extension header of type `nh` at `p` (its length field read; the caller checked 2 bytes exist). */
function extensionLength(buf: Uint8Array, p: number, nh: number): number {
  if (nh === 44) return IPV6_FRAGMENT_HEADER_LENGTH;
  if (nh === 51) return (buf[p + 1]! + 2) * 4; // RFC 4302 section 2.2
  return (buf[p + 1]! + 1) * 8; // RFC 8200 section 4.3
}

/**
 * Walks the chain of the IPv6 packet at `[offset, offset + length)` and fills `out`. Returns Ok or the failure;
 * reads only inside the window and inside the packet's Payload Length, never allocates, never throws. With
 * `headers`, also pushes each header as [type, offset, length] (decodeIpv6Chain's use; leave it out in the hot path).
 */
export function walkIpv6Chain(
  buf: Uint8Array,
  offset: number,
  length: number,
  out: Ipv6Chain,
  headers?: number[],
): Ipv6ChainStatus {
  out.offset = offset;
  out.headerCount = 0;
  out.fragmented = false;
  const limit = Math.min(offset + length, buf.length);
  if (offset < 0 || limit - offset < IPV6_HEADER_LENGTH || buf[offset]! >> 4 !== 6)
    return 1 satisfies Ipv6ChainStatus.NotIpv6;
  const end = offset + IPV6_HEADER_LENGTH + ipv6PayloadLength(buf, offset);
  if (end > limit) return 2 satisfies Ipv6ChainStatus.LengthMismatch;
  out.end = end;
  let nh = buf[offset + 6]!;
  let p = offset + IPV6_HEADER_LENGTH;
  while (isIpv6ExtensionHeader(nh)) {
    out.offset = p;
    if (nh === 0 && out.headerCount > 0) return 5 satisfies Ipv6ChainStatus.MisplacedHopByHop;
    if (out.headerCount === IPV6_MAX_EXTENSION_HEADERS) return 4 satisfies Ipv6ChainStatus.TooManyHeaders;
    if (end - p < 2) return 3 satisfies Ipv6ChainStatus.Truncated;
    const len = extensionLength(buf, p, nh);
    if (end - p < len) return 3 satisfies Ipv6ChainStatus.Truncated;
    headers?.push(nh, p, len);
    out.headerCount++;
    if (nh === 44 && readFragment(buf, p, out) !== 0) {
      nh = buf[p]!;
      p += len;
      break; // a later fragment: the rest is data
    }
    nh = buf[p]!;
    p += len;
  }
  out.protocol = nh;
  out.offset = p;
  return 0 satisfies Ipv6ChainStatus.Ok;
}

/** Reads the Fragment header at `p` into `out`; returns its offset in bytes. */
function readFragment(buf: Uint8Array, p: number, out: Ipv6Chain): number {
  const word = (buf[p + 2]! << 8) | buf[p + 3]!;
  out.fragmented = true;
  out.fragmentOffset = word & 0xfff8; // 13 bits of 8-byte units, already in place as bytes
  out.moreFragments = (word & 1) === 1;
  out.fragmentId = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
  return out.fragmentOffset;
}

/**
 * The checked form of walkIpv6Chain, for tools and tests: every extension header of the IPv6 packet at
 * `[offset, offset + length)` (default: to the buffer's end) and the upper layer. Throws Ipv6ChainError.
 */
export function decodeIpv6Chain(buf: Uint8Array, offset = 0, length = buf.length - offset): Ipv6ChainInfo {
  const chain = new Ipv6Chain();
  const flat: number[] = [];
  const status = walkIpv6Chain(buf, offset, length, chain, flat);
  if (status !== Ipv6ChainStatus.Ok) throw new Ipv6ChainError(status, chain.offset);
  const headers: Ipv6ExtensionHeader[] = [];
  for (let i = 0; i < flat.length; i += 3) headers.push({ type: flat[i]!, offset: flat[i + 1]!, length: flat[i + 2]! });
  const info: Ipv6ChainInfo = { headers, protocol: chain.protocol, offset: chain.offset, end: chain.end };
  if (chain.fragmented)
    info.fragment = { offset: chain.fragmentOffset, more: chain.moreFragments, id: chain.fragmentId };
  return info;
}
