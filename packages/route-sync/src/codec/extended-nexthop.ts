// The Extended Next Hop Encoding capability (code 5, RFC 8950 §4, which obsoletes RFC 5549): a speaker takes
// NLRI of one family with a next hop of another, here IPv4 unicast routes with an IPv6 next hop, so an IPv6-only
// session can carry IPv4 routes. The capability travels as an UnrecognizedCapability (code 5, raw value); these
// helpers build and read its value.
//
//   +--------------------------------------------------------+
//   | NLRI AFI (2) | NLRI SAFI (2) | Nexthop AFI (2)         |  repeated, 6 octets each
//   +--------------------------------------------------------+
//
// Used only when both OPENs list <IPv4, unicast, IPv6> (RFC 8950 §4: "only if" the peer advertised it); then an
// IPv4 route may go in MP_REACH_NLRI (AFI 1) with a 16- or 32-octet IPv6 next hop (§3).
import { Afi, CapabilityCode, OpenErrorSubcode, Safi, type Capability, type OpenMessage } from '../types.ts';
import { openError } from './errors.ts';

/** One <NLRI AFI, NLRI SAFI, Nexthop AFI> triple of the capability. */
export interface ExtendedNextHopFamily {
  afi: number;
  safi: number;
  nextHopAfi: number;
}

const TRIPLE_LENGTH = 6;

/** Bytes of the capability value for `families`. */
export function extendedNextHopValueLength(families: readonly ExtendedNextHopFamily[]): number {
  return TRIPLE_LENGTH * families.length;
}

/** Writes the triples at `offset`; returns bytes written (6 each). The caller sized `buf`. */
export function encodeExtendedNextHopValue(
  families: readonly ExtendedNextHopFamily[],
  buf: Uint8Array,
  offset: number,
): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  families.forEach((f, i) => {
    const o = offset + i * TRIPLE_LENGTH;
    view.setUint16(o, f.afi);
    view.setUint16(o + 2, f.safi);
    view.setUint16(o + 4, f.nextHopAfi);
  });
  return extendedNextHopValueLength(families);
}

/**
 * Reads the triples of a value in `buf[start, start+len)`. Throws a session-reset OPEN error (Unspecific) when the
 * length is not a multiple of 6, as for the other capabilities of impossible length (capabilities.ts).
 */
export function decodeExtendedNextHopValue(buf: Uint8Array, start: number, len: number): ExtendedNextHopFamily[] {
  if (len % TRIPLE_LENGTH !== 0 || start + len > buf.length)
    throw openError(OpenErrorSubcode.Unspecific, `extended next hop capability of ${len} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: ExtendedNextHopFamily[] = [];
  for (let o = start; o < start + len; o += TRIPLE_LENGTH)
    out.push({ afi: view.getUint16(o), safi: view.getUint16(o + 2), nextHopAfi: view.getUint16(o + 4) });
  return out;
}

/** IPv4 unicast with an IPv6 next hop: the one triple weft offers. */
export const IPV4_OVER_IPV6: ExtendedNextHopFamily = { afi: Afi.Ipv4, safi: Safi.Unicast, nextHopAfi: Afi.Ipv6 };

/** Our capability for IPv4 unicast routes with IPv6 next hops. */
export function extendedNextHopCapability(): Capability {
  const value = new Uint8Array(TRIPLE_LENGTH);
  encodeExtendedNextHopValue([IPV4_OVER_IPV6], value, 0);
  return { type: CapabilityCode.Unrecognized, code: CapabilityCode.ExtendedNextHop, value };
}

/** True when `open` lists <IPv4, unicast, IPv6> in an Extended Next Hop Encoding capability (a malformed one: no). */
export function offersIpv4OverIpv6(open: OpenMessage): boolean {
  const listed = (value: Uint8Array) => {
    try {
      return decodeExtendedNextHopValue(value, 0, value.length).some(
        (f) => f.afi === Afi.Ipv4 && f.safi === Safi.Unicast && f.nextHopAfi === Afi.Ipv6,
      );
    } catch {
      return false;
    }
  };
  return open.capabilities.some(
    (c) => c.type === CapabilityCode.Unrecognized && c.code === CapabilityCode.ExtendedNextHop && listed(c.value),
  );
}
