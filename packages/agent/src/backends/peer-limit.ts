// The agent's peer limit (--max-peers): batches of peer changes pass through here before the backend, which
// then never holds more than `limit` peers. Peers beyond the limit wait, in arrival order, and are admitted as
// soon as others leave; while any wait, the agent reports itself not ready (a partial table is never silent).
//
// Design notes: a pure core (no I/O, no logging): `filter` returns the changes the backend must apply and
// `state` what /status, the metrics and the readiness check report. Keys are lease keys (or subnet texts), so an update of an
// admitted peer passes straight through and an update of a waiting one replaces its queued change.
// IPv6 routes that come on their own (BGP's IPv6 unicast, IPv6-only leases on native) have a limiter of their own
// (FamilyPeerLimits): a dual-stack peer is one route of each family, so each family may hold `limit` routes, and
// a peer counts once in the state (the larger family's count).
import { formatIpv6Prefix } from '@weft/netaddr';
import { peerKey, type PeerChange } from './types.ts';
import type { Ipv6PeerChange } from './ipv6-routes.ts';

export interface PeerLimitState {
  /** The most peers the backend holds. */
  limit: number;
  /** Peers in the backend. */
  admitted: number;
  /** Peers known from the route source but left out because of the limit. */
  waiting: number;
}

/** A change the limiter orders: a peer (or route) appearing or leaving. */
interface LimitedChange {
  type: 'added' | 'removed';
}

/**
 * PeerLimiter's `keyOf` argument: optional for PeerChange (and its subtypes), where peerKey names the peer, and
 * required for any other change type, which peerKey would misread. The tuple is wrapped so a union is not split.
 */
type KeyOfArg<C> = [C] extends [PeerChange] ? [keyOf?: (c: C) => string] : [keyOf: (c: C) => string];

export class PeerLimiter<C extends LimitedChange = PeerChange> {
  private readonly admitted = new Set<string>();
  /** Insertion-ordered: the longest waiting is admitted first. */
  private readonly waiting = new Map<string, C>();
  private readonly keyOf: (c: C) => string;

  /**
   * `limit` >= 0: the most peers the backend may hold. `keyOf` names a change's peer: required unless C is a
   * PeerChange, whose default is its lease key or IPv4 subnet (peerKey).
   */
  constructor(
    readonly limit: number,
    ...[keyOf = peerKey]: KeyOfArg<C>
  ) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`peer limit ${limit}: use an integer >= 0`);
    this.keyOf = keyOf;
  }

  /** The changes to apply, in order: what fits, and waiting peers admitted into room made by removals. */
  filter(changes: readonly C[]): C[] {
    const out: C[] = [];
    for (const c of changes) {
      const key = this.keyOf(c);
      if (c.type === 'removed') {
        if (this.waiting.delete(key)) continue;
        if (this.admitted.delete(key)) out.push(c);
      } else if (this.admitted.has(key)) {
        out.push(c);
      } else if (this.admitted.size < this.limit && this.waiting.size === 0) {
        this.admitted.add(key);
        out.push(c);
      } else {
        this.waiting.delete(key); // an update moves it to the back, as a new arrival
        this.waiting.set(key, c);
      }
    }
    for (const [key, c] of this.waiting) {
      if (this.admitted.size >= this.limit) break;
      this.waiting.delete(key);
      this.admitted.add(key);
      out.push(c);
    }
    return out;
  }

  state(): PeerLimitState {
    return { limit: this.limit, admitted: this.admitted.size, waiting: this.waiting.size };
  }

  /** A few of the waiting peers' subnets (for the log line that says the limit was hit). */
  waitingExamples(count = 3): string[] {
    const out: string[] = [];
    for (const key of this.waiting.keys()) {
      if (out.length >= count) break;
      out.push(key);
    }
    return out;
  }
}

/**
 * The peer limit of both kinds of change: peer changes (IPv4 subnets, leases) and IPv6 routes on their own, each
 * kind held to its limit. The state counts a peer once (the larger kind) and everything that waits.
 */
export class FamilyPeerLimits {
  readonly peers: PeerLimiter;
  readonly ipv6: PeerLimiter<Ipv6PeerChange>;

  /** `limit`: for peer changes; `limit6`: for IPv6 routes on their own (the IPv6 network's subnet count). */
  constructor(limit: number, limit6: number) {
    this.peers = new PeerLimiter(limit);
    this.ipv6 = new PeerLimiter<Ipv6PeerChange>(limit6, (c) => formatIpv6Prefix(c.subnet));
  }

  /** The changes of each kind to apply, in order (see PeerLimiter.filter). */
  filter(changes: readonly PeerChange[], ipv6: readonly Ipv6PeerChange[]): { v4: PeerChange[]; v6: Ipv6PeerChange[] } {
    return { v4: this.peers.filter(changes), v6: ipv6.length ? this.ipv6.filter(ipv6) : [] };
  }

  state(): PeerLimitState {
    const a = this.peers.state();
    const b = this.ipv6.state();
    const ipv6Only = a.admitted === 0 && a.waiting === 0;
    return {
      limit: ipv6Only ? b.limit : a.limit,
      admitted: Math.max(a.admitted, b.admitted),
      waiting: a.waiting + b.waiting,
    };
  }

  waitingExamples(count = 3): string[] {
    return [...this.peers.waitingExamples(count), ...this.ipv6.waitingExamples(count)].slice(0, count);
  }
}

/**
 * The default limit: as many peers as the cluster network has subnets of `subnetLen` besides this node's, at
 * most `cap` (the peer table's index range). 10.0.0.0/8 with /24 subnets gives 65,535.
 */
export function defaultPeerLimit(networkPrefixLen: number, subnetLen: number, cap: number): number {
  const bits = Math.max(0, subnetLen - networkPrefixLen);
  return bits >= 31 ? cap : Math.min(cap, 2 ** bits - 1);
}
