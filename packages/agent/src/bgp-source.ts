// `--route-sync bgp`: Calico's way. The agent runs a BGP speaker, advertises its leased subnet with next hop =
// its underlay address (and, for vxlan, its VTEP MAC in the EVPN Router's MAC extended community, RFC 9135),
// and the best routes it learns drive the backend instead of lease watching. Peers: the other nodes given with
// --bgp-peer (an iBGP full mesh when their AS is ours: the node whose address compares greater connects, the
// other listens), route reflectors (--route-reflector), and external routers (--bgp-peer with another AS).
// The speaker module (and @weft/route-sync with it) is loaded on start, so lease-mode agents never load it.
import type { PeerStatus, Speaker, Transport } from '@weft/route-sync';
import { formatIpv4Prefix as formatIp4Net } from '@weft/netaddr';
import type { PeerChange } from './backends/types.ts';
import type { RouteSource, RouteSourceContext } from './route-source.ts';

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
}

export class BgpRouteSource implements RouteSource {
  readonly name = 'bgp';
  private speaker: Speaker | null = null;

  constructor(private readonly opts: BgpSourceOptions) {}

  async start(ctx: RouteSourceContext, apply: (changes: PeerChange[]) => void): Promise<void> {
    const { startSpeaker } = await import('./bgp-speaker.ts');
    const log = ctx.log.child({ component: 'bgp' });
    const subnet = formatIp4Net(ctx.subnet);
    this.speaker = await startSpeaker({ ...this.opts, me: ctx.publicIp, subnet, vtepMac: ctx.vtepMac, log }, apply);
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
