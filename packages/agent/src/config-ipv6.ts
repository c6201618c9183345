// The IPv6 half of net-conf.json (flannel's EnableIPv6, IPv6Network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax)
// and the address families (EnableIPv4, default true). Pure; errors are config.ts's ConfigError.
//
// flannel's rules (pkg/subnet/config.go CheckNetworkConfig), which weft keeps:
// - EnableIPv6 needs IPv6Network. IPv6SubnetLen defaults to 64 when IPv6Network is a /62 or larger, else to the
//   network's prefix + 2 (four subnets); a network smaller than a /124 is refused.
// - A given IPv6SubnetLen is at most 126 and at least the network's prefix + 2.
// - IPv6SubnetMin defaults to the second subnet (the first is skipped, as for IPv4), IPv6SubnetMax to the last;
//   given ones must lie in IPv6Network on an IPv6SubnetLen boundary. weft also refuses Min above Max, and an
//   IPv4-mapped IPv6Network (its subnets would have no key flannel can parse).
// - EnableIPv4 false (IPv6 only) leaves the IPv4 keys unread; both families off is an error (flanneld: "none
//   defined stack"). Keys of a family that is off are warnings, never silently dropped.
import {
  formatIpv6,
  formatIpv6Prefix,
  ipv6HostBitsSet,
  ipv6PrefixContains,
  tryParseIpv6,
  tryParseIpv6Prefix,
  type Ipv6Prefix,
} from '@weft/netaddr';
import { ConfigError, type ConfigWarning } from './config.ts';

/** The IPv6 side of a validated net-conf.json (EnableIPv6 true). */
export interface Ipv6NetConfig {
  readonly network: Ipv6Prefix;
  readonly subnetLen: number;
  /** Network address of the lowest IPv6 subnet a node may lease. */
  readonly subnetMin: bigint;
  /** Network address of the highest IPv6 subnet a node may lease. */
  readonly subnetMax: bigint;
}

export const IPV6_KEYS = ['EnableIPv6', 'IPv6Network', 'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax'];
export const IPV4_KEYS = ['Network', 'SubnetLen', 'SubnetMin', 'SubnetMax'];
/** flannel's largest IPv6SubnetLen (a subnet needs room for a tunnel and a bridge address). */
export const MAX_IPV6_SUBNET_LEN = 126;
/** flannel's smallest useful IPv6Network when IPv6SubnetLen is not given. */
const MAX_IPV6_NETWORK_LEN = 124;

/** EnableIPv4 (default true) and EnableIPv6 (default false); throws ConfigError when both are off or not booleans. */
export function readFamilies(value: Record<string, unknown>): { ipv4: boolean; ipv6: boolean } {
  const ipv4 = readBool('EnableIPv4', value.EnableIPv4, true);
  const ipv6 = readBool('EnableIPv6', value.EnableIPv6, false);
  if (!ipv4 && !ipv6)
    throw new ConfigError('EnableIPv4', 'EnableIPv4 and EnableIPv6 are both false: there is no family to lease');
  return { ipv4, ipv6 };
}

/** Warnings for the keys of a family that is switched off (they are read by flannel neither). */
export function offFamilyWarnings(
  value: Record<string, unknown>,
  keys: readonly string[],
  why: string,
): ConfigWarning[] {
  return keys.filter((k) => value[k] !== undefined).map((field) => ({ field, message: `ignored: ${why}` }));
}

function readBool(field: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(field, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** The IPv6 side, validated by flannel's rules (module comment). Throws ConfigError naming the first bad key. */
export function readIpv6Config(value: Record<string, unknown>): Ipv6NetConfig {
  const network = readIpv6Network(value.IPv6Network);
  const subnetLen = readIpv6SubnetLen(value.IPv6SubnetLen, network);
  const size = 1n << BigInt(128 - subnetLen);
  const end = network.ip + (1n << BigInt(128 - network.prefixLen));
  const subnetMin = readIpv6Bound('IPv6SubnetMin', value.IPv6SubnetMin, network, subnetLen, network.ip + size);
  const subnetMax = readIpv6Bound('IPv6SubnetMax', value.IPv6SubnetMax, network, subnetLen, end - size);
  if (subnetMin > subnetMax)
    throw new ConfigError('IPv6SubnetMin', `${formatIpv6(subnetMin)} is above IPv6SubnetMax ${formatIpv6(subnetMax)}`);
  return { network, subnetLen, subnetMin, subnetMax };
}

function readIpv6Network(v: unknown): Ipv6Prefix {
  const example = 'an IPv6 CIDR such as "fd00:10:244::/56"';
  if (v === undefined || v === '') throw new ConfigError('IPv6Network', `missing; EnableIPv6 needs ${example}`);
  if (typeof v !== 'string') throw new ConfigError('IPv6Network', `expected ${example}`);
  const loose = tryParseIpv6Prefix(v, { strict: false });
  if (!loose) throw new ConfigError('IPv6Network', `"${v}" is not ${example}`);
  if (!tryParseIpv6Prefix(v))
    throw new ConfigError('IPv6Network', `"${v}" has host bits set; did you mean "${formatIpv6Prefix(loose)}"?`);
  // Go prints these addresses dotted (::ffff:10.0.0.0 as 10.0.0.0), which flannel's lease keys cannot hold.
  if (loose.ip >> 32n === 0xffffn)
    throw new ConfigError('IPv6Network', `"${v}" is IPv4-mapped (::ffff:0:0/96); use an IPv6 prefix such as fd00::/56`);
  return loose;
}

function readIpv6SubnetLen(v: unknown, network: Ipv6Prefix): number {
  if (v === undefined || v === 0) {
    if (network.prefixLen > MAX_IPV6_NETWORK_LEN)
      throw new ConfigError(
        'IPv6Network',
        `/${network.prefixLen} is too small: the smallest useful IPv6Network is a /${MAX_IPV6_NETWORK_LEN}`,
      );
    return network.prefixLen <= 62 ? 64 : network.prefixLen + 2;
  }
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ConfigError('IPv6SubnetLen', 'expected an integer prefix length such as 64');
  const min = network.prefixLen + 2;
  if (v < min || v > MAX_IPV6_SUBNET_LEN)
    throw new ConfigError(
      'IPv6SubnetLen',
      `${v} is out of range: expected ${min}..${MAX_IPV6_SUBNET_LEN} for IPv6Network /${network.prefixLen} (at least four subnets)`,
    );
  return v;
}

function readIpv6Bound(field: string, v: unknown, network: Ipv6Prefix, len: number, fallback: bigint): bigint {
  if (v === undefined || v === '') return fallback;
  const ip = typeof v === 'string' ? tryParseIpv6(v) : null;
  if (ip === null)
    throw new ConfigError(field, `expected an IPv6 address such as "fd00:10:244:1::", got ${JSON.stringify(v)}`);
  if (!ipv6PrefixContains(network, ip))
    throw new ConfigError(field, `${v} is outside IPv6Network ${formatIpv6Prefix(network)}`);
  if (ipv6HostBitsSet(ip, len)) throw new ConfigError(field, `${v} is not on a /${len} subnet boundary`);
  return ip;
}
