// In-memory LeaseStore: the fake for fast lease-manager tests and in-process two-agent setups. It keeps the
// same contract as the real stores (revisions, expiry as `removed` events, compaction) and can be switched
// "unreachable" to exercise outage handling.
import type { Ipv4Prefix, Ipv6Prefix } from '@weft/netaddr';
import { leaseKey } from '../subnet-key.ts';
import {
  LeaseNotFoundError,
  RevisionCompactedError,
  overlapsFamily,
  StoreUnavailableError,
  type Lease,
  type LeaseAttrs,
  type LeaseBatch,
  type LeaseEvent,
  type LeaseSnapshot,
  type LeaseStore,
} from '../lease.ts';
import { abortableSleep } from './sleep.ts';

export interface MemoryStoreOptions {
  /** Milliseconds since the epoch (inject for tests). */
  now?: () => number;
  /** How often watchers look for expired leases. */
  pollMs?: number;
  /** Revisions of history kept for watchers. */
  historyLimit?: number;
}

export class MemoryLeaseStore implements LeaseStore {
  private config: string | null = null;
  private readonly leases = new Map<string, Lease>();
  private readonly history: { rev: number; event: LeaseEvent }[] = [];
  private revision = 0;
  private available = true;
  private closed = false;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly historyLimit: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs ?? 20;
    this.historyLimit = opts.historyLimit ?? 1000;
  }

  /** Test hook: while false every call (and every watch) fails with StoreUnavailableError. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  async getConfig(): Promise<string | null> {
    this.check();
    return this.config;
  }

  async putConfig(json: string): Promise<void> {
    this.check();
    this.config = json;
  }

  async listLeases(): Promise<LeaseSnapshot> {
    this.check();
    this.sweep();
    return { leases: [...this.leases.values()], revision: this.revision };
  }

  /** Also null when another lease (under another key) holds either of the subnets. */
  async createLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease | null> {
    this.check();
    this.sweep();
    if (this.leases.has(leaseKey(subnet, ipv6Subnet))) return null;
    if ([...this.leases.values()].some((l) => overlapsFamily(l, subnet, ipv6Subnet ?? null))) return null;
    return this.put(subnet, attrs, ttlMs, ipv6Subnet);
  }

  async renewLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease> {
    this.check();
    this.sweep();
    const key = leaseKey(subnet, ipv6Subnet);
    if (!this.leases.has(key)) throw new LeaseNotFoundError(`no lease for ${key}`);
    return this.put(subnet, attrs, ttlMs, ipv6Subnet);
  }

  async deleteLease(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): Promise<boolean> {
    this.check();
    const lease = this.leases.get(leaseKey(subnet, ipv6Subnet));
    if (!lease) return false;
    this.remove(lease);
    return true;
  }

  async watchLeases(afterRevision: number, onBatch: (b: LeaseBatch) => void, signal: AbortSignal): Promise<void> {
    let seen = afterRevision;
    while (!signal.aborted) {
      this.check();
      this.sweep();
      const oldest = this.history[0]?.rev ?? this.revision + 1;
      if (seen < oldest - 1) throw new RevisionCompactedError(`revision ${seen} is compacted (oldest kept ${oldest})`);
      const events = this.history.filter((h) => h.rev > seen).map((h) => h.event);
      if (events.length > 0) {
        seen = this.revision;
        onBatch({ revision: seen, events });
      }
      await abortableSleep(this.pollMs, signal);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new StoreUnavailableError('memory store is closed');
    if (!this.available) throw new StoreUnavailableError('memory store is unavailable (test switch)');
  }

  private put(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number, ipv6Subnet?: Ipv6Prefix | null): Lease {
    const lease: Lease = { subnet, ...(ipv6Subnet ? { ipv6Subnet } : {}), attrs, expiresAt: this.now() + ttlMs };
    this.leases.set(leaseKey(subnet, ipv6Subnet), lease);
    this.log({ type: 'added', lease });
    return lease;
  }

  private remove(lease: Lease): void {
    this.leases.delete(leaseKey(lease.subnet, lease.ipv6Subnet));
    this.log({ type: 'removed', lease });
  }

  private sweep(): void {
    const now = this.now();
    for (const l of [...this.leases.values()]) if (l.expiresAt <= now) this.remove(l);
  }

  private log(event: LeaseEvent): void {
    this.history.push({ rev: ++this.revision, event });
    if (this.history.length > this.historyLimit) this.history.shift();
  }
}
