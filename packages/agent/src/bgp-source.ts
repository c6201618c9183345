// `--route-sync bgp`: Calico's way. The agent runs a BGP speaker, advertises its leased subnet with next hop =
// its underlay address (and, for vxlan, its VTEP MAC in the EVPN Router's MAC extended community, RFC 9135),
// and the best routes it learns drive the backend instead of lease watching. Peers: the other nodes given with
// --bgp-peer (an iBGP full mesh when their AS is ours: the node whose address compares greater connects, the
// other listens), route reflectors (--route-reflector), and external routers (--bgp-peer with another AS).
// Dual stack: the node's IPv6 subnet is advertised as IPv6 unicast with its IPv6 underlay address as next hop, on
// IPv4 sessions (as Calico carries IPv6) and on IPv6 sessions (a --bgp-peer with an IPv6 address); learned IPv6
// routes come out as Ipv6PeerChange. A session only ever carries the families both sides offered (route-sync).
// IPv6 only: sessions over IPv6 alone, the IPv6 subnet advertised, the router ID from --bgp-router-id or the node
// name's hash (bgp-router-id.ts).
// The speaker module (and @weft/route-sync with it) is loaded on start, so lease-mode agents never load it.
import type { PeerStatus, Speaker, Transport } from '@weft/route-sync';
import { formatIpv4Prefix as formatIp4Net, formatIpv6Prefix } from '@weft/netaddr';
import type { PeerChange } from './backends/types.ts';
import type { Ipv6PeerChange } from './backends/ipv6-routes.ts';
import type { RouteSource, RouteSourceContext } from './route-source.ts';
import { chooseRouterId } from './bgp-router-id.ts';

export interface BgpSourceOptions {
  /** Our AS (iBGP with peers of the same AS). */
  as: number;
  /** TCP port to listen on and connect to. */
  port: number;
  /** Other nodes and external routers. */
  peers: readonly { address: string; as: number }[];
  /** Route reflectors (our AS; always the connecting side). */
  routeReflectors: readonly string[];
  /** Sessions' transport; default TCP on the node's underlay address and `port`. */
  transport?: Transport;
  /** --bgp-router-id (an address or `hash`); default: the node's IPv4 address, IPv6 only the node-name hash. */
  routerId?: string | null;
  /** The node name, hashed into the router ID of an IPv6-only node (default: its IPv6 address). */
  nodeName?: string;
}

export class BgpRouteSource implements RouteSource {
  readonly name = 'bgp';
  private speaker: Speaker | null = null;

  constructor(private readonly opts: BgpSourceOptions) {}

  async start(ctx: RouteSourceContext, apply: (changes: PeerChange[], ipv6?: Ipv6PeerChange[]) => void): Promise<void> {
    const { startSpeaker } = await import('./bgp-speaker.ts');
    const log = ctx.log.child({ component: 'bgp' });
    // IPv6 only: no IPv4 subnet (flannel's 0.0.0.0/0) and no IPv4 address; nothing IPv4 is advertised.
    const subnet = ctx.subnet.prefixLen > 0 ? formatIp4Net(ctx.subnet) : null;
    const v6 =
      ctx.ipv6Subnet && ctx.publicIpv6
        ? { ipv6: { subnet: formatIpv6Prefix(ctx.ipv6Subnet), me: ctx.publicIpv6 } }
        : {};
    const id = chooseRouterId(this.opts.routerId, ctx.publicIp, this.opts.nodeName ?? ctx.publicIpv6 ?? ctx.publicIp);
    this.speaker = await startSpeaker(
      { ...this.opts, me: ctx.publicIp, ...id, subnet, vtepMac: ctx.vtepMac, log, ...v6 },
      apply,
    );
  }

  /** The sessions, for `/status` and metrics; empty before start. */
  status(): PeerStatus[] {
    return this.speaker?.status() ?? [];
  }

  async stop(): Promise<void> {
    const s = this.speaker;
    this.speaker = null;
    await s?.stop();
  }
}
