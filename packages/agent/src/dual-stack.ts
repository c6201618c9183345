// What the agent does with EnableIPv6 beside the backends: it leases the IPv6 subnet (dual stack: beside the IPv4
// one, in one flannel lease), writes it to subnet.env, advertises PublicIPv6 and the IPv6 VTEP's BackendV6Data.
// Dual stack and IPv6 only are forwarded by the overlay backends (backends/overlay-v6.ts; IPv6 only runs flannel0
// for IPv6 alone, peers known by lease key) and by native. Where IPv6 pod traffic is not forwarded (an IPv6-only
// overlay node without PublicIPv6) the agent says so plainly, once in the log and always in /status, and only holds
// the lease (HeldLeaseNetwork: no device, no route, no masquerade rule for a 0.0.0.0/0 "subnet").
import { createHash } from 'node:crypto';
import { formatIpv4Prefix, formatIpv6Prefix } from '@weft/netaddr';
import { ConfigError, type NetConfig } from './config.ts';
import type { Families } from './iface-select-v6.ts';
import type { Lease } from './lease.ts';
import type { DataplaneNetwork, NetworkStatus } from './backends/types.ts';

/** The families a config enables. */
export function familiesOf(config: NetConfig): Families {
  return { ipv4: config.enableIpv4, ipv6: config.enableIpv6 };
}

export const sameFamilies = (a: Families, b: Families): boolean => a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6;

/** The IPv6 VTEP's MAC (flannel's flannel-v6.<VNI> has its own): like vtepMacFor, from the node name, stable. */
export function vtepMacV6For(nodeName: string): string {
  const h = createHash('sha256').update(`weft-vtep6:${nodeName}`).digest();
  return [0x0a, 0x58, h[0]!, h[1]!, h[2]!, h[3]!].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** LeaseAttrs.BackendV6Data as flanneld's vxlan writes it (VNI and the IPv6 VTEP MAC); none for other backends. */
export function backendV6Data(config: NetConfig, nodeName: string): unknown {
  if (!config.enableIpv6 || config.backend.type !== 'vxlan') return undefined;
  return { VNI: config.backend.vni, VtepMAC: vtepMacV6For(nodeName) };
}

/** Why IPv6 pod traffic is not forwarded, naming the backend: the one line the log and /status carry. */
export function ipv6NotForwarded(config: NetConfig): string {
  return `IPv6 pod traffic is not forwarded yet by backend ${config.backend.type}: the IPv6 subnet is leased and written to subnet.env, but no IPv6 route or device is installed`;
}

/**
 * The `ipv6` part of /status: the IPv6 lease and whether it is forwarded. `forwarding` says how, for a backend that
 * forwards IPv6 pod traffic; without it the reason is ipv6NotForwarded's.
 */
export function ipv6Status(
  config: NetConfig,
  lease: Lease | null,
  publicIpv6: string | undefined,
  forwarding?: string,
): { subnet: string; publicIp: string; forwarded: boolean; reason: string } | undefined {
  if (!config.enableIpv6 || !lease?.ipv6Subnet) return undefined;
  return {
    subnet: formatIpv6Prefix(lease.ipv6Subnet),
    publicIp: publicIpv6 ?? '',
    forwarded: forwarding !== undefined,
    reason: forwarding ?? ipv6NotForwarded(config),
  };
}

/** The `lease` part of /status (AgentStatus.lease). */
export interface LeaseStatus {
  /** The IPv4 subnet; absent on an IPv6-only node (flannel writes no FLANNEL_SUBNET there either). */
  subnet?: string;
  /** The IPv6 subnet, with EnableIPv6 (FLANNEL_IPV6_SUBNET's network). */
  ipv6Subnet?: string;
  publicIp: string;
  publicIpv6?: string;
  expiresAt: number;
  /** vxlan: the IPv4 VTEP's MAC (BackendData), with IPv4. */
  vtepMac?: string;
  /** vxlan: the IPv6 VTEP's MAC (BackendV6Data), with IPv6. */
  vtepMacV6?: string;
}

/**
 * The lease as /status shows it: per family only what the config enables, so an IPv6-only node shows its IPv6
 * subnet and no IPv4 one (not the lease key's 0.0.0.0/0 placeholder). `vtepMac`: the IPv4 VTEP's (vxlan).
 */
export function leaseStatus(
  config: NetConfig,
  lease: Lease,
  publicIp: string,
  publicIpv6: string | undefined,
  vtepMac: string,
  nodeName: string,
): LeaseStatus {
  const vxlan = config.backend.type === 'vxlan';
  const v6 = config.enableIpv6 && lease.ipv6Subnet;
  return {
    ...(config.enableIpv4 && { subnet: formatIpv4Prefix(lease.subnet) }),
    ...(v6 && { ipv6Subnet: formatIpv6Prefix(v6) }),
    publicIp,
    ...(config.enableIpv6 && publicIpv6 && { publicIpv6 }),
    expiresAt: lease.expiresAt,
    ...(vxlan && config.enableIpv4 && { vtepMac }),
    ...(vxlan && v6 && { vtepMacV6: vtepMacV6For(nodeName) }),
  };
}

/** How the native backend forwards IPv6 (flannel's host-gw): the /status reason. */
export const NATIVE_IPV6_FORWARDING =
  "kernel routes to the peers' IPv6 subnets via their IPv6 underlay addresses (host-gw; BGP: IPv6 unicast routes)";

/**
 * Refuses what IPv6 only cannot do yet: BGP with an overlay backend (its peers need VTEP MACs that IPv6 unicast
 * routes do not carry). Native with BGP works: IPv6 sessions, IPv6 unicast routes, a router ID from
 * --bgp-router-id or the node name's hash (bgp-router-id.ts).
 */
export function checkIpv6OnlySupported(config: NetConfig, routeSync: string): void {
  if (!config.enableIpv4 && routeSync === 'bgp' && config.backend.type !== 'native')
    throw new ConfigError(
      '--route-sync',
      `EnableIPv4 false (IPv6 only) with BGP routes IPv6 unicast as kernel routes: use Backend.Type native (not ${config.backend.type}), dual stack, or --route-sync=lease`,
    );
}

/** IPv6 encapsulation overheads: vxlan 70 (flannel's: 40 IPv6 + 8 UDP + 8 VXLAN + 14 Ethernet), udp 48, native 0. */
const IPV6_OVERHEAD: Readonly<Record<string, number>> = { vxlan: 70, udp: 48, native: 0 };

/**
 * The dataplane of an IPv6-only node until IPv6 forwarding exists: holds the lease, installs nothing, routes nothing
 * (peer changes are IPv4 routes, and an IPv6-only cluster has none). `mtu` is what the backend would give IPv6 pods.
 */
export class HeldLeaseNetwork implements DataplaneNetwork {
  readonly backend: string;
  readonly mtu: number;

  constructor(config: NetConfig, underlayMtu: number) {
    this.backend = config.backend.type;
    this.mtu = underlayMtu - (IPV6_OVERHEAD[config.backend.type] ?? 0);
  }

  async start(): Promise<void> {}
  async apply(): Promise<void> {}
  status(): NetworkStatus {
    return { backend: this.backend, mtu: this.mtu, routes: [] };
  }
  async stop(): Promise<void> {}
}
