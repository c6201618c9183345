// flannel's key form of a lease (its MakeSubnetKey / ParseSubnetKey), the name of the lease in etcd and in the
// embedded store. The `/` of a CIDR would be a path separator in etcd keys and file names, so it is `-`:
//   IPv4 only    10.244.1.0-24
//   dual stack   10.244.1.0-24&fd00:0:0:1::-64          (IPv4 part, `&`, IPv6 part)
//   IPv6 only    0.0.0.0-0&fd00:0:0:1::-64              (flannel keeps an empty IPv4 net, 0.0.0.0/0, in front)
// The IPv6 part is Go's net.IP text, which for the unicast prefixes a cluster uses is RFC 5952's (lowercase, the
// longest run of two or more zero groups as `::`), the form formatIpv6 writes; flannel's parser takes only
// lowercase hex digits and colons there, so a key with an IPv4-dotted IPv6 tail is refused, as flannel does.
import {
  formatIpv4,
  formatIpv6,
  tryParseIpv4Prefix,
  tryParseIpv6Prefix,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '@weft/netaddr';

/** flannel's empty IPv4 net: the IPv4 part of an IPv6-only lease. A /0 is never a leasable subnet. */
export const NO_IPV4_SUBNET: Ipv4Prefix = Object.freeze({ ip: 0, prefixLen: 0 });

/** True unless `subnet` is NO_IPV4_SUBNET (an IPv6-only lease). */
export function hasIpv4Subnet(subnet: Ipv4Prefix): boolean {
  return subnet.prefixLen !== 0;
}

/** `10.244.1.0-24` for 10.244.1.0/24 (the IPv4 part of every key). */
export function subnetKey(net: Ipv4Prefix): string {
  return `${formatIpv4(net.ip)}-${net.prefixLen}`;
}

/**
 * flannel's MakeSubnetKey: `subnetKey(v4)` alone without an IPv6 subnet, else `V4NET-LEN&V6NET-LEN`; an IPv6-only
 * lease passes NO_IPV4_SUBNET and gets `0.0.0.0-0&V6NET-LEN`.
 */
export function leaseKey(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): string {
  const v4 = subnetKey(subnet);
  return ipv6Subnet ? `${v4}&${formatIpv6(ipv6Subnet.ip)}-${ipv6Subnet.prefixLen}` : v4;
}

/** The subnets a lease key names; `subnet` is NO_IPV4_SUBNET for an IPv6-only key. */
export interface KeySubnets {
  readonly subnet: Ipv4Prefix;
  readonly ipv6Subnet: Ipv6Prefix | null;
}

/**
 * Parses any of the three key forms (host bits must be zero in both parts); null when malformed, when the IPv6 part
 * is not lowercase hex and colons (flannel's pattern), or for a bare `0.0.0.0-0` (no subnet at all).
 */
export function parseLeaseKey(key: string): KeySubnets | null {
  const amp = key.indexOf('&');
  const subnet = parseSubnetKey(amp < 0 ? key : key.slice(0, amp), true);
  if (!subnet) return null;
  if (amp < 0) return hasIpv4Subnet(subnet) ? { subnet, ipv6Subnet: null } : null;
  const v6 = key.slice(amp + 1);
  const dash = v6.lastIndexOf('-');
  if (dash < 0 || !/^[0-9a-f:]+$/.test(v6.slice(0, dash)) || !/^\d{1,3}$/.test(v6.slice(dash + 1))) return null;
  const ipv6Subnet = tryParseIpv6Prefix(`${v6.slice(0, dash)}/${v6.slice(dash + 1)}`);
  return ipv6Subnet ? { subnet, ipv6Subnet } : null;
}

/**
 * Parses the IPv4 form `10.244.1.0-24` (host bits must be zero); null when malformed, and for `0.0.0.0-0` unless
 * `allowEmpty` (the IPv4 part of an IPv6-only key).
 */
export function parseSubnetKey(key: string, allowEmpty = false): Ipv4Prefix | null {
  const dash = key.lastIndexOf('-');
  if (dash < 0) return null;
  const net = tryParseIpv4Prefix(`${key.slice(0, dash)}/${key.slice(dash + 1)}`);
  if (net && !hasIpv4Subnet(net)) return allowEmpty && net.ip === 0 ? NO_IPV4_SUBNET : null;
  return net;
}
