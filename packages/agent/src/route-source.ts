// Where peer routes come from. Two sources share one contract: lease watching (flannel: the store's view of the
// other nodes' leases) and BGP (Calico: the best routes a speaker learns). Either emits batches of PeerChange
// that the agent applies to its backend; the command line only chooses which one runs.
import type { Logger } from 'pino';
import type { Ipv4Prefix as Ip4Net, Ipv6Prefix } from '@weft/netaddr';
import { leasePublicIpv6, type Lease, type LeaseEvent } from './lease.ts';
import type { PeerIpv6 } from './backends/peers.ts';
import type { LeaseManager } from './lease-manager.ts';
import type { PeerChange } from './backends/types.ts';
import type { Ipv6PeerChange } from './backends/ipv6-routes.ts';
import { hasIpv4Subnet, leaseKey } from './subnet-key.ts';

/** What a route source may use once the node holds its lease. */
export interface RouteSourceContext {
  /** The node's lease manager, after acquire(): the lease source watches the store through it. */
  leases: LeaseManager;
  /** The node's own subnet (advertised by BGP; never a peer route). */
  subnet: Ip4Net;
  /** The node's underlay address: next hop it advertises, BGP router ID and listen address. */
  publicIp: string;
  /** vxlan only: this node's VTEP MAC, carried in BGP's Router's MAC community. */
  vtepMac?: string;
  /** Dual stack: the node's IPv6 subnet (advertised by BGP as IPv6 unicast) and IPv6 underlay address. */
  ipv6Subnet?: Ipv6Prefix;
  publicIpv6?: string;
  /**
   * An overlay backend in IPv6-only mode: IPv6-only leases come as peer changes too (NO_IPV4_SUBNET, their lease
   * key, their IPv6 side), since the overlay needs their VTEP MAC; otherwise they come as IPv6 routes (native).
   */
  ipv6OnlyPeers?: boolean;
  log: Logger;
}

/** A source of peer route changes (flannel's subnet watch, or a BGP speaker). */
export interface RouteSource {
  /** Logged with every batch and reported as `routeSync` in the status. */
  readonly name: 'lease' | 'bgp';
  /**
   * Starts delivering peer changes to `apply`, in order, in batches that are never empty; resolves once running.
   * IPv6 routes that are not the IPv6 side of a lease (BGP's IPv6 unicast) come as `ipv6`, possibly beside an
   * empty `changes`. Rejects when the source cannot start (for example a BGP port in use); then nothing is delivered.
   */
  start(ctx: RouteSourceContext, apply: (changes: PeerChange[], ipv6?: Ipv6PeerChange[]) => void): Promise<void>;
  /** Stops delivering; resolves when no further batch will come. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Lease events as backend peer changes (the VTEP MAC from BackendData for vxlan), each keyed by its lease key. An
 * IPv6-only lease (flannel's 0.0.0.0-0&... key) has no IPv4 subnet and gives none, unless `ipv6OnlyPeers` (an
 * overlay in IPv6-only mode): then it is a peer with NO_IPV4_SUBNET and its IPv6 side only.
 */
export function leaseEventsToChanges(events: readonly LeaseEvent[], ipv6OnlyPeers = false): PeerChange[] {
  return events
    .filter((e) => hasIpv4Subnet(e.lease.subnet) || (ipv6OnlyPeers && e.lease.ipv6Subnet))
    .map((e) => {
      const data = e.lease.attrs.BackendData as { VtepMAC?: unknown } | undefined;
      const vtepMac = typeof data?.VtepMAC === 'string' ? data.VtepMAC : undefined;
      const ipv6 = leaseIpv6(e.lease);
      return {
        type: e.type,
        key: leaseKey(e.lease.subnet, e.lease.ipv6Subnet),
        subnet: e.lease.subnet,
        publicIp: e.lease.attrs.PublicIP,
        vtepMac,
        ...(ipv6 && { ipv6 }),
      };
    });
}

/** A dual-stack lease's IPv6 side: its IPv6 subnet, PublicIPv6 and BackendV6Data's VtepMAC; undefined without one. */
function leaseIpv6(lease: Lease): PeerIpv6 | undefined {
  if (!lease.ipv6Subnet) return undefined;
  const data = lease.attrs.BackendV6Data as { VtepMAC?: unknown } | undefined;
  const publicIp = leasePublicIpv6(lease.attrs) ?? undefined;
  return {
    subnet: lease.ipv6Subnet,
    ...(publicIp && { publicIp }),
    ...(typeof data?.VtepMAC === 'string' && { vtepMac: data.VtepMAC }),
  };
}

/**
 * IPv6-only leases (flannel's 0.0.0.0-0&... keys) as IPv6 routes via their PublicIPv6: what an IPv6-only cluster's
 * native backend installs. A dual-stack lease's IPv6 side travels in its PeerChange (`ipv6`) instead.
 */
export function ipv6OnlyLeaseChanges(events: readonly LeaseEvent[]): Ipv6PeerChange[] {
  const out: Ipv6PeerChange[] = [];
  for (const e of events) {
    const via = leasePublicIpv6(e.lease.attrs);
    if (!hasIpv4Subnet(e.lease.subnet) && e.lease.ipv6Subnet && via)
      out.push({ type: e.type, subnet: e.lease.ipv6Subnet, publicIp: via });
  }
  return out;
}

/** flannel's way: watch the store's leases; every other node's lease is a peer route. */
export class LeaseRouteSource implements RouteSource {
  readonly name = 'lease';
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  async start(ctx: RouteSourceContext, apply: (changes: PeerChange[], ipv6?: Ipv6PeerChange[]) => void): Promise<void> {
    this.loop = ctx.leases
      .watchPeers(
        (events) =>
          ctx.ipv6OnlyPeers
            ? apply(leaseEventsToChanges(events, true))
            : apply(leaseEventsToChanges(events), ipv6OnlyLeaseChanges(events)),
        this.abort.signal,
      )
      .catch((e) => {
        if (!this.abort.signal.aborted) ctx.log.error({ err: (e as Error).message }, 'lease watch stopped');
      });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
