// Lease watching as pure diffs, in flannel's LeaseWatcher shape: the store's view in, added/removed
// events for the dataplane out. The node's own lease never appears (it has no route to itself).
// A renewal (same attrs, later expiry) produces no event, so the FIB does not churn every renewal.
import type { Ipv4Prefix, Ipv6Prefix } from '@weft/netaddr';
import { leaseKey } from './subnet-key.ts';
import { sameAttrs, type Lease, type LeaseEvent } from './lease.ts';

export class LeaseWatcher {
  private readonly known = new Map<string, Lease>();
  private ownKey: string | null = null;

  /** Sets (or clears) the node's own subnet(s); its lease is excluded from events from then on. */
  setOwn(subnet: Ipv4Prefix | null, ipv6Subnet?: Ipv6Prefix | null): void {
    this.ownKey = subnet ? leaseKey(subnet, ipv6Subnet) : null;
    if (this.ownKey) this.known.delete(this.ownKey);
  }

  /** The peers' leases as last seen. */
  leases(): Lease[] {
    return [...this.known.values()];
  }

  /**
   * Replaces the whole view with a fresh listing (after start or a store outage): returns `removed` for
   * leases gone and `added` for leases new or changed.
   */
  reset(leases: readonly Lease[]): LeaseEvent[] {
    const fresh = new Map<string, Lease>();
    for (const l of leases) if (keyOf(l) !== this.ownKey) fresh.set(keyOf(l), l);
    const events: LeaseEvent[] = [];
    for (const [key, old] of this.known) if (!fresh.has(key)) events.push({ type: 'removed', lease: old });
    for (const [key, l] of fresh) {
      const old = this.known.get(key);
      if (!old || !sameAttrs(old.attrs, l.attrs)) events.push({ type: 'added', lease: l });
    }
    this.known.clear();
    for (const [key, l] of fresh) this.known.set(key, l);
    return events;
  }

  /** Applies store events in order; returns the events the dataplane must act on. */
  update(events: readonly LeaseEvent[]): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const e of events) {
      const key = keyOf(e.lease);
      if (key === this.ownKey) continue;
      const old = this.known.get(key);
      if (e.type === 'removed') {
        if (!old) continue;
        this.known.delete(key);
        out.push({ type: 'removed', lease: old });
      } else {
        this.known.set(key, e.lease);
        if (!old || !sameAttrs(old.attrs, e.lease.attrs)) out.push(e);
      }
    }
    return out;
  }
}

/** Leases are told apart by their whole key: a dual-stack lease is not the IPv4-only one of the same subnet. */
const keyOf = (l: Lease): string => leaseKey(l.subnet, l.ipv6Subnet);
