// The `native` backend (flannel's host-gw, Calico's BGP mode): no encapsulation at all. Each peer's subnet gets
// a kernel route via the peer's underlay address, so the kernel forwards pod traffic at full speed and weft is
// only the control plane. Peers must share an L2 segment (the next hop has to be directly reachable).
import type { Logger } from 'pino';
import { formatIpv4Prefix as formatIp4Net } from '@weft/netaddr';
import type { LinkProgrammer } from '../ports.ts';
import type { PeerChange, DataplaneNetwork, NetworkStatus } from './types.ts';

export interface NativeOptions {
  log: Logger;
  /** Where routes are programmed: iproute2 on a node (systemPorts().link), a recorder in tests. */
  link: LinkProgrammer;
  /** The underlay interface the next hops are on. */
  iface: string;
  underlayMtu: number;
}

export class NativeNetwork implements DataplaneNetwork {
  readonly backend = 'native';
  readonly mtu: number;
  /** subnet text -> next hop, as installed in the kernel. */
  private readonly routes = new Map<string, string>();

  constructor(private readonly opts: NativeOptions) {
    this.mtu = opts.underlayMtu;
  }

  async start(): Promise<void> {
    this.opts.log.info(
      { iface: this.opts.iface, mtu: this.mtu },
      'native backend: routing peer subnets via their underlay addresses',
    );
  }

  /** Turns a batch of peer changes into one `ip -batch` of route replace/del commands. */
  async apply(changes: readonly PeerChange[]): Promise<void> {
    const lines: string[] = [];
    for (const c of changes) {
      const subnet = formatIp4Net(c.subnet);
      if (c.type === 'added') {
        if (this.routes.get(subnet) === c.publicIp) continue;
        lines.push(`route replace ${subnet} via ${c.publicIp} dev ${this.opts.iface} proto static`);
        this.routes.set(subnet, c.publicIp);
      } else if (this.routes.delete(subnet)) {
        lines.push(`route del ${subnet}`);
      }
    }
    await this.opts.link.ipBatch(this.opts.log, lines);
  }

  status(): NetworkStatus {
    return { backend: this.backend, mtu: this.mtu, routes: [...this.routes].map(([subnet, via]) => ({ subnet, via })) };
  }

  /** Removes every route this backend added; leases stay, so a restart keeps the subnet. */
  async stop(): Promise<void> {
    await this.opts.link.ipBatch(
      this.opts.log,
      [...this.routes.keys()].map((s) => `route del ${s}`),
      { force: true },
    );
    this.routes.clear();
  }
}
