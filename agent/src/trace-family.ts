// The address family of a `weft trace` ping: which of a pod's addresses it uses, which subnet and underlay
// address of a node belong to that family, what the backend puts in front of the pod's packet, and what a tcpdump
// on a node's eth0 must let through to see it.
//
// Design notes: an IPv6 ping on an overlay backend leaves the node over the IPv6 underlay (both lab nodes have a
// PublicIPv6), so the kernel adds a 40-byte IPv6 header where IPv4 has 20. The agents' pcapng "wire" side
// synthesizes an outer IPv4 header, so for IPv6 the underlay bytes come from a tcpdump on eth0 instead.
import {
  ipv4PrefixContains,
  ipv6PrefixContains,
  tryParseIpv4,
  tryParseIpv4Prefix,
  tryParseIpv6,
  tryParseIpv6Prefix,
} from '@weft/netaddr';

export type TraceFamily = 4 | 6;
export type TraceBackend = 'udp' | 'vxlan' | 'native';

export interface FamilyPod {
  ip: string;
  ip6?: string;
}

export interface FamilyNode {
  underlayIp: string;
  underlayIp6?: string;
  subnet: string | null;
  subnet6?: string | null;
}

const isV6 = (text: string | null | undefined) => !!text?.includes(':');

/** The pod's address of `family` (an IPv6-only lab's pods have their IPv6 address as `ip`), or undefined. */
export function podAddress(pod: FamilyPod, family: TraceFamily): string | undefined {
  if (family === 4) return isV6(pod.ip) ? undefined : pod.ip;
  return pod.ip6 ?? (isV6(pod.ip) ? pod.ip : undefined);
}

/** The node's pod subnet of `family`, or null when it leases none. */
export function nodeSubnet(node: FamilyNode, family: TraceFamily): string | null {
  if (family === 4) return isV6(node.subnet) ? null : node.subnet;
  return node.subnet6 ?? (isV6(node.subnet) ? node.subnet : null);
}

/** The node's underlay address the backend uses for `family`'s pod traffic. */
export function nodeUnderlay(node: FamilyNode, family: TraceFamily): string {
  return family === 6 && node.underlayIp6 ? node.underlayIp6 : node.underlayIp;
}

/** Whether `ip` lies inside `cidr`; false for text that is not an address or prefix, or across families. */
export function inSubnet(ip: string, cidr: string): boolean {
  if (isV6(ip)) {
    const net = tryParseIpv6Prefix(cidr, { strict: false });
    const addr = tryParseIpv6(ip);
    return net !== null && addr !== null && ipv6PrefixContains(net, addr);
  }
  const net = tryParseIpv4Prefix(cidr, { strict: false });
  const addr = tryParseIpv4(ip);
  return net !== null && addr !== null && ipv4PrefixContains(net, addr);
}

/** Header bytes the backend adds for `family`: [written by weft, written by the kernel's UDP/IP stack, how]. */
export function overhead(backend: TraceBackend, family: TraceFamily): [number, number, string] {
  const [ip, name] = family === 6 ? [40, 'IPv6'] : [20, 'IPv4'];
  if (backend === 'vxlan')
    return [22, 8 + ip, `VXLAN header 8 + inner Ethernet 14 written by weft, UDP 8 + ${name} ${ip} by the kernel`];
  if (backend === 'udp')
    return [0, 8 + ip, `nothing written by weft (the packet is the UDP payload), UDP 8 + ${name} ${ip} by the kernel`];
  return [0, 0, 'none: the pod packet is routed as it is'];
}

/** tcpdump filter for a node's eth0: the bare ping (native) or its encapsulation (overlays, IPv6 underlay). */
export function underlayFilter(backend: TraceBackend, family: TraceFamily): string {
  if (family === 4) return 'icmp';
  return backend === 'native' ? 'icmp6' : 'ip6 or udp port 8285';
}

/** ICMP echo request/reply types and field names of `family`, as @weft/explain names them. */
export function echoFields(family: TraceFamily) {
  return family === 6
    ? {
        type: 'icmpv6.type',
        request: 128,
        reply: 129,
        src: 'ipv6.src',
        dst: 'ipv6.dst',
        ident: 'icmpv6.echo.identifier',
        seq: 'icmpv6.echo.sequence_number',
      }
    : { type: 'icmp.type', request: 8, reply: 0, src: 'ip.src', dst: 'ip.dst', ident: 'icmp.ident', seq: 'icmp.seq' };
}
