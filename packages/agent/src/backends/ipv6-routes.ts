// IPv6 routes that come on their own, not as the IPv6 side of a dual-stack lease (PeerChange.ipv6): BGP's IPv6
// unicast routes, which a speaker learns independently of any IPv4 route. A backend that can install them (native:
// kernel routes) offers `applyIpv6`; the agent hands them to nothing else.
import type { Ipv6Prefix } from '@weft/netaddr';
import type { DataplaneNetwork } from './types.ts';

/** One IPv6 peer subnet appearing or disappearing, with its IPv6 next hop. */
export interface Ipv6PeerChange {
  type: 'added' | 'removed';
  subnet: Ipv6Prefix;
  /** The peer's IPv6 underlay address (RFC 5952 text): the next hop. */
  publicIp: string;
}

/** A backend that installs IPv6 routes given on their own. */
export interface Ipv6RouteTarget {
  /** Applies a batch of IPv6 route changes; resolves when they are in effect. */
  applyIpv6(changes: readonly Ipv6PeerChange[]): Promise<void>;
}

/** True when `n` installs IPv6 routes given on their own (native). */
export function routesIpv6(n: DataplaneNetwork): n is DataplaneNetwork & Ipv6RouteTarget {
  return typeof (n as Partial<Ipv6RouteTarget>).applyIpv6 === 'function';
}
