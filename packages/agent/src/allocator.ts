// Choosing a free subnet. Pure: the config, the taken subnets and a random source in, a subnet out.
import type { NetConfig } from './config.ts';
import { ipv4PrefixSize, type Ipv4Prefix } from '@weft/netaddr';
import type { Lease } from './lease.ts';

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

/** True when `subnet` is one of the leasable subnets of `cfg` (right size, aligned, inside the range). */
export function isLeasable(cfg: NetConfig, subnet: Ipv4Prefix): boolean {
  return (
    subnet.prefixLen === cfg.subnetLen &&
    subnet.ip >= cfg.subnetMin &&
    subnet.ip <= cfg.subnetMax &&
    (subnet.ip - cfg.subnetMin) % ipv4PrefixSize(cfg.subnetLen) === 0
  );
}
