// The `native` backend (flannel's host-gw, Calico's BGP mode): no encapsulation at all. Each peer's subnet gets
// a kernel route via the peer's underlay address, so the kernel forwards pod traffic at full speed and weft is
// only the control plane. Peers must share an L2 segment (the next hop has to be directly reachable).
// Both families, as flannel's host-gw has them: a dual-stack lease's IPv6 subnet is routed via its PublicIPv6
// (PeerChange.ipv6), and IPv6 routes given on their own (BGP's IPv6 unicast: applyIpv6) the same way. Every
// change of a batch, of either family, goes into one `ip -batch` (iproute2 takes the family from the prefix).
import type { Logger } from 'pino';
import { formatIpv4Prefix as formatIp4Net, formatIpv6Prefix } from '@weft/netaddr';
import type { LinkProgrammer } from '../ports.ts';
import type { PeerChange, DataplaneNetwork, NetworkStatus } from './types.ts';
import type { Ipv6PeerChange, Ipv6RouteTarget } from './ipv6-routes.ts';

export interface NativeOptions {
  log: Logger;
  /** Where routes are programmed: iproute2 on a node (systemPorts().link), a recorder in tests. */
  link: LinkProgrammer;
  /** The underlay interface the next hops are on. */
  iface: string;
  underlayMtu: number;
}

/** A route to install or remove, as CIDR text and next hop. */
interface RouteEdit {
  add: boolean;
  subnet: string;
  via: string;
}

export class NativeNetwork implements DataplaneNetwork, Ipv6RouteTarget {
  readonly backend = 'native';
  readonly mtu: number;
  /** subnet text (either family) -> next hop, as installed in the kernel. */
  private readonly routes = new Map<string, string>();
  /** IPv4 subnet text -> the IPv6 subnet routed for the same lease (PeerChange.ipv6), to follow its updates. */
  private readonly leaseIpv6 = new Map<string, string>();

  constructor(private readonly opts: NativeOptions) {
    this.mtu = opts.underlayMtu;
  }

  async start(): Promise<void> {
    this.opts.log.info(
      { iface: this.opts.iface, mtu: this.mtu },
      'native backend: routing peer subnets via their underlay addresses',
    );
  }

  /** Turns a batch of peer changes (with their leases' IPv6 sides) into one `ip -batch` of route replace/del. */
  async apply(changes: readonly PeerChange[]): Promise<void> {
    const edits: RouteEdit[] = [];
    for (const c of changes) {
      const subnet = formatIp4Net(c.subnet);
      const add = c.type === 'added';
      if (c.subnet.prefixLen > 0) edits.push({ add, subnet, via: c.publicIp }); // IPv6-only leases: 0.0.0.0/0
      // An IPv6-only lease as a peer change (0.0.0.0/0) is known by its IPv6 subnet; the others by their IPv4 one.
      const key = c.subnet.prefixLen > 0 || !c.ipv6 ? subnet : formatIpv6Prefix(c.ipv6.subnet);
      const had6 = this.leaseIpv6.get(key);
      const now6 = add && c.ipv6?.publicIp ? formatIpv6Prefix(c.ipv6.subnet) : undefined;
      if (had6 !== undefined && had6 !== now6) edits.push({ add: false, subnet: had6, via: '' });
      if (now6) edits.push({ add: true, subnet: now6, via: c.ipv6!.publicIp! });
      if (now6) this.leaseIpv6.set(key, now6);
      else this.leaseIpv6.delete(key);
    }
    await this.program(edits);
  }

  /** IPv6 routes given on their own (BGP), in one `ip -batch`. */
  async applyIpv6(changes: readonly Ipv6PeerChange[]): Promise<void> {
    await this.program(
      changes.map((c) => ({ add: c.type === 'added', subnet: formatIpv6Prefix(c.subnet), via: c.publicIp })),
    );
  }

  private async program(edits: readonly RouteEdit[]): Promise<void> {
    const lines: string[] = [];
    for (const e of edits) {
      if (e.add) {
        if (this.routes.get(e.subnet) === e.via) continue;
        lines.push(`route replace ${e.subnet} via ${e.via} dev ${this.opts.iface} proto static`);
        this.routes.set(e.subnet, e.via);
      } else if (this.routes.delete(e.subnet)) {
        lines.push(`route del ${e.subnet}`);
      }
    }
    await this.opts.link.ipBatch(this.opts.log, lines);
  }

  status(): NetworkStatus {
    return { backend: this.backend, mtu: this.mtu, routes: [...this.routes].map(([subnet, via]) => ({ subnet, via })) };
  }

  /** Removes every route this backend added, of both families; leases stay, so a restart keeps the subnet. */
  async stop(): Promise<void> {
    await this.opts.link.ipBatch(
      this.opts.log,
      [...this.routes.keys()].map((s) => `route del ${s}`),
      { force: true },
    );
    this.routes.clear();
    this.leaseIpv6.clear();
  }
}
