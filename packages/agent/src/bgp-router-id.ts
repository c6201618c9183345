// The BGP identifier of the agent's speaker: 32 bits written as a dotted quad (RFC 4271 §4.2), non-zero (RFC 6286
// §2.1), even on IPv6 sessions (MP-BGP keeps the 4-octet identifier). A node with an IPv4 address uses it, as
// before. An IPv6-only node has none, so, as calico/node does with CALICO_ROUTER_ID=hash, it takes the first four
// bytes of SHA-256 over its node name, moved out of the multicast/reserved range (first octet > 223 loses 32), so
// the ID is stable across restarts and differs between nodes. `--bgp-router-id` overrides either.
import { createHash } from 'node:crypto';
import { tryParseIpv4 } from '@weft/netaddr';

/** How the router ID was chosen, for the start log line. */
export type RouterIdSource = 'flag' | 'ipv4-address' | 'node-name-hash';

/** The ID derived from `name` (the node name): SHA-256's first 4 bytes as a dotted quad, first octet 1..223. */
export function hashRouterId(name: string): string {
  const h = createHash('sha256').update(name).digest();
  let first = h[0]!;
  if (first > 223) first -= 32;
  if (first === 0) first = 1; // 0.x.x.x is "this network"; a zero identifier is refused by every peer
  return [first, h[1]!, h[2]!, h[3]!].join('.');
}

/**
 * The router ID: `flag` (an address, or `hash`), else the node's IPv4 address, else (IPv6 only: `publicIp` is
 * 0.0.0.0) the hash of `name`. `flag` is validated by the flag parser (weft-flags.ts).
 */
export function chooseRouterId(
  flag: string | null | undefined,
  publicIp: string,
  name: string,
): { routerId: string; source: RouterIdSource } {
  if (flag && flag !== 'hash') return { routerId: flag, source: 'flag' };
  if (flag === 'hash') return { routerId: hashRouterId(name), source: 'flag' };
  const v4 = tryParseIpv4(publicIp);
  if (v4 !== null && v4 !== 0) return { routerId: publicIp, source: 'ipv4-address' };
  return { routerId: hashRouterId(name), source: 'node-name-hash' };
}
