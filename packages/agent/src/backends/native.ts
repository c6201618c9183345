// The `native` backend (flannel's host-gw, Calico's BGP mode): no encapsulation at all. Each peer's subnet gets
// a kernel route via the peer's underlay address, so the kernel forwards pod traffic at full speed and weft is
// only the control plane. Peers must share an L2 segment (the next hop has to be directly reachable).
// Both families, as flannel's host-gw has them: a dual-stack lease's IPv6 subnet is routed via its PublicIPv6
// (PeerChange.ipv6), and IPv6 routes given on their own (BGP's IPv6 unicast: applyIpv6) the same way. Every
// change of a batch, of either family, goes into one `ip -batch` (iproute2 takes the family from the prefix).
import type { Logger } from 'pino';
import { formatIpv4Prefix as formatIp4Net, formatIpv6Prefix } from '@weft/netaddr';
import type { LinkProgrammer } from '../ports.ts';
import { RouteCommandError } from './routes.ts';
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

/** A line of a batch, with the edit it carries out and the next hop recorded before it (undefined: none). */
interface PlannedLine {
  text: string;
  e: RouteEdit;
  before: string | undefined;
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

  /**
   * Applies the edits that change something, recording each route as installed only once `ip` took its line.
   * `ip -batch` stops at the first line the kernel refuses (RouteCommandError.refusedLine): the lines before it
   * are in, the rest run again in a new batch, and the refused ones are reported together at the end, so one
   * bad route (an unreachable next hop) neither blocks the others nor shows in /status as installed.
   */
  private async program(edits: readonly RouteEdit[]): Promise<void> {
    const lines: PlannedLine[] = [];
    for (const e of edits) {
      const before = this.routes.get(e.subnet);
      if (e.add) {
        if (before === e.via) continue;
        lines.push({ text: `route replace ${e.subnet} via ${e.via} dev ${this.opts.iface} proto static`, e, before });
        this.routes.set(e.subnet, e.via);
      } else if (this.routes.delete(e.subnet)) {
        lines.push({ text: `route del ${e.subnet}`, e, before });
      }
    }
    const refused: PlannedLine[] = [];
    let stderr = '';
    for (let rest = lines; rest.length > 0; ) {
      const at = await this.runBatch(rest.map((l) => l.text));
      if (at === null) break;
      refused.push(rest[at.index]!);
      stderr += at.stderr;
      rest = rest.slice(at.index + 1);
    }
    // A refused del means the route is gone already (or stuck, and then no longer ours to track): said, not
    // thrown. A refused replace leaves the kernel as it was, and is the caller's error.
    const dels = refused.filter((l) => !l.e.add);
    if (dels.length > 0)
      this.opts.log.warn({ cmds: dels.map((l) => `ip ${l.text}`) }, 'route already gone: no longer tracked');
    const adds = refused.filter((l) => l.e.add);
    for (const l of adds) this.undo(l);
    if (adds.length > 0)
      throw new RouteCommandError(
        adds.map((l) => l.text),
        stderr,
      );
  }

  /** Runs one batch: null when every line was taken, else the refused line's index and what ip said. */
  private async runBatch(lines: readonly string[]): Promise<{ index: number; stderr: string } | null> {
    try {
      await this.opts.link.ipBatch(this.opts.log, lines);
      return null;
    } catch (e) {
      if (!(e instanceof RouteCommandError) || e.refusedLine < 0) throw e; // no line refused: as before
      return { index: e.refusedLine, stderr: e.stderr };
    }
  }

  private undo(l: PlannedLine): void {
    if (l.before === undefined) this.routes.delete(l.e.subnet);
    else this.routes.set(l.e.subnet, l.before);
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
