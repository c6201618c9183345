// Routes as the RIBs hold them, and the small attribute helpers the decision process needs.
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

/** Empty attributes, to spread defaults over. */
export function emptyAttributes(): RouteAttributes {
  return { asPath: [], atomicAggregate: false, communities: [], extendedCommunities: [], largeCommunities: [], clusterList: [], unrecognized: [] };
}

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

/** Numeric value of a dotted quad (unsigned). */
export function ipv4ToInt(addr: string): number {
  const p = addr.split('.');
  return p.length === 4 ? ((+p[0]! << 24) | (+p[1]! << 16) | (+p[2]! << 8) | +p[3]!) >>> 0 : 0;
}

/** Dotted quad of an unsigned 32-bit integer. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Expands an IPv6 text address into 8 numbers. */
function ipv6Groups(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':').map((g) => parseInt(g, 16)) : [];
  const t = tail ? tail.split(':').map((g) => parseInt(g, 16)) : [];
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** Orders two addresses numerically (IPv4 before IPv6); used for the lowest-address tie-breaks. */
export function compareAddresses(a: string, b: string): number {
  const a6 = a.includes(':');
  const b6 = b.includes(':');
  if (a6 !== b6) return a6 ? 1 : -1;
  if (!a6) return ipv4ToInt(a) - ipv4ToInt(b);
  const ga = ipv6Groups(a);
  const gb = ipv6Groups(b);
  for (let i = 0; i < 8; i++) if (ga[i] !== gb[i]) return (ga[i] ?? 0) - (gb[i] ?? 0);
  return 0;
}
