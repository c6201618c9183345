// flannel's key form of a subnet, `10.244.1.0-24`: the `/` of the CIDR would be a path separator in etcd keys and
// file names. The stores and the lease watcher key leases by it.
import { formatIpv4, tryParseIpv4Prefix, type Ipv4Prefix } from '@weft/netaddr';

/** `10.244.1.0-24` for 10.244.1.0/24. */
export function subnetKey(net: Ipv4Prefix): string {
  return `${formatIpv4(net.ip)}-${net.prefixLen}`;
}

/** Parses flannel's `10.244.1.0-24` key form (host bits must be zero); null when malformed. */
export function parseSubnetKey(key: string): Ipv4Prefix | null {
  const dash = key.lastIndexOf('-');
  if (dash < 0) return null;
  return tryParseIpv4Prefix(`${key.slice(0, dash)}/${key.slice(dash + 1)}`);
}
