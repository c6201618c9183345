// Between RIB routes and BGP message objects: our OPEN, UPDATEs built from an Adj-RIB-Out diff, and the
// routes inside a received UPDATE. Only objects here; bytes are the codec's business.
import { resolveAttributes, updateRoutes } from '../codec/resolve.ts';
import { extendedNextHopCapability } from '../codec/extended-nexthop.ts';
import { tryParseIpv4 } from '@weft/netaddr';
import type { OpenInfo } from '../fsm/types.ts';
import type { Announcement, OutboundUpdate } from '../rib/rib.ts';
import type { ExportedRoute } from '../rib/export.ts';
import {
  Afi,
  AS_TRANS,
  AttrType,
  CapabilityCode,
  MessageType,
  Safi,
  type CodecContext,
  type OpenMessage,
  type PathAttribute,
  type Prefix,
  type RouteAttributes,
  type UpdateMessage,
} from '../types.ts';

export interface OpenParams {
  localAs: number;
  routerId: string;
  holdTime: number;
  /** RFC 4724: advertise graceful restart with this restart time (seconds); absent: no GR capability. */
  gracefulRestart?: { restartTime: number; restarting: boolean };
  /** Unicast families to offer (RFC 4760 capability); default IPv4 and IPv6. */
  families?: readonly Afi[];
  /** RFC 8950: offer IPv4 unicast routes with IPv6 next hops (Extended Next Hop Encoding capability). */
  extendedNextHop?: boolean;
}

/** Our OPEN: version 4, 4-octet AS (RFC 6793), the unicast families (RFC 4760), route refresh, optional GR. */
export function buildOpen(p: OpenParams): OpenMessage {
  const offered = p.families ?? [Afi.Ipv4, Afi.Ipv6];
  const families = offered.map((afi) => ({ type: CapabilityCode.Multiprotocol as const, afi, safi: Safi.Unicast }));
  const msg: OpenMessage = {
    type: MessageType.Open,
    version: 4,
    myAs: p.localAs > 0xffff ? AS_TRANS : p.localAs,
    holdTime: p.holdTime,
    bgpId: p.routerId,
    capabilities: [
      ...families,
      { type: CapabilityCode.RouteRefresh },
      { type: CapabilityCode.FourOctetAs, asn: p.localAs },
      ...(p.extendedNextHop ? [extendedNextHopCapability()] : []),
    ],
  };
  if (p.gracefulRestart) {
    msg.capabilities.push({
      type: CapabilityCode.GracefulRestart,
      restarting: p.gracefulRestart.restarting,
      notification: false,
      restartTime: p.gracefulRestart.restartTime,
      families: offered.map((afi) => ({ afi, safi: Safi.Unicast, forwardingPreserved: true })),
    });
  }
  return msg;
}

/** The fields of a received OPEN the FSM checks, with the AS resolved from the 4-octet capability. */
export function openInfo(msg: OpenMessage): OpenInfo & { fourOctetAs: boolean } {
  let as = msg.myAs;
  let fourOctetAs = false;
  const info: OpenInfo & { fourOctetAs: boolean } = {
    version: msg.version,
    as,
    holdTime: msg.holdTime,
    bgpId: tryParseIpv4(msg.bgpId) ?? 0,
    fourOctetAs,
  };
  for (const c of msg.capabilities) {
    if (c.type === CapabilityCode.FourOctetAs) (as = c.asn), (fourOctetAs = true);
    if (c.type === CapabilityCode.GracefulRestart) {
      // RFC 4724 §3: only the listed (unicast) families have their routes retained across a restart.
      const unicast = c.families.filter((f) => f.safi === Safi.Unicast);
      const families = unicast.map((f) => f.afi as number);
      const preserved = unicast.filter((f) => f.forwardingPreserved).map((f) => f.afi as number);
      info.gracefulRestart = { restartTime: c.restartTime, restarting: c.restarting, families, preserved };
    }
  }
  return { ...info, as, fourOctetAs };
}

// §4: an UPDATE is at most 4096 bytes. An IPv4 NLRI entry is at most 5 bytes and an IPv6 one 17, so these
// counts leave over 1,000 bytes for attributes.
const IPV4_PER_UPDATE = 500;
const IPV6_PER_UPDATE = 150;
/** Withdrawals carry no attributes: 700 entries of at most 5 bytes fit. */
const IPV4_WITHDRAW_PER_UPDATE = 700;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Turns an Adj-RIB-Out diff into UPDATE messages: withdrawals first, then one group per distinct attribute set. */
export function buildUpdates(diff: OutboundUpdate): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  const v4 = diff.withdraw.filter((p) => p.afi === Afi.Ipv4);
  const v6 = diff.withdraw.filter((p) => p.afi === Afi.Ipv6);
  for (const c of chunks(v4, IPV4_WITHDRAW_PER_UPDATE))
    out.push({ type: MessageType.Update, withdrawn: c, attributes: [], nlri: [] });
  for (const c of chunks(v6, IPV6_PER_UPDATE)) {
    out.push({
      type: MessageType.Update,
      withdrawn: [],
      nlri: [],
      attributes: [{ type: AttrType.MpUnreachNlri, afi: Afi.Ipv6, safi: Safi.Unicast, withdrawn: c }],
    });
  }
  // Group by attributes object (the RIB hands out one object per attribute set), then next hop and family.
  const groups = new Map<RouteAttributes, Map<string, ExportedRoute[]>>();
  for (const r of diff.announce) {
    let byHop = groups.get(r.attrs);
    if (!byHop) groups.set(r.attrs, (byHop = new Map()));
    const k = `${r.prefix.afi}|${r.nextHop}|${r.linkLocalNextHop ?? ''}`;
    const g = byHop.get(k);
    if (g) g.push(r);
    else byHop.set(k, [r]);
  }
  for (const g of [...groups.values()].flatMap((m) => [...m.values()])) {
    const { attrs, nextHop, prefix, linkLocalNextHop } = g[0]!;
    const prefixes = g.map((r) => r.prefix);
    if (prefix.afi === Afi.Ipv4 && !nextHop.includes(':')) {
      for (const c of chunks(prefixes, IPV4_PER_UPDATE)) {
        out.push({
          type: MessageType.Update,
          withdrawn: [],
          attributes: [...toPathAttributes(attrs), { type: AttrType.NextHop, nextHop }],
          nlri: c,
        });
      }
    } else {
      // IPv6 routes, and IPv4 ones with an IPv6 next hop (RFC 8950 §3: MP_REACH_NLRI of AFI 1)
      for (const c of chunks(prefixes, IPV6_PER_UPDATE)) {
        const afi = prefix.afi;
        const mp: PathAttribute = { type: AttrType.MpReachNlri, afi, safi: Safi.Unicast, nextHop, nlri: c };
        if (linkLocalNextHop) mp.linkLocalNextHop = linkLocalNextHop; // RFC 2545 §3: 32-byte next hop
        out.push({ type: MessageType.Update, withdrawn: [], attributes: [mp, ...toPathAttributes(attrs)], nlri: [] });
      }
    }
  }
  return out;
}

/** RFC 4724 §2: End-of-RIB for IPv4 unicast is an empty UPDATE; for other families an empty MP_UNREACH. */
export function endOfRib(afi: Afi): UpdateMessage {
  if (afi === Afi.Ipv4) return { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] };
  return {
    type: MessageType.Update,
    withdrawn: [],
    nlri: [],
    attributes: [{ type: AttrType.MpUnreachNlri, afi, safi: Safi.Unicast, withdrawn: [] }],
  };
}

/** The family an UPDATE is End-of-RIB for, or null when it is an ordinary UPDATE. */
export function endOfRibFamily(u: UpdateMessage): Afi | null {
  if (u.withdrawn.length || u.nlri.length) return null;
  if (u.attributes.length === 0) return Afi.Ipv4;
  const a = u.attributes[0]!;
  if (u.attributes.length === 1 && a.type === AttrType.MpUnreachNlri && a.withdrawn.length === 0) return a.afi as Afi;
  return null;
}

/** The attribute list for RouteAttributes, in type-code order (§5: SHOULD be sorted). */
function toPathAttributes(a: RouteAttributes): PathAttribute[] {
  const list: PathAttribute[] = [
    { type: AttrType.Origin, origin: a.origin ?? 0 },
    { type: AttrType.AsPath, segments: a.asPath },
  ];
  if (a.med !== undefined) list.push({ type: AttrType.MultiExitDisc, med: a.med });
  if (a.localPref !== undefined) list.push({ type: AttrType.LocalPref, localPref: a.localPref });
  if (a.atomicAggregate) list.push({ type: AttrType.AtomicAggregate });
  if (a.aggregator) list.push({ type: AttrType.Aggregator, ...a.aggregator });
  if (a.communities.length) list.push({ type: AttrType.Communities, communities: a.communities });
  if (a.originatorId) list.push({ type: AttrType.OriginatorId, originatorId: a.originatorId });
  if (a.clusterList.length) list.push({ type: AttrType.ClusterList, clusterIds: a.clusterList });
  if (a.extendedCommunities.length)
    list.push({ type: AttrType.ExtendedCommunities, communities: a.extendedCommunities });
  if (a.largeCommunities.length) list.push({ type: AttrType.LargeCommunity, communities: a.largeCommunities });
  return [...list, ...a.unrecognized.filter((u) => u.flags & 0x40)]; // only optional transitive ones travel on
}

/**
 * The routes an UPDATE announces and withdraws, both families (RFC 4760), RFC 7606 treat-as-withdraw applied.
 * Attribute resolution is the codec's (`resolveAttributes`); this only pairs prefixes with attributes.
 */
export function readUpdate(u: UpdateMessage, ctx: CodecContext): { announced: Announcement[]; withdrawn: Prefix[] } {
  const { announced, withdrawn } = updateRoutes(u);
  if (announced.length === 0) return { announced: [], withdrawn };
  const attrs = resolveAttributes(u.attributes, ctx);
  return {
    announced: announced.flatMap((g) => g.prefixes.map((prefix) => ({ prefix, attrs, nextHop: g.nextHop }))),
    withdrawn,
  };
}
