// What a speaker tells each peer about its best routes: the rules between the Loc-RIB and an Adj-RIB-Out.
//
// Design notes
// - iBGP split horizon (RFC 4271 §9.2.1): a route learned from one internal peer is not sent to another,
//   because every internal peer is assumed to have heard it directly (full mesh).
// - Route reflection (RFC 4456 §6) relaxes that so a cluster need not be a full mesh: a route from a client
//   is reflected to everyone; a route from a non-client is reflected to clients only. Reflected routes get
//   ORIGINATOR_ID (the router that first put the route into the AS) and our CLUSTER_ID prepended to
//   CLUSTER_LIST; receivers drop routes carrying their own id in either (rib.ts), which breaks loops.
// - To external peers (§5.1): our AS is prepended, the next hop is our own address on that session, and
//   attributes local to our AS (LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST, a learned MED) are removed.
// - Families (RFC 4760 §8): a peer hears only the families its session negotiated, and a route only when we
//   have a next hop of the route's own family for it: an IPv4 session needs a configured IPv6 next hop to carry
//   IPv6 routes, and an IPv6 session an IPv4 one for IPv4 routes, unless the session negotiated RFC 8950's
//   extended next hop: then IPv4 routes may go with an IPv6 next hop (ours, or the one they came with).
import { tryParseIp } from '@weft/netaddr';
import { Afi, WellKnownCommunity, type Prefix, type RouteAttributes } from '../types.ts';
import { LOCAL_SOURCE, prependAs, type Route, type RouteSource } from './route.ts';

/** A peer as the RIB sees it: the source description plus what exporting to it needs. */
export interface RibPeer extends RouteSource {
  /** Our address on the session with this peer: the next hop when we say "next hop self". */
  localAddress: string;
  /** Rewrite the next hop to `localAddress` for iBGP too (BIRD's `next hop self`). eBGP always does. */
  nextHopSelf?: boolean;
  /** Families the session negotiated (RFC 4760 §8); absent: every family (before the session is up). */
  families?: Afi[];
  /** Our next hop per family when it is not `localAddress` (e.g. the IPv6 one on an IPv4 session). */
  nextHops?: { ipv4?: string; ipv6?: string };
  /** RFC 2545 §3: our link-local address on a shared link, sent after the global IPv6 next hop. */
  linkLocalNextHop?: string;
  /** RFC 8950 negotiated: IPv4 routes may carry an IPv6 next hop to this peer. */
  extendedNextHop?: boolean;
}

/** Speaker-wide facts the export rules need. */
export interface ExportContext {
  localAs: number;
  routerId: string;
  /** RFC 4456 §7: defaults to the router id. */
  clusterId: string;
  defaultLocalPref: number;
}

/** A route as it is (or would be) sent to one peer. */
export interface ExportedRoute {
  prefix: Prefix;
  attrs: RouteAttributes;
  nextHop: string;
  /** IPv6 only: the link-local half of a 32-byte next hop (RFC 2545 §3). */
  linkLocalNextHop?: string;
}

/**
 * Applies the export rules for one best route and one target peer. Returns the route to advertise, or null
 * when the peer must not hear about it (then any earlier advertisement is withdrawn).
 */
export function exportRoute(ctx: ExportContext, route: Route, to: RibPeer): ExportedRoute | null {
  if (to.families && !to.families.includes(route.prefix.afi)) return null; // RFC 4760 §8
  const r = exportToPeer(ctx, route, to);
  if (!r || !nextHopFits(r, to)) return null; // no usable next hop for this family
  if (r.prefix.afi === Afi.Ipv6 && to.linkLocalNextHop && r.nextHop === localNextHop(to, Afi.Ipv6))
    r.linkLocalNextHop = to.linkLocalNextHop;
  return r;
}

function exportToPeer(ctx: ExportContext, route: Route, to: RibPeer): ExportedRoute | null {
  const src = route.source;
  if (src.id === to.id) return null; // never echo a route to the peer it came from
  if (route.attrs.communities.includes(WellKnownCommunity.NoAdvertise)) return null; // RFC 1997
  if (!to.ibgp && route.attrs.communities.includes(WellKnownCommunity.NoExport)) return null;
  if (!to.ibgp) return toExternal(ctx, route, to);
  if (src.id !== LOCAL_SOURCE && src.ibgp) return reflect(ctx, route, to);
  const attrs: RouteAttributes = { ...route.attrs, localPref: route.attrs.localPref ?? ctx.defaultLocalPref };
  return { prefix: route.prefix, attrs, nextHop: nextHopFor(route, to, to.nextHopSelf === true) };
}

/** RFC 4456 §6: an iBGP-learned route goes to another internal peer only if one of them is our client. */
function reflect(ctx: ExportContext, route: Route, to: RibPeer): ExportedRoute | null {
  if (!route.source.rrClient && !to.rrClient) return null; // split horizon
  const originatorId = route.attrs.originatorId ?? route.source.bgpId;
  if (originatorId === to.bgpId) return null; // it would drop it anyway (RFC 4456 §8)
  const attrs: RouteAttributes = {
    ...route.attrs,
    originatorId,
    clusterList: [ctx.clusterId, ...route.attrs.clusterList],
  };
  return { prefix: route.prefix, attrs, nextHop: route.nextHop };
}

function toExternal(ctx: ExportContext, route: Route, to: RibPeer): ExportedRoute {
  const local = route.source.id === LOCAL_SOURCE;
  const { localPref: _lp, originatorId: _oid, med, ...rest } = route.attrs;
  const attrs: RouteAttributes = { ...rest, clusterList: [], asPath: prependAs(route.attrs.asPath, ctx.localAs) };
  if (local && med !== undefined) attrs.med = med; // §5.1.4: a learned MED stays in the AS that heard it
  return { prefix: route.prefix, attrs, nextHop: nextHopFor(route, to, true) };
}

/** Our own routes carry the next hop `advertise` was given (the agent's underlay address) if it fits the family. */
function nextHopFor(route: Route, to: RibPeer, self: boolean): string {
  const afi = route.prefix.afi;
  if (route.source.id === LOCAL_SOURCE) return familyOf(route.nextHop) === afi ? route.nextHop : localNextHop(to, afi);
  return self ? localNextHop(to, afi) : route.nextHop;
}

/**
 * Our address of family `afi` on the session with `to`: configured, else the session's own if it fits; or ''.
 * With RFC 8950, an IPv4 route without an IPv4 address of ours goes with our IPv6 one.
 */
function localNextHop(to: RibPeer, afi: Afi): string {
  const configured = afi === Afi.Ipv4 ? to.nextHops?.ipv4 : to.nextHops?.ipv6;
  if (configured) return configured;
  if (familyOf(to.localAddress) === afi) return to.localAddress;
  return afi === Afi.Ipv4 && to.extendedNextHop ? localNextHop(to, Afi.Ipv6) : '';
}

/** The next hop is of the route's family, or IPv6 for an IPv4 route where RFC 8950 was negotiated. */
function nextHopFits(r: ExportedRoute, to: RibPeer): boolean {
  const f = familyOf(r.nextHop);
  return f === r.prefix.afi || (f === Afi.Ipv6 && r.prefix.afi === Afi.Ipv4 && to.extendedNextHop === true);
}

/** The family of an address text, or null when it is not an address. */
function familyOf(addr: string): Afi | null {
  const ip = addr ? tryParseIp(addr) : null;
  if (!ip) return null;
  return ip.family === 4 ? Afi.Ipv4 : Afi.Ipv6;
}
