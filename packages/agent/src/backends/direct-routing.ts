// vxlan with DirectRouting (flannel's option, Calico's CrossSubnet): peers on this node's L2 subnet get a kernel
// route via their underlay address, as host-gw would give them; every other peer goes through the overlay.
// The kernel picks the more specific per-peer /24 over the cluster route into flannel0, so both share one table.
// Design notes: "same L2 subnet" is the underlay interface's own prefix (e.g. 192.0.2.0/24): a pure check per
// peer. flanneld asks the kernel instead (a route lookup without a gateway); the two agree when the underlay has
// one connected subnet. A peer whose address moves across the boundary is removed from one side first.
import { ipv4PrefixContains, tryParseIpv4, type Ipv4Prefix } from '@weft/netaddr';
import type { Logger } from 'pino';
import { formatIpv4Prefix as formatIp4Net } from '@weft/netaddr';
import type { DataplaneNetwork, NetworkStatus, PeerChange } from './types.ts';

export interface DirectRoutingOptions {
  log: Logger;
  /** The encapsulating network (vxlan) for peers beyond the L2 subnet. */
  overlay: DataplaneNetwork;
  /** Kernel routes via the peer's address (NativeNetwork on the underlay interface). */
  direct: DataplaneNetwork;
  /** This node's underlay L2 subnet. */
  underlaySubnet: Ipv4Prefix;
}

export class DirectRoutingNetwork implements DataplaneNetwork {
  readonly backend: string;
  readonly mtu: number;
  /** subnet text -> the side its peer is on and the underlay address it was given with. */
  private readonly side = new Map<string, { direct: boolean; publicIp: string }>();

  constructor(private readonly opts: DirectRoutingOptions) {
    this.backend = opts.overlay.backend;
    this.mtu = opts.overlay.mtu; // pods use one MTU; the encapsulated path's is the smaller
  }

  async start(): Promise<void> {
    await this.opts.overlay.start();
    await this.opts.direct.start();
    this.opts.log.info(
      { underlaySubnet: formatIp4Net(this.opts.underlaySubnet) },
      'DirectRouting: peers on this L2 subnet are routed without encapsulation',
    );
  }

  /** Splits the batch by side; a peer that changes side is first removed from the other one. */
  async apply(changes: readonly PeerChange[]): Promise<void> {
    const overlay: PeerChange[] = [];
    const direct: PeerChange[] = [];
    for (const c of changes) {
      const key = formatIp4Net(c.subnet);
      const was = this.side.get(key);
      if (c.type === 'removed') {
        if (was) (was.direct ? direct : overlay).push(c);
        this.side.delete(key);
        continue;
      }
      const isDirect = this.onLink(c.publicIp);
      if (was && was.direct !== isDirect)
        (was.direct ? direct : overlay).push({ ...c, type: 'removed', publicIp: was.publicIp });
      (isDirect ? direct : overlay).push(c);
      this.side.set(key, { direct: isDirect, publicIp: c.publicIp });
    }
    if (overlay.length) await this.opts.overlay.apply(overlay);
    if (direct.length) await this.opts.direct.apply(direct);
  }

  private onLink(publicIp: string): boolean {
    const ip = tryParseIpv4(publicIp);
    return ip !== null && ipv4PrefixContains(this.opts.underlaySubnet, ip);
  }

  /** The overlay's status, its routes joined by the direct ones (which have no vtepMac). */
  status(): NetworkStatus {
    const o = this.opts.overlay.status();
    return { ...o, routes: [...o.routes, ...this.opts.direct.status().routes] };
  }

  async stop(): Promise<void> {
    await this.opts.direct.stop();
    await this.opts.overlay.stop();
  }
}
