// The node's side of subnet leasing, flannel's LocalManager in spirit: acquire a subnet (the same one again
// after a restart), renew it before its TTL runs out, and turn the store's view of the other leases into
// event batches for the dataplane.
// Outages: while the store cannot be reached the manager keeps the last known leases (so routes stay and
// packets keep flowing), logs once per failure, and retries with jittered exponential back-off. When the
// store answers again it lists everything and emits only the difference (LeaseWatcher.reset). If its own
// lease was lost meanwhile, it claims the same subnet again when that is still free, else a new one.
// Dual stack: one lease holds both subnets under one key (`V4NET-LEN&V6NET-LEN`, subnet-key.ts), so both families
// are claimed, renewed, lost and taken back together, as flannel does; an IPv6-only lease has NO_IPV4_SUBNET.
import type { Logger } from 'pino';
import { fitsConfig, pickFreeSubnets, sameSubnets, type LeaseSubnets } from './allocator.ts';
import type { NetConfig } from './config.ts';
import { formatIpv4Prefix, formatIpv6Prefix, type Ipv4Prefix, type Ipv6Prefix } from '@weft/netaddr';
import { hasIpv4Subnet, leaseKey } from './subnet-key.ts';
import {
  LeaseNotFoundError,
  NoFreeSubnetError,
  RevisionCompactedError,
  StoreUnavailableError,
  isOwnLease,
  overlapsFamily,
  type Lease,
  type LeaseAttrs,
  type LeaseEvent,
  type LeaseSnapshot,
  type LeaseStore,
  type NodeIdentity,
} from './lease.ts';
import { Backoff, abortableSleep } from './stores/sleep.ts';
import { LeaseWatcher } from './watcher.ts';

export interface LeaseManagerOptions {
  readonly store: LeaseStore;
  readonly config: NetConfig;
  readonly identity: NodeIdentity;
  /** Written into LeaseAttrs.BackendType, flannel's names (`udp`, `vxlan`, `host-gw`). */
  readonly backendType: string;
  /** LeaseAttrs.BackendData, e.g. `{ VNI: 1, VtepMAC: '0a:58:...' }` for vxlan. */
  readonly backendData?: unknown;
  /** LeaseAttrs.BackendV6Data (IPv6 enabled): the same for the IPv6 side, e.g. the IPv6 VTEP's VNI and MAC. */
  readonly backendV6Data?: unknown;
  /** Lease lifetime (default flannel's 24 h) and how long before expiry to renew (default 1 h). */
  readonly ttlMs?: number;
  readonly renewMarginMs?: number;
  /** Back-off bounds after store failures (default 1 s .. 30 s). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** A subnet to prefer when no lease of ours exists (e.g. read from an old subnet.env). */
  readonly previousSubnet?: Ipv4Prefix | null;
  /** The IPv6 subnet to prefer with it (FLANNEL_IPV6_SUBNET of the old subnet.env). */
  readonly previousIpv6Subnet?: Ipv6Prefix | null;
  readonly log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly rng?: () => number;
  readonly now?: () => number;
}

/** Callbacks of `LeaseManager.run`; they run synchronously inside the manager, so keep them short. */
export interface LeaseHandlers {
  /** Peer lease changes (own lease excluded), in order; a batch is never empty. */
  onEvents?(events: LeaseEvent[]): void;
  /** Our lease was renewed or re-acquired; `lease.subnet` differs from `previous.subnet` after a loss. */
  onLease?(lease: Lease, previous: Lease): void;
  /** The store became reachable or unreachable. */
  onStoreReachable?(reachable: boolean): void;
}

const DAY = 24 * 3600_000;
const MAX_CLAIM_ATTEMPTS = 16;
const noopLog = { info() {}, warn() {}, error() {}, debug() {} };

export class LeaseManager {
  private current: Lease | null = null;
  private readonly watcher = new LeaseWatcher();
  private reachable = true;
  /** Set when the store shows another node on our subnet: renewing would hijack it, so claim anew. */
  private lostToOther = false;
  private handlers: LeaseHandlers | null = null;
  /** While a store that lost our own lease is relearning (withHeldPeers), and when that last began. */
  private holding = false;
  private holdStartedAt = -Infinity;
  /** Receives peer lease events when watchPeers runs the watch (instead of run). */
  private peerEvents: ((events: LeaseEvent[]) => void) | null = null;
  private wakeRenew: () => void = () => {};
  private restartWatch: () => void = () => {};
  /**
   * The claim's listing, which the first watch round starts from instead of listing again (at 20,000 leases a
   * listing is megabytes from the store and as many objects here); the watch replays what changed since.
   */
  private claimListing: LeaseSnapshot | null = null;
  private watchStarted = false;
  private readonly log: NonNullable<LeaseManagerOptions['log']>;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly marginMs: number;

  constructor(private readonly opts: LeaseManagerOptions) {
    this.log = opts.log ?? noopLog;
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? DAY;
    this.marginMs = Math.min(opts.renewMarginMs ?? DAY / 24, this.ttlMs / 2);
  }

  /** Our lease, once acquired. */
  get lease(): Lease | null {
    return this.current;
  }

  /** The peers' leases as last seen (kept while the store is unreachable). */
  peers(): Lease[] {
    return this.watcher.leases();
  }

  get storeReachable(): boolean {
    return this.reachable;
  }

  /** The attrs this node writes into its lease. */
  get attrs(): LeaseAttrs {
    const { identity, backendType, backendData, backendV6Data, config } = this.opts;
    const v6 = config.enableIpv6;
    return {
      PublicIP: identity.publicIp,
      ...(v6 ? { PublicIPv6: identity.publicIpv6 ?? null } : {}),
      BackendType: backendType,
      ...(config.enableIpv4 && backendData !== undefined ? { BackendData: backendData } : {}),
      ...(v6 && backendV6Data !== undefined ? { BackendV6Data: backendV6Data } : {}),
      NodeName: identity.nodeName,
    };
  }

  /**
   * Leases a subnet: ours from before if the store still has it (matched by isOwnLease), else the preferred
   * one if free, else a random free one. Retries while the store is unreachable until `signal` aborts
   * (then rejects with the abort reason). Rejects with NoFreeSubnetError when the range is full.
   */
  async acquire(signal: AbortSignal): Promise<Lease> {
    const backoff = this.backoff();
    for (;;) {
      signal.throwIfAborted();
      try {
        const lease = await this.claim(this.current ? subnetsOf(this.current) : this.previousSubnets());
        this.setReachable(true);
        if (!this.current) this.reportContinuity(subnetsOf(lease));
        return this.adopt(lease);
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) throw e;
        this.storeFailed('acquire', e);
        await abortableSleep(backoff.next(), signal);
      }
    }
  }

  /**
   * Renews our lease and watches the others until `signal` aborts. Call after acquire(). With `watch: false`
   * (BGP route sync: routes come from the speaker) it only keeps our lease alive and never lists the others.
   */
  async run(handlers: LeaseHandlers, signal: AbortSignal, opts: { watch?: boolean } = {}): Promise<void> {
    if (!this.current) throw new Error('LeaseManager.run before acquire');
    this.handlers = handlers;
    await Promise.all([this.renewLoop(signal), opts.watch === false ? Promise.resolve() : this.watchLoop(signal)]);
  }

  /**
   * Watches the other nodes' leases until `signal` aborts, handing each non-empty batch of changes to `onEvents`
   * (the lease route source). Use it beside `run(handlers, signal, { watch: false })`, which renews. Call after
   * acquire(). Keeps the last known leases through store outages, as run() does.
   */
  async watchPeers(onEvents: (events: LeaseEvent[]) => void, signal: AbortSignal): Promise<void> {
    if (!this.current) throw new Error('LeaseManager.watchPeers before acquire');
    this.peerEvents = onEvents;
    await this.watchLoop(signal);
  }

  /** The subnets of the last run (subnet.env), for the families the config enables; null when there are none. */
  private previousSubnets(): LeaseSubnets | null {
    const { config, previousSubnet, previousIpv6Subnet } = this.opts;
    const subnet = config.enableIpv4 ? previousSubnet : NO_IPV4;
    const ipv6Subnet = config.enableIpv6 ? previousIpv6Subnet : null;
    if (!subnet || (config.enableIpv6 && !ipv6Subnet)) return null;
    return { subnet, ipv6Subnet: ipv6Subnet ?? null };
  }

  private async claim(preferred: LeaseSubnets | null): Promise<Lease> {
    const { store, config, identity } = this.opts;
    const snap = await store.listLeases();
    if (!this.watchStarted) this.claimListing = snap;
    const mine = snap.leases.find((l) => isOwnLease(l.attrs, identity) && fitsConfig(config, l.subnet, l.ipv6Subnet));
    if (mine) {
      const renewed = await store
        .renewLease(mine.subnet, this.attrs, this.ttlMs, mine.ipv6Subnet)
        .catch(notFoundAsNull);
      if (renewed) return renewed;
    }
    const taken = [...snap.leases];
    const free = (p: LeaseSubnets) => !taken.some((l) => overlapsFamily(l, p.subnet, p.ipv6Subnet));
    if (preferred && fitsConfig(config, preferred.subnet, preferred.ipv6Subnet) && free(preferred)) {
      const lease = await this.create(preferred);
      if (lease) return lease;
      taken.push(this.placeholder(preferred));
    }
    for (let i = 0; i < MAX_CLAIM_ATTEMPTS; i++) {
      const subnets = pickFreeSubnets(config, taken, this.opts.rng ?? Math.random);
      if (!subnets) break;
      const lease = await this.create(subnets);
      if (lease) return lease;
      taken.push(this.placeholder(subnets)); // another node won it a moment ago
    }
    throw new NoFreeSubnetError(`no free ${describeRange(config)} for ${identity.nodeName}`);
  }

  private create(p: LeaseSubnets): Promise<Lease | null> {
    return this.opts.store.createLease(p.subnet, this.attrs, this.ttlMs, p.ipv6Subnet);
  }

  private placeholder(p: LeaseSubnets): Lease {
    return { subnet: p.subnet, ipv6Subnet: p.ipv6Subnet, attrs: this.attrs, expiresAt: 0 };
  }

  /**
   * Says whether this start kept the subnet of the last run (subnet.env's FLANNEL_SUBNET). A different one means
   * every pod on this node holds an address of the old subnet, which no route leads to any more: loud, as an error.
   */
  private reportContinuity(subnets: LeaseSubnets): void {
    const previous = this.previousSubnets();
    if (!previous) return;
    const fields = { previous: describe(previous), subnet: describe(subnets) };
    if (sameSubnets(previous, subnets)) this.log.info(fields, 'took the subnet of the last run back');
    else
      this.log.error(
        fields,
        `subnet changed from ${fields.previous} to ${fields.subnet} (the old one is taken or no longer leasable): pods on this node must be restarted`,
      );
  }

  private adopt(lease: Lease): Lease {
    const previous = this.current;
    this.current = lease;
    if (!previous || !sameSubnets(subnetsOf(previous), lease)) {
      this.log.info(
        { subnet: describe(subnetsOf(lease)), expiresAt: new Date(lease.expiresAt).toISOString() },
        'lease acquired',
      );
      this.watcher.setOwn(lease.subnet, lease.ipv6Subnet);
      this.restartWatch();
    }
    if (previous) this.handlers?.onLease?.(lease, previous);
    return lease;
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    const backoff = this.backoff();
    while (!signal.aborted) {
      await this.sleepUntilRenewal(signal);
      if (signal.aborted) return;
      try {
        await this.renewOnce();
        this.setReachable(true);
        backoff.reset();
      } catch (e) {
        if (e instanceof StoreUnavailableError) this.storeFailed('renew', e);
        else this.log.error({ err: e }, 'lease renewal failed');
        await abortableSleep(this.renewRetryDelay(backoff), signal);
      }
    }
  }

  private async renewOnce(): Promise<void> {
    const lease = this.current!;
    if (this.lostToOther) {
      this.lostToOther = false;
      this.log.warn(
        { subnet: describe(subnetsOf(lease)) },
        'our subnet is leased to another node; acquiring a new one',
      );
      this.adopt(await this.claim(null));
      return;
    }
    try {
      this.adopt(await this.opts.store.renewLease(lease.subnet, this.attrs, this.ttlMs, lease.ipv6Subnet));
      this.log.debug({ subnet: describe(subnetsOf(lease)) }, 'lease renewed');
    } catch (e) {
      if (!(e instanceof LeaseNotFoundError)) throw e;
      this.log.warn({ subnet: describe(subnetsOf(lease)) }, 'lease lost; acquiring again');
      this.adopt(await this.claim(subnetsOf(lease)));
    }
  }

  /**
   * Back-off after a failed renewal, cut to half the time our lease has left and to the minimum once it is past
   * expiry: etcd keeps a lease alive for one TTL after it restarts, so retries must not sleep through that.
   */
  private renewRetryDelay(backoff: Backoff): number {
    const left = this.current!.expiresAt - this.now();
    return Math.min(backoff.next(), Math.max(this.opts.retryMinMs ?? 1000, left / 2));
  }

  /** Sleeps until the renew margin before expiry, or until woken because our lease vanished. */
  private sleepUntilRenewal(signal: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.wakeRenew = onAbort;
    const wait = this.current!.expiresAt - this.marginMs - this.now();
    return abortableSleep(wait, ac.signal).finally(() => signal.removeEventListener('abort', onAbort));
  }

  private async watchLoop(signal: AbortSignal): Promise<void> {
    const backoff = this.backoff();
    while (!signal.aborted) {
      const round = new AbortController();
      const onAbort = () => round.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.restartWatch = onAbort;
      try {
        this.watchStarted = true;
        const snap = this.takeClaimListing() ?? (await this.opts.store.listLeases());
        this.setReachable(true);
        backoff.reset();
        this.emit(this.watcher.reset(this.withHeldPeers(snap.leases)));
        this.checkOwn(
          snap.leases.filter((l) => this.isOwnSubnet(l)).map((lease) => ({ type: 'added', lease })),
          true,
        );
        await this.opts.store.watchLeases(snap.revision, (b) => this.onBatch(b.events), round.signal);
      } catch (e) {
        if (e instanceof RevisionCompactedError) this.log.info({ err: e.message }, 'watch fell behind; listing again');
        else {
          if (e instanceof StoreUnavailableError) this.storeFailed('watch', e);
          else this.log.error({ err: e }, 'lease watch failed');
          await abortableSleep(backoff.next(), signal);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /**
   * The claim's listing once, with our lease as claimed in place of what the listing held for it (a lease created
   * after the listing is not in it, and a listing without ours would read as a wiped store); null afterwards.
   */
  private takeClaimListing(): LeaseSnapshot | null {
    const snap = this.claimListing;
    this.claimListing = null;
    if (!snap || !this.current) return null;
    return { revision: snap.revision, leases: [...snap.leases.filter((l) => !this.isOwnSubnet(l)), this.current] };
  }

  /**
   * A listing without our own lease means the store lost state (wiped, restored from an old snapshot), not only
   * that peers left: for one TTL, peers missing from it are kept (their routes stay) so they can lease again, then
   * the watch lists again and those still missing go. A hold starts at most once per two TTLs.
   */
  private withHeldPeers(listed: readonly Lease[]): readonly Lease[] {
    const ownMissing = this.current !== null && !listed.some((l) => this.isOwnSubnet(l));
    if (ownMissing && !this.holding && this.now() - this.holdStartedAt > 2 * this.ttlMs) {
      this.holding = true;
      this.holdStartedAt = this.now();
      this.log.warn({ holdMs: this.ttlMs }, 'the store lost our lease: keeping peers it lacks for one lease TTL');
      setTimeout(() => {
        this.holding = false;
        this.restartWatch();
      }, this.ttlMs).unref();
    }
    if (!this.holding) return listed;
    const keys = new Set(listed.map((l) => leaseKey(l.subnet, l.ipv6Subnet)));
    return [...listed, ...this.watcher.leases().filter((l) => !keys.has(leaseKey(l.subnet, l.ipv6Subnet)))];
  }

  private onBatch(events: readonly LeaseEvent[]): void {
    this.checkOwn(
      events.filter((e) => this.isOwnSubnet(e.lease)),
      false,
    );
    this.emit(this.watcher.update(events));
  }

  /** Wakes the renew loop when the store lost our lease (`absentIfNone`: a listing without it) or gave it away. */
  private checkOwn(ownEvents: readonly LeaseEvent[], absentIfNone: boolean): void {
    const last = ownEvents.at(-1);
    if (!last) {
      if (absentIfNone) this.wakeRenew();
      return;
    }
    if (last.type === 'added' && !isOwnLease(last.lease.attrs, this.opts.identity)) this.lostToOther = true;
    if (last.type === 'removed' || this.lostToOther) this.wakeRenew();
  }

  /** Our lease by key: with dual stack, an IPv4-only lease of our IPv4 subnet is another node's lease. */
  private isOwnSubnet(l: Lease): boolean {
    return (
      this.current !== null &&
      leaseKey(l.subnet, l.ipv6Subnet) === leaseKey(this.current.subnet, this.current.ipv6Subnet)
    );
  }

  private emit(events: LeaseEvent[]): void {
    if (events.length === 0) return;
    if (this.peerEvents) this.peerEvents(events);
    else this.handlers?.onEvents?.(events);
  }

  private storeFailed(what: string, e: Error): void {
    this.log.warn({ op: what, err: e.message }, 'lease store unreachable; keeping last known leases');
    this.setReachable(false);
  }

  private setReachable(reachable: boolean): void {
    if (reachable === this.reachable) return;
    this.reachable = reachable;
    if (reachable) this.log.info('lease store reachable again');
    this.handlers?.onStoreReachable?.(reachable);
  }

  private backoff(): Backoff {
    return new Backoff(this.opts.retryMinMs ?? 1000, this.opts.retryMaxMs ?? 30_000, this.opts.rng);
  }
}

const NO_IPV4: Ipv4Prefix = { ip: 0, prefixLen: 0 };

function subnetsOf(l: Lease): LeaseSubnets {
  return { subnet: l.subnet, ipv6Subnet: l.ipv6Subnet ?? null };
}

/** `10.244.1.0/24`, `10.244.1.0/24 fd00:0:0:1::/64` or `fd00:0:0:1::/64`, for logs. */
export function describe(p: LeaseSubnets): string {
  const v4 = hasIpv4Subnet(p.subnet) ? formatIpv4Prefix(p.subnet) : '';
  const v6 = p.ipv6Subnet ? formatIpv6Prefix(p.ipv6Subnet) : '';
  return [v4, v6].filter(Boolean).join(' ');
}

function describeRange(config: NetConfig): string {
  const v4 = config.enableIpv4 ? `/${config.subnetLen} subnet in ${formatIpv4Prefix(config.network)}` : '';
  const v6 = config.ipv6 ? `/${config.ipv6.subnetLen} subnet in ${formatIpv6Prefix(config.ipv6.network)}` : '';
  return [v4, v6].filter(Boolean).join(' and ');
}

function notFoundAsNull(e: unknown): null {
  if (e instanceof LeaseNotFoundError) return null;
  throw e;
}
