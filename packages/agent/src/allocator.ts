// Choosing a free subnet. Pure: the config, the taken subnets and a random source in, a subnet out.
// IPv6 ranges can hold 2^64 subnets and more, so the IPv6 pick is bigint arithmetic, and its scan stops after as
// many steps as there are leases plus one (a free subnet is always among them).
import type { NetConfig } from './config.ts';
import { ipv4PrefixSize, ipv6PrefixEquals, type Ipv4Prefix, type Ipv6Prefix } from '@weft/netaddr';
import type { Lease } from './lease.ts';
import { hasIpv4Subnet, NO_IPV4_SUBNET } from './subnet-key.ts';

/**
 * Picks a free subnet in [SubnetMin, SubnetMax], starting at a random one and scanning upwards with
 * wrap-around, so concurrent nodes rarely try the same subnet. `rng` returns [0, 1). Null when all are taken.
 */
export function pickFreeSubnet(cfg: NetConfig, leases: readonly Lease[], rng: () => number): Ipv4Prefix | null {
  const step = ipv4PrefixSize(cfg.subnetLen);
  const count = (cfg.subnetMax - cfg.subnetMin) / step + 1;
  const taken = new Set<number>();
  for (const l of leases) if (l.subnet.prefixLen === cfg.subnetLen) taken.add(l.subnet.ip);
  const start = Math.min(count - 1, Math.floor(rng() * count));
  for (let i = 0; i < count; i++) {
    const ip = cfg.subnetMin + ((start + i) % count) * step;
    if (!taken.has(ip)) return { ip, prefixLen: cfg.subnetLen };
  }
  return null;
}

/** The IPv6 twin of pickFreeSubnet, in [IPv6SubnetMin, IPv6SubnetMax]; null when all are taken or IPv6 is off. */
export function pickFreeIpv6Subnet(cfg: NetConfig, leases: readonly Lease[], rng: () => number): Ipv6Prefix | null {
  const v6 = cfg.ipv6;
  if (!v6) return null;
  const step = 1n << BigInt(128 - v6.subnetLen);
  const count = (v6.subnetMax - v6.subnetMin) / step + 1n;
  const taken = new Set<bigint>();
  for (const l of leases) if (l.ipv6Subnet?.prefixLen === v6.subnetLen) taken.add(l.ipv6Subnet.ip);
  // rng's 53 bits scaled onto [0, count): exact for ranges up to 2^53 subnets, evenly spread beyond.
  const start = (BigInt(Math.floor(rng() * 2 ** 53)) * count) >> 53n;
  const steps = count < BigInt(taken.size + 1) ? count : BigInt(taken.size + 1);
  for (let i = 0n; i < steps; i++) {
    const ip = v6.subnetMin + ((start + i) % count) * step;
    if (!taken.has(ip)) return { ip, prefixLen: v6.subnetLen };
  }
  return null;
}

/** The subnets of one lease as the config asks for them: IPv4, IPv6 or both. */
export interface LeaseSubnets {
  readonly subnet: Ipv4Prefix;
  readonly ipv6Subnet: Ipv6Prefix | null;
}

/**
 * Free subnets for every family the config enables (NO_IPV4_SUBNET when IPv4 is off); null when a family has
 * none left.
 */
export function pickFreeSubnets(cfg: NetConfig, leases: readonly Lease[], rng: () => number): LeaseSubnets | null {
  const subnet = cfg.enableIpv4 ? pickFreeSubnet(cfg, leases, rng) : NO_IPV4_SUBNET;
  const ipv6Subnet = cfg.enableIpv6 ? pickFreeIpv6Subnet(cfg, leases, rng) : null;
  if (!subnet || (cfg.enableIpv6 && !ipv6Subnet)) return null;
  return { subnet, ipv6Subnet };
}

/** True when `subnet` is one of the leasable subnets of `cfg` (right size, aligned, inside the range). */
export function isLeasable(cfg: NetConfig, subnet: Ipv4Prefix): boolean {
  return (
    subnet.prefixLen === cfg.subnetLen &&
    subnet.ip >= cfg.subnetMin &&
    subnet.ip <= cfg.subnetMax &&
    (subnet.ip - cfg.subnetMin) % ipv4PrefixSize(cfg.subnetLen) === 0
  );
}

/** The IPv6 twin of isLeasable; false when IPv6 is off. */
export function isLeasableIpv6(cfg: NetConfig, subnet: Ipv6Prefix): boolean {
  const v6 = cfg.ipv6;
  if (!v6 || subnet.prefixLen !== v6.subnetLen || subnet.ip < v6.subnetMin || subnet.ip > v6.subnetMax) return false;
  return (subnet.ip - v6.subnetMin) % (1n << BigInt(128 - v6.subnetLen)) === 0n;
}

/**
 * True when a lease's subnets fit the config in every family, as flannel's isSubnetConfigCompat and
 * isIPv6SubnetConfigCompat ask: each enabled family leasable, and no subnet of a family that is off.
 */
export function fitsConfig(cfg: NetConfig, subnet: Ipv4Prefix, ipv6Subnet: Ipv6Prefix | null | undefined): boolean {
  const v4 = cfg.enableIpv4 ? isLeasable(cfg, subnet) : !hasIpv4Subnet(subnet);
  const v6 = cfg.enableIpv6 ? !!ipv6Subnet && isLeasableIpv6(cfg, ipv6Subnet) : !ipv6Subnet;
  return v4 && v6;
}

/** True when `a` and `b` are the same pair of subnets (the same lease key). */
export function sameSubnets(a: LeaseSubnets, b: { subnet: Ipv4Prefix; ipv6Subnet?: Ipv6Prefix | null }): boolean {
  const v6 =
    a.ipv6Subnet && b.ipv6Subnet ? ipv6PrefixEquals(a.ipv6Subnet, b.ipv6Subnet) : !a.ipv6Subnet && !b.ipv6Subnet;
  return a.subnet.ip === b.subnet.ip && a.subnet.prefixLen === b.subnet.prefixLen && v6;
}
