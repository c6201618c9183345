// What a neighbour is configured with (`Speaker.addPeer`) and what its status reports (`weft status`, metrics).
import type { SessionState } from '../fsm/types.ts';
import type { Afi } from '../types.ts';

/** A neighbour as `addPeer` takes it. */
export interface PeerConfig {
  /** The neighbour's address (IPv4 or IPv6 text); also its id in the speaker. */
  address: string;
  as: number;
  /** TCP port to connect to (default 179). */
  port?: number;
  /** Wait for the neighbour to connect; never connect ourselves. */
  passive?: boolean;
  /** This neighbour is a route-reflector client of ours (RFC 4456). */
  routeReflectorClient?: boolean;
  /** Our proposed hold time for this session (default: the speaker's). */
  holdTime?: number;
  /** Source address for our connection and the "next hop self" address. */
  localAddress?: string;
  /** Rewrite the next hop of iBGP-learned routes to our address (BIRD's `next hop self`). */
  nextHopSelf?: boolean;
  /** Unicast families to offer this neighbour (RFC 4760); default both. The session uses what both offer. */
  families?: Afi[];
  /**
   * Our next hop per family when `localAddress` is not of that family: the IPv6 one on an IPv4 session (how
   * Calico carries IPv6), the IPv4 one on an IPv6 session; `ipv6LinkLocal` adds RFC 2545's link-local half.
   * Without one, routes of that family are not sent (no RFC 8950 extended next hop).
   */
  nextHops?: { ipv4?: string; ipv6?: string; ipv6LinkLocal?: string };
  /**
   * RFC 8950: offer IPv4 unicast with IPv6 next hops. Used only when the neighbour offers it too; then IPv4 routes
   * without an IPv4 next hop (an IPv6 session, no `nextHops.ipv4`) go with our IPv6 one, and theirs are taken.
   */
  extendedNextHop?: boolean;
}

/** Per-peer status for `weft status` and metrics. */
export interface PeerStatus {
  address: string;
  as: number;
  state: keyof typeof SessionState;
  /** Seconds since the session reached Established; 0 when it is not. */
  uptimeSeconds: number;
  prefixesReceived: number;
  prefixesSent: number;
  /** Routes kept from a restarting peer (graceful restart). */
  prefixesStale: number;
  lastError: string | null;
  /** Families the session negotiated (RFC 4760 §8); empty while it is not up. */
  families: ('ipv4' | 'ipv6')[];
  /** Prefixes received for a family that was not negotiated, ignored (this session). */
  prefixesIgnored: number;
}
