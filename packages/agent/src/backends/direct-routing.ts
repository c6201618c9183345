// vxlan with DirectRouting (flannel's option, Calico's CrossSubnet): peers on this node's L2 subnet get a kernel
// route via their underlay address, as host-gw would give them; every other peer goes through the overlay.
// The kernel picks the more specific per-peer route over the cluster route into flannel0, so both share one table.
// Per family, as flannel decides it for its flannel.<VNI> and flannel-v6.<VNI> devices: a dual-stack peer's IPv4
// subnet may be direct (PublicIP on our IPv4 L2 subnet) while its IPv6 subnet goes through VXLAN over IPv6
// (PublicIPv6 beyond our IPv6 prefix), or the other way round; the overlay then holds the peer with only the
// encapsulated family's subnet (NO_IPV4_SUBNET when only IPv6 is encapsulated), under the same lease key.
// Design notes: "same L2 subnet" is the underlay interface's own prefix per family (e.g. 192.0.2.0/24 and
// 2001:db8::/64): a pure check per peer. flanneld asks the kernel instead (a route lookup without a gateway); the two
// agree when the underlay has one connected subnet per family. A peer that moves across the boundary leaves its old
// side in the same batch. Direct IPv6 routes go to the kernel through the direct side's applyIpv6.
import {
  formatIpv4Prefix as formatIp4Net,
  formatIpv6Prefix,
  ipv4Mask,
  ipv4PrefixContains,
  ipv6Mask,
  ipv6PrefixContains,
  tryParseIpv4,
  tryParseIpv6,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '@weft/netaddr';
import type { Logger } from 'pino';
import type { LinkProgrammer } from '../ports.ts';
import { hasIpv4Subnet, NO_IPV4_SUBNET } from '../subnet-key.ts';
import type { Ipv6PeerChange, Ipv6RouteTarget } from './ipv6-routes.ts';
import { peerKey, type DataplaneNetwork, type NetworkStatus, type PeerChange } from './types.ts';

export interface DirectRoutingOptions {
  log: Logger;
  /** The encapsulating network (vxlan) for peers beyond the L2 subnet. */
  overlay: DataplaneNetwork;
  /** Kernel routes via the peer's address, of both families (NativeNetwork on the underlay interface). */
  direct: DataplaneNetwork & Ipv6RouteTarget;
  /** This node's IPv4 underlay L2 subnet; absent: every IPv4 subnet is encapsulated. */
  underlaySubnet?: Ipv4Prefix;
  /** This node's IPv6 underlay prefix (the one holding PublicIPv6); absent: every IPv6 subnet is encapsulated. */
  underlaySubnetV6?: Ipv6Prefix;
}

/** Where one peer's subnets are, per family: its direct routes, and whether the overlay holds it. */
interface DirectRoute<P> {
  subnet: P;
  via: string;
}

/** Whether a direct route stays: the same next hop and the same prefix (address and length). */
function sameRoute<P extends Ipv4Prefix | Ipv6Prefix>(a: DirectRoute<P>, b: DirectRoute<P> | undefined): boolean {
  return b !== undefined && a.via === b.via && a.subnet.ip === b.subnet.ip && a.subnet.prefixLen === b.subnet.prefixLen;
}

interface PeerSides {
  direct4?: DirectRoute<Ipv4Prefix>;
  direct6?: DirectRoute<Ipv6Prefix>;
  overlay: boolean;
}

/** One batch split by side: overlay changes, direct IPv4 routes (no IPv6 side), direct IPv6 routes. */
export interface DirectRoutingPlan {
  overlay: PeerChange[];
  direct4: PeerChange[];
  direct6: Ipv6PeerChange[];
}

export class DirectRoutingNetwork implements DataplaneNetwork {
  readonly backend: string;
  readonly mtu: number;
  /** peer key -> its sides, as last applied. */
  private readonly sides = new Map<string, PeerSides>();

  constructor(private readonly opts: DirectRoutingOptions) {
    this.backend = opts.overlay.backend;
    this.mtu = opts.overlay.mtu; // pods use one MTU; the encapsulated path's is the smaller
  }

  async start(): Promise<void> {
    await this.opts.overlay.start();
    await this.opts.direct.start();
    const { underlaySubnet: v4, underlaySubnetV6: v6 } = this.opts;
    this.opts.log.info(
      { underlaySubnet: v4 && formatIp4Net(v4), underlaySubnetV6: v6 && formatIpv6Prefix(v6) },
      'DirectRouting: peers on this L2 subnet are routed without encapsulation',
    );
  }

  /** Splits the batch by side and family; a peer that changes side is first removed from the other one. */
  async apply(changes: readonly PeerChange[]): Promise<void> {
    const plan = this.plan(changes);
    if (plan.overlay.length) await this.opts.overlay.apply(plan.overlay);
    if (plan.direct4.length) await this.opts.direct.apply(plan.direct4);
    if (plan.direct6.length) await this.opts.direct.applyIpv6(plan.direct6);
  }

  /** The changes each side gets for `changes`, updating what this network remembers of every peer. */
  plan(changes: readonly PeerChange[]): DirectRoutingPlan {
    const out: DirectRoutingPlan = { overlay: [], direct4: [], direct6: [] };
    for (const c of changes) {
      const key = peerKey(c);
      const was = this.sides.get(key) ?? { overlay: false };
      const now = c.type === 'added' ? this.sidesOf(c) : { overlay: false };
      this.planDirect(was, now, out);
      if (now.overlay) out.overlay.push(this.overlayPart(c, key, now));
      else if (was.overlay) out.overlay.push({ ...c, key, type: 'removed' });
      if (c.type === 'added') this.sides.set(key, now);
      else this.sides.delete(key);
    }
    return out;
  }

  /** The direct routes to take away (old, moved or now encapsulated) and to install. */
  private planDirect(was: PeerSides, now: PeerSides, out: DirectRoutingPlan): void {
    if (was.direct4 && !sameRoute(was.direct4, now.direct4))
      out.direct4.push({ type: 'removed', subnet: was.direct4.subnet, publicIp: was.direct4.via });
    if (now.direct4) out.direct4.push({ type: 'added', subnet: now.direct4.subnet, publicIp: now.direct4.via });
    if (was.direct6 && !sameRoute(was.direct6, now.direct6))
      out.direct6.push({ type: 'removed', subnet: was.direct6.subnet, publicIp: was.direct6.via });
    if (now.direct6) out.direct6.push({ type: 'added', subnet: now.direct6.subnet, publicIp: now.direct6.via });
  }

  /** Which of an added peer's subnets are direct, and whether anything is left for the overlay. */
  private sidesOf(c: PeerChange): PeerSides {
    const has4 = hasIpv4Subnet(c.subnet);
    const d4 = has4 && this.onLink4(c.publicIp);
    const via6 = c.ipv6?.publicIp;
    const d6 = c.ipv6 !== undefined && via6 !== undefined && this.onLink6(via6);
    return {
      ...(d4 && { direct4: { subnet: c.subnet, via: c.publicIp } }),
      ...(d6 && { direct6: { subnet: c.ipv6!.subnet, via: via6! } }),
      overlay: (has4 && !d4) || (c.ipv6 !== undefined && !d6),
    };
  }

  /** The change the overlay gets: the peer with only its encapsulated family's subnet. */
  private overlayPart(c: PeerChange, key: string, now: PeerSides): PeerChange {
    const { ipv6, ...rest } = c;
    return {
      ...rest,
      key,
      subnet: now.direct4 ? NO_IPV4_SUBNET : c.subnet,
      ...(ipv6 && !now.direct6 && { ipv6 }),
    };
  }

  private onLink4(publicIp: string): boolean {
    const ip = tryParseIpv4(publicIp);
    const l2 = this.opts.underlaySubnet;
    return l2 !== undefined && ip !== null && ipv4PrefixContains(l2, ip);
  }

  private onLink6(publicIpv6: string): boolean {
    const ip = tryParseIpv6(publicIpv6);
    const l2 = this.opts.underlaySubnetV6;
    return l2 !== undefined && ip !== null && ipv6PrefixContains(l2, ip);
  }

  /** The overlay's status, its routes joined by the direct ones of both families (marked `direct`, no vtepMac). */
  status(): NetworkStatus {
    const o = this.opts.overlay.status();
    const direct = this.opts.direct.status().routes.map((r) => ({ ...r, direct: true }));
    return { ...o, routes: [...o.routes, ...direct] };
  }

  async stop(): Promise<void> {
    await this.opts.direct.stop();
    await this.opts.overlay.stop();
  }
}

/**
 * This node's underlay L2 subnets for DirectRouting: `publicIp` under the interface's IPv4 prefix length, and the
 * prefix of the interface address equal to `publicIpv6`. A family whose prefix is unknown is left out (warned):
 * its peers are all encapsulated. Rejects when `iface` does not exist.
 */
export async function directRoutingSubnets(
  link: LinkProgrammer,
  iface: string,
  publicIp: string | undefined,
  publicIpv6: string | undefined,
  log: Logger,
): Promise<{ v4?: Ipv4Prefix; v6?: Ipv6Prefix }> {
  const info = await link.interfaceInfo(iface);
  const out: { v4?: Ipv4Prefix; v6?: Ipv6Prefix } = {};
  const ip4 = publicIp === undefined ? null : tryParseIpv4(publicIp);
  if (ip4 !== null && info.prefixLen !== undefined)
    out.v4 = { ip: (ip4 & ipv4Mask(info.prefixLen)) >>> 0, prefixLen: info.prefixLen };
  else if (publicIp !== undefined)
    log.warn({ iface }, 'DirectRouting: the IPv4 underlay prefix is unknown; every IPv4 peer is encapsulated');
  const ip6 = publicIpv6 === undefined ? null : tryParseIpv6(publicIpv6);
  const held = ip6 === null ? undefined : info.addresses6?.find((a) => tryParseIpv6(a.address) === ip6);
  if (ip6 !== null && held) out.v6 = { ip: ip6 & ipv6Mask(held.prefixLen), prefixLen: held.prefixLen };
  else if (publicIpv6 !== undefined)
    log.warn(
      { iface, publicIpv6 },
      `DirectRouting: ${iface} holds no IPv6 address ${publicIpv6} with a known prefix; every IPv6 peer is encapsulated`,
    );
  return out;
}
