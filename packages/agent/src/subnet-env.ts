// flannel's /run/flannel/subnet.env, which CNI plugins read to configure pods:
//   FLANNEL_NETWORK=10.244.0.0/16  FLANNEL_SUBNET=10.244.1.1/24  FLANNEL_MTU=1450  FLANNEL_IPMASQ=false
// With EnableIPv6, flanneld's WriteSubnetFile adds FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET (first address
// of the subnet, e.g. 2001:cafe:42::1/64) after the IPv4 pair, and with EnableIPv4 false leaves the IPv4 pair out.
// Written atomically (temp file + rename) so a reader never sees half a file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NetConfig } from './config.ts';
import {
  formatIpv4,
  formatIpv4Prefix,
  formatIpv6,
  formatIpv6Prefix,
  tryParseIpv4Prefix,
  tryParseIpv6Prefix,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '@weft/netaddr';

/**
 * FLANNEL_SUBNET is the subnet's first host address with the subnet's prefix length, as flannel writes it; the
 * same for FLANNEL_IPV6_SUBNET. The IPv4 pair is written when the config enables IPv4, the IPv6 pair when it
 * enables IPv6 (then `ipv6Subnet` is required), in flanneld's order.
 */
export function subnetEnvValues(
  config: NetConfig,
  subnet: Ipv4Prefix,
  mtu: number,
  ipMasq: boolean,
  ipv6Subnet?: Ipv6Prefix | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.enableIpv4) {
    out.FLANNEL_NETWORK = formatIpv4Prefix(config.network);
    out.FLANNEL_SUBNET = `${formatIpv4(subnet.ip + 1)}/${subnet.prefixLen}`;
  }
  if (config.ipv6) {
    if (!ipv6Subnet) throw new RangeError('EnableIPv6 is on but the lease has no IPv6 subnet');
    out.FLANNEL_IPV6_NETWORK = formatIpv6Prefix(config.ipv6.network);
    out.FLANNEL_IPV6_SUBNET = `${formatIpv6(ipv6Subnet.ip + 1n)}/${ipv6Subnet.prefixLen}`;
  }
  out.FLANNEL_MTU = String(mtu);
  out.FLANNEL_IPMASQ = String(ipMasq);
  return out;
}

/** KEY=value lines, in the order given. */
export function formatSubnetEnv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** Writes the file atomically, creating its directory. */
export function writeSubnetEnv(path: string, values: Record<string, string>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatSubnetEnv(values));
  renameSync(tmp, path);
}

/** Parses KEY=value lines (ours or flanneld's); blank lines and `#` comments are skipped. */
export function parseSubnetEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.trimStart().startsWith('#')) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * The subnet an earlier run leased, from FLANNEL_SUBNET (`10.244.1.1/24` → 10.244.1.0/24), or null. flanneld
 * reads its old subnet.env the same way, to ask for the same subnet again (LeaseManager `previousSubnet`).
 */
export function previousSubnetFromEnv(values: Record<string, string>): Ipv4Prefix | null {
  const text = values.FLANNEL_SUBNET;
  return text ? tryParseIpv4Prefix(text, { strict: false }) : null;
}

/** The IPv6 subnet an earlier run leased, from FLANNEL_IPV6_SUBNET (`fd00:0:0:1::1/64` → fd00:0:0:1::/64), or null. */
export function previousIpv6SubnetFromEnv(values: Record<string, string>): Ipv6Prefix | null {
  const text = values.FLANNEL_IPV6_SUBNET;
  return text ? tryParseIpv6Prefix(text, { strict: false }) : null;
}

/** Reads and parses a subnet.env file; null when it does not exist or cannot be read. */
export function readSubnetEnv(path: string): Record<string, string> | null {
  try {
    return parseSubnetEnv(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
