// The agent's peer limit (--max-peers): batches of peer changes pass through here before the backend, which
// then never holds more than `limit` peers. Peers beyond the limit wait, in arrival order, and are admitted as
// soon as others leave; while any wait, the agent reports itself not ready (a partial table is never silent).
//
// Design notes: a pure core (no I/O, no logging): `filter` returns the changes the backend must apply and
// `state` what /status, the metrics and the readiness check report. Keys are lease keys (or subnet texts), so an update of an
// admitted peer passes straight through and an update of a waiting one replaces its queued change.
import { peerKey, type PeerChange } from './types.ts';

export interface PeerLimitState {
  /** The most peers the backend holds. */
  limit: number;
  /** Peers in the backend. */
  admitted: number;
  /** Peers known from the route source but left out because of the limit. */
  waiting: number;
}

export class PeerLimiter {
  private readonly admitted = new Set<string>();
  /** Insertion-ordered: the longest waiting is admitted first. */
  private readonly waiting = new Map<string, PeerChange>();

  /** `limit` >= 0: the most peers the backend may hold. */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`peer limit ${limit}: use an integer >= 0`);
  }

  /** The changes to apply, in order: what fits, and waiting peers admitted into room made by removals. */
  filter(changes: readonly PeerChange[]): PeerChange[] {
    const out: PeerChange[] = [];
    for (const c of changes) {
      const key = peerKey(c);
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
 * The default limit: as many peers as the cluster network has subnets of `subnetLen` besides this node's, at
 * most `cap` (the peer table's index range). 10.0.0.0/8 with /24 subnets gives 65,535.
 */
export function defaultPeerLimit(networkPrefixLen: number, subnetLen: number, cap: number): number {
  const bits = Math.max(0, subnetLen - networkPrefixLen);
  return bits >= 31 ? cap : Math.min(cap, 2 ** bits - 1);
}
