// Routes as the RIBs hold them, and the small attribute helpers the decision process needs.
import { compareIp, tryParseIp, type IpAddress } from '@weft/netaddr';
import { AsPathSegmentType, type AsPathSegment, type Prefix, type RouteAttributes } from '../types.ts';

/** Where a route came from: a BGP peer, or this speaker itself (`advertise`). */
export interface RouteSource {
  /** Peer id (its address text), or LOCAL_SOURCE for our own routes. */
  id: string;
  /** Peer's transport address (for the last tie-break, §9.1.2.2 g); '' for local routes. */
  address: string;
  /** Peer's AS (ours for local routes). */
  as: number;
  /** Peer's BGP Identifier (dotted quad) from its OPEN. */
  bgpId: string;
  /** Learned over iBGP (peer AS == local AS). */
  ibgp: boolean;
  /** The peer is one of our route-reflector clients (RFC 4456 §6). */
  rrClient: boolean;
}

export const LOCAL_SOURCE = 'local';

/** One path to one prefix, as held in an Adj-RIB-In or the Loc-RIB. Treat as immutable. */
export interface Route {
  prefix: Prefix;
  /** `routeKey(prefix)`: the Map key. */
  key: string;
  attrs: RouteAttributes;
  /** NEXT_HOP (or the MP_REACH next hop for IPv6). */
  nextHop: string;
  source: RouteSource;
  /** Graceful restart (RFC 4724 §4.2): kept from a restarting peer until End-of-RIB or the restart timer. */
  stale?: boolean;
}

/** Map key for a prefix: "10.244.1.0/24", "2001:db8::/32". */
export function routeKey(p: Prefix): string {
  return `${p.addr}/${p.length}`;
}

/** Empty attributes, to spread defaults over (the codec's, which resolves UPDATEs starting from them). */
export { emptyAttributes } from '../codec/resolve.ts';

/** §9.1.2.2 a: AS_PATH length, where an AS_SET counts as 1 however many ASes it holds (confederation segments count 0, RFC 5065 §5.3). */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/** §9.1.2.2 c: the neighbouring AS a route came through: the first AS of the path (0 for local/iBGP-originated). */
export function neighbourAs(segments: readonly AsPathSegment[]): number {
  const first = segments[0];
  return first && first.type === AsPathSegmentType.AsSequence && first.asns.length > 0 ? first.asns[0]! : 0;
}

/** True when `asn` appears anywhere in the path (eBGP loop detection, §9.1.2). */
export function asPathContains(segments: readonly AsPathSegment[], asn: number): boolean {
  return segments.some((s) => s.asns.includes(asn));
}

/** Prepends `asn` as an AS_SEQUENCE (§5.1.2 when advertising to an external peer). */
export function prependAs(segments: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = segments[0];
  if (first && first.type === AsPathSegmentType.AsSequence && first.asns.length < 255) {
    return [{ type: first.type, asns: [asn, ...first.asns] }, ...segments.slice(1)];
  }
  return [{ type: AsPathSegmentType.AsSequence, asns: [asn] }, ...segments];
}

/**
 * Orders two addresses numerically (IPv4 before IPv6); used for the lowest-address tie-breaks. Text that does not
 * parse (an unset local address is '') counts as the zero address of the family its text suggests.
 */
export function compareAddresses(a: string, b: string): number {
  return compareIp(asAddress(a), asAddress(b));
}

function asAddress(text: string): IpAddress {
  return tryParseIp(text) ?? (text.includes(':') ? { family: 6, ip: 0n } : { family: 4, ip: 0 });
}
