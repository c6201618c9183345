// Multiprotocol attributes (RFC 4760 §3-§4): how IPv6 (and any non-IPv4-unicast family) rides in UPDATE.
//
// MP_REACH_NLRI (type 14):                        MP_UNREACH_NLRI (type 15):
//   +---------------------------------------+       +---------------------------------------+
//   | AFI (2) | SAFI (1)                    |       | AFI (2) | SAFI (1)                    |
//   +---------------------------------------+       +---------------------------------------+
//   | Length of Next Hop Address (1)        |       | Withdrawn Routes (variable)           |
//   +---------------------------------------+       +---------------------------------------+
//   | Next Hop Address (variable)           |
//   +---------------------------------------+
//   | Reserved (1, was SNPA count; 0)       |
//   +---------------------------------------+
//   | NLRI (variable, prefix.ts encoding)   |
//   +---------------------------------------+
//
// IPv6 next hop (RFC 2545 §3): 16 bytes global, or 32 bytes global + link-local (BIRD sends 32 on a shared link).
// IPv4 unicast may carry an IPv6 next hop too (RFC 8950 §3: 16 or 32 bytes, told apart from IPv4's 4 by the
// length); whether the session negotiated that is the speaker's check (families.ts).
// An empty MP_UNREACH for a family is that family's End-of-RIB marker (RFC 4724 §2).
// RFC 7606 §7.11: any malformation here resets the session (we do not implement AFI/SAFI disable).
import { Afi, AttrType, Safi, type MpReachAttribute, type MpUnreachAttribute, type Prefix } from '../types.ts';
import { addrBytes, decodePrefixes, formatAddr, prefixEncodingLength, encodePrefix, writeAddr } from './prefix.ts';
import { copyBytes } from './bytes.ts';

/** Thrown by the MP value decoders; attributes.ts turns it into a session-reset UPDATE error. */
export class MpSyntaxError extends Error {
  override readonly name = 'MpSyntaxError';
}

/** True for the families whose NLRI we decode: IPv4 and IPv6 unicast. */
export function isSupportedFamily(afi: number, safi: number): afi is Afi {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && safi === Safi.Unicast;
}

/** The family of the next hop: IPv6 for IPv6 routes, and for IPv4 routes with an IPv6 next hop (RFC 8950). */
function nextHopAfi(a: MpReachAttribute): Afi {
  return a.afi === Afi.Ipv4 && !a.nextHop.includes(':') ? Afi.Ipv4 : Afi.Ipv6;
}

function nextHopLength(a: MpReachAttribute): number {
  if (nextHopAfi(a) === Afi.Ipv4) return 4;
  return a.linkLocalNextHop !== undefined ? 32 : 16;
}

/**
 * Writes the AFI (2 bytes) and SAFI (1) at `offset`, then, for a family we do not decode, the rest of the value
 * as it was received (`raw`). Returns the bytes written: 3, plus raw's length.
 */
function encodeFamily(a: MpReachAttribute | MpUnreachAttribute, buf: Uint8Array, offset: number): number {
  buf[offset] = a.afi >> 8;
  buf[offset + 1] = a.afi & 0xff;
  buf[offset + 2] = a.safi;
  if (!a.raw) return 3;
  buf.set(a.raw, offset + 3);
  return 3 + a.raw.length;
}

/** Bytes of the MP_REACH_NLRI value. */
export function mpReachValueLength(a: MpReachAttribute): number {
  if (a.raw) return 3 + a.raw.length;
  let n = 3 + 1 + nextHopLength(a) + 1;
  for (const p of a.nlri) n += prefixEncodingLength(p);
  return n;
}

/** Encodes the MP_REACH_NLRI value at `offset`; returns bytes written. Throws TypeError on a bad next hop text. */
export function encodeMpReachValue(a: MpReachAttribute, buf: Uint8Array, offset: number): number {
  const head = encodeFamily(a, buf, offset);
  if (a.raw) return head;
  const nhAfi = nextHopAfi(a);
  buf[offset + 3] = nextHopLength(a);
  let off = offset + 4 + writeAddr(nhAfi, a.nextHop, buf, offset + 4);
  if (a.linkLocalNextHop !== undefined && nhAfi === Afi.Ipv6) off += writeAddr(nhAfi, a.linkLocalNextHop, buf, off);
  buf[off++] = 0; // reserved
  for (const p of a.nlri) off += encodePrefix(p, buf, off);
  return off - offset;
}

/**
 * Decodes an MP_REACH_NLRI value in `buf[start, start+len)`. Throws MpSyntaxError when it is shorter than its fixed
 * part, the next hop length is wrong for the family (4, 16 or 32 for IPv4; 16 or 32 for IPv6) or overruns, or a
 * prefix is bad.
 */
export function decodeMpReachValue(buf: Uint8Array, start: number, len: number): MpReachAttribute {
  if (len < 5) throw new MpSyntaxError(`MP_REACH_NLRI of ${len} bytes`); // AFI 2 + SAFI 1 + NH len 1 + reserved 1
  const end = start + len;
  const afi = (buf[start]! << 8) | buf[start + 1]!;
  const safi = buf[start + 2]!;
  if (!isSupportedFamily(afi, safi)) {
    return { type: AttrType.MpReachNlri, afi, safi, nextHop: '', nlri: [], raw: copyBytes(buf, start + 3, end) };
  }
  const nhLen = buf[start + 3]!;
  if (nhLen !== addrBytes(afi) && nhLen !== 16 && nhLen !== 32)
    throw new MpSyntaxError(`next hop length ${nhLen} for AFI ${afi}`);
  const nhAfi = nhLen === 4 ? Afi.Ipv4 : Afi.Ipv6; // 16/32 with AFI 1: RFC 8950 §3
  const nh = start + 4;
  if (nh + nhLen + 1 > end) throw new MpSyntaxError('next hop overruns MP_REACH_NLRI');
  const nextHop = formatAddr(nhAfi, buf, nh);
  const attr: MpReachAttribute = { type: AttrType.MpReachNlri, afi, safi, nextHop, nlri: [] };
  if (nhLen === 32) attr.linkLocalNextHop = formatAddr(nhAfi, buf, nh + 16);
  decodeMpPrefixes(afi, buf, nh + nhLen + 1, end, attr.nlri);
  return attr;
}

/** Bytes of the MP_UNREACH_NLRI value. */
export function mpUnreachValueLength(a: MpUnreachAttribute): number {
  if (a.raw) return 3 + a.raw.length;
  let n = 3;
  for (const p of a.withdrawn) n += prefixEncodingLength(p);
  return n;
}

/** Encodes the MP_UNREACH_NLRI value at `offset`; returns bytes written. */
export function encodeMpUnreachValue(a: MpUnreachAttribute, buf: Uint8Array, offset: number): number {
  let off = offset + encodeFamily(a, buf, offset);
  if (!a.raw) for (const p of a.withdrawn) off += encodePrefix(p, buf, off);
  return off - offset;
}

/** Decodes an MP_UNREACH_NLRI value in `buf[start, start+len)`. Throws MpSyntaxError (short, or a bad prefix). */
export function decodeMpUnreachValue(buf: Uint8Array, start: number, len: number): MpUnreachAttribute {
  if (len < 3) throw new MpSyntaxError(`MP_UNREACH_NLRI of ${len} bytes`); // AFI 2 + SAFI 1
  const afi = (buf[start]! << 8) | buf[start + 1]!;
  const safi = buf[start + 2]!;
  if (!isSupportedFamily(afi, safi)) {
    return { type: AttrType.MpUnreachNlri, afi, safi, withdrawn: [], raw: copyBytes(buf, start + 3, start + len) };
  }
  const attr: MpUnreachAttribute = { type: AttrType.MpUnreachNlri, afi, safi, withdrawn: [] };
  decodeMpPrefixes(afi, buf, start + 3, start + len, attr.withdrawn);
  return attr;
}

function decodeMpPrefixes(afi: Afi, buf: Uint8Array, start: number, end: number, out: Prefix[]): void {
  try {
    decodePrefixes(afi, buf, start, end, out);
  } catch (e) {
    throw new MpSyntaxError(`bad NLRI: ${(e as Error).message}`);
  }
}
