// What every backend's network offers the agent. Peer changes come in batches from whichever route source the
// agent runs (lease watching or BGP); the backend turns them into dataplane state (kernel routes, or the
// userspace forwarding table). The control plane never touches packets.
import type { Ipv4Prefix as Ip4Net } from '@weft/netaddr';
import type { PeerIpv6 } from './peers.ts';
import type { DropsByFamily } from './family-stats.ts';
import { subnetKey } from '../subnet-key.ts';

/** One peer node's subnet appearing or disappearing. */
export interface PeerChange {
  type: 'added' | 'removed';
  /**
   * The peer's identity: its lease's store key (flannel's `V4NET-LEN&V6NET-LEN`) when it comes from a lease, so an
   * IPv6-only lease (no IPv4 subnet) is a peer too; absent (BGP routes), the IPv4 subnet names the peer.
   */
  key?: string;
  /** The peer's IPv4 subnet; NO_IPV4_SUBNET (0.0.0.0/0) for an IPv6-only lease. */
  subnet: Ip4Net;
  /** The peer's underlay address (next hop, UDP destination). */
  publicIp: string;
  /** vxlan only: the peer's VTEP MAC, `aa:bb:cc:dd:ee:ff`. */
  vtepMac?: string;
  /** A dual-stack lease's IPv6 side (subnet, PublicIPv6, the IPv6 VTEP MAC); IPv4-only leases have none. */
  ipv6?: PeerIpv6;
}

/** The key a peer change is known by: its lease key, else its IPv4 subnet's key text. */
export function peerKey(c: Pick<PeerChange, 'key' | 'subnet'>): string {
  return c.key ?? subnetKey(c.subnet);
}

export interface NetworkStatus {
  backend: string;
  mtu: number;
  /** Peer routes of both families; `direct`: a kernel route via the peer's underlay address (vxlan DirectRouting). */
  routes: { subnet: string; via: string; vtepMac?: string; direct?: boolean }[];
  counters?: Record<string, number>;
  drops?: Record<string, number>;
  /** Overlay backends: the drops' split by family (family-stats.ts; the ports' own drops are in `drops` only). */
  dropsByFamily?: DropsByFamily;
  /** Overlay backends: whether encapsulated super-packets go to the kernel whole, and if not, why. */
  sendPath?: { superPackets: boolean; reason: string };
  /** Overlay backends with EnableIPv6: how IPv6 pod traffic is forwarded (see overlay-v6.ts). */
  ipv6?: Ipv6Forwarding;
}

/** What /status says about IPv6 pod traffic on a backend that forwards it. */
export interface Ipv6Forwarding {
  forwarded: boolean;
  /** The underlay family IPv6 packets cross: 'ipv6' (PublicIPv6 on both ends) or 'ipv4'. */
  underlay: 'ipv6' | 'ipv4';
  /** MTU for IPv6 pod traffic (the IPv6 outer header is 20 bytes longer than IPv4's). */
  mtu: number;
  /** Whether IPv6 super-packets go to the kernel whole (through weft-gso6, or weft-gso0 over the IPv4 underlay). */
  superPackets: boolean;
  /** The egress path of IPv6 packets, in words (and why the socket path, when it is that). */
  sendPath: string;
  reason: string;
}

/** A running backend network (flannel's backend.Network). */
export interface DataplaneNetwork {
  readonly backend: string;
  /** MTU pods must use (FLANNEL_MTU). */
  readonly mtu: number;
  /** Creates devices and sockets and installs the cluster route; resolves once forwarding can start. */
  start(): Promise<void>;
  /** Applies a batch of peer changes; resolves when they are in effect. */
  apply(changes: readonly PeerChange[]): Promise<void>;
  status(): NetworkStatus;
  /** Removes what start() and apply() installed (routes, devices); leaves the lease alone. */
  stop(): Promise<void>;
}
