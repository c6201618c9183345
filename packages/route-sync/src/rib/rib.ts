// The three RIBs of RFC 4271 §3.2, in one object so they stay consistent:
//   Adj-RIB-In (per peer: what it told us, after import checks) -> decision process -> Loc-RIB (one best route
//   per prefix) -> export rules -> Adj-RIB-Out (per peer: what we told it).
//
// Design notes
// - Pure and synchronous: methods return the Loc-RIB changes they caused; the speaker turns those into
//   UPDATEs (via `exportsFor`, which diffs against the Adj-RIB-Out) and into best-route events.
// - Our own routes (`originate`) live in an Adj-RIB-In of their own, the LOCAL_SOURCE, so one decision process
//   covers them.
// - Graceful restart helper (RFC 4724 §4.2): `markStale` keeps a lost peer's routes, flagged; the peer
//   re-announcing a route clears the flag; `purgeStale` (on End-of-RIB or when the restart timer fires)
//   removes what is still stale.
import type { Afi, Prefix, RouteAttributes } from '../types.ts';
import { decide, type Decision } from './decision.ts';
import { exportRoute, type ExportContext, type ExportedRoute, type RibPeer } from './export.ts';
import { asPathContains, LOCAL_SOURCE, routeKey, type Route, type RouteSource } from './route.ts';

/** A change of the best route for one prefix. `best` null: the prefix is gone. */
export interface BestChange {
  key: string;
  prefix: Prefix;
  best: Route | null;
  previous: Route | null;
}

/** A route in an UPDATE, as the speaker hands it to the RIB. */
export interface Announcement {
  prefix: Prefix;
  attrs: RouteAttributes;
  nextHop: string;
}

/** What to send one peer: routes to (re)advertise and prefixes to withdraw. */
export interface OutboundUpdate {
  announce: ExportedRoute[];
  withdraw: Prefix[];
}

export interface RibConfig {
  localAs: number;
  routerId: string;
  /** Route reflection cluster id (RFC 4456 §7); the router id when absent. */
  clusterId?: string;
  defaultLocalPref?: number;
}

/** Why an announced route was not accepted into an Adj-RIB-In. */
export enum ImportRejection {
  AsPathLoop = 1,
  OriginatorIsUs = 2,
  ClusterListLoop = 3,
}

const LOCAL: RouteSource = { id: LOCAL_SOURCE, address: '', as: 0, bgpId: '', ibgp: false, rrClient: false };

/**
 * Routes sharing one attributes object (all prefixes of one UPDATE, or one `advertise` attribute set) export
 * identically to a given peer, so the export rules and the fingerprint run once per set, not once per prefix,
 * and the exported routes share one attributes object (which lets UPDATE building group them cheaply).
 */
type MemoEntry = { attrs: RouteAttributes; nextHop: string; linkLocalNextHop: string | undefined; print: string };

class ExportMemo {
  private readonly cache = new Map<RouteAttributes, Map<string, MemoEntry | null>>();

  constructor(
    private readonly ctx: ExportContext,
    private readonly peer: RibPeer,
  ) {}

  export(best: Route): MemoEntry | null {
    let sub = this.cache.get(best.attrs);
    if (!sub) this.cache.set(best.attrs, (sub = new Map()));
    const k = `${best.source.id}|${best.nextHop}|${best.prefix.afi}`;
    let e = sub.get(k);
    if (e === undefined) {
      const x = exportRoute(this.ctx, best, this.peer);
      e = x && {
        attrs: x.attrs,
        nextHop: x.nextHop,
        linkLocalNextHop: x.linkLocalNextHop,
        print: JSON.stringify([x.attrs, x.nextHop, x.linkLocalNextHop]),
      };
      sub.set(k, e);
    }
    return e;
  }
}

export class Rib {
  private readonly ctx: ExportContext;
  private readonly adjIn = new Map<string, Map<string, Route>>();
  private readonly adjOut = new Map<string, Map<string, { route: ExportedRoute; print: string }>>();
  private readonly loc = new Map<string, Route>();
  private readonly peers = new Map<string, RibPeer>();
  private readonly local: RouteSource;
  /** Count of announced routes refused by the import checks, by reason. */
  readonly rejected = new Map<ImportRejection, number>();

  constructor(cfg: RibConfig) {
    this.ctx = {
      localAs: cfg.localAs,
      routerId: cfg.routerId,
      clusterId: cfg.clusterId ?? cfg.routerId,
      defaultLocalPref: cfg.defaultLocalPref ?? 100,
    };
    this.local = { ...LOCAL, as: cfg.localAs, bgpId: cfg.routerId };
    this.adjIn.set(LOCAL_SOURCE, new Map());
  }

  /** Registers or updates a peer (its BGP id is known only after OPEN). Routes it sent stay. */
  setPeer(peer: RibPeer): void {
    this.peers.set(peer.id, peer);
    if (!this.adjIn.has(peer.id)) this.adjIn.set(peer.id, new Map());
    if (!this.adjOut.has(peer.id)) this.adjOut.set(peer.id, new Map());
  }

  /** Forgets a peer entirely: withdraws everything it sent and clears what we sent it. */
  removePeer(id: string): BestChange[] {
    const changes = this.dropRoutes(id, () => true);
    this.adjIn.delete(id);
    this.adjOut.delete(id);
    this.peers.delete(id);
    return changes;
  }

  /** Session down without graceful restart: drop the peer's routes; forget what we sent (a new session starts empty). */
  resetPeer(id: string): BestChange[] {
    this.adjOut.get(id)?.clear();
    return this.dropRoutes(id, () => true);
  }

  /** Applies one UPDATE from a peer (withdrawals first, §4.3), returning the best-route changes. */
  receive(peerId: string, announced: readonly Announcement[], withdrawn: readonly Prefix[]): BestChange[] {
    const peer = this.peers.get(peerId);
    const table = this.adjIn.get(peerId);
    if (!peer || !table) return [];
    const touched = new Map<string, Prefix>();
    for (const p of withdrawn) {
      const key = routeKey(p);
      if (table.delete(key)) touched.set(key, p);
    }
    for (const a of announced) {
      const key = routeKey(a.prefix);
      touched.set(key, a.prefix);
      const rejection = this.importCheck(peer, a.attrs);
      if (rejection) {
        this.rejected.set(rejection, (this.rejected.get(rejection) ?? 0) + 1);
        table.delete(key); // treat as withdraw: an older acceptable path must not linger
        continue;
      }
      // §5.1.5: LOCAL_PREF from an external peer is ignored.
      const attrs = peer.ibgp ? a.attrs : { ...a.attrs, localPref: undefined };
      table.set(key, { prefix: a.prefix, key, attrs, nextHop: a.nextHop, source: this.sourceOf(peer) });
    }
    return this.recompute(touched);
  }

  /** Originates (or replaces) one of our own routes. */
  originate(prefix: Prefix, attrs: RouteAttributes, nextHop: string): BestChange[] {
    const key = routeKey(prefix);
    this.adjIn.get(LOCAL_SOURCE)!.set(key, { prefix, key, attrs, nextHop, source: this.local });
    return this.recompute(new Map([[key, prefix]]));
  }

  /** Stops originating a route. */
  withdrawLocal(prefix: Prefix): BestChange[] {
    const key = routeKey(prefix);
    return this.adjIn.get(LOCAL_SOURCE)!.delete(key) ? this.recompute(new Map([[key, prefix]])) : [];
  }

  /**
   * RFC 4724 §4.2: the peer's session went down with GR negotiated. Its routes of the families it listed in
   * its GR capability stay, flagged stale; routes of other families go (returned as changes).
   */
  markStale(peerId: string, families: readonly number[] = [1, 2]): BestChange[] {
    const table = this.adjIn.get(peerId);
    this.adjOut.get(peerId)?.clear();
    if (!table) return [];
    const touched = new Map<string, Prefix>();
    for (const [key, r] of table)
      if (families.includes(r.prefix.afi)) table.set(key, { ...r, stale: true }), touched.set(key, r.prefix);
    // Dropped routes change the Loc-RIB; stale ones replace themselves there, flagged, so users see the state.
    return [...this.dropRoutes(peerId, (r) => r.stale !== true), ...this.recompute(touched)];
  }

  /** Removes the peer's routes still stale (End-of-RIB received for `afi`, or for all when the restart timer fired). */
  purgeStale(peerId: string, afi?: Afi): BestChange[] {
    return this.dropRoutes(peerId, (r) => r.stale === true && (afi === undefined || r.prefix.afi === afi));
  }

  /** Forgets what was sent to a peer (one family, or all), so the next `exportsFor` sends it again (RFC 2918). */
  forgetSent(peerId: string, afi?: Afi): void {
    const out = this.adjOut.get(peerId);
    if (!out) return;
    if (afi === undefined) return out.clear();
    for (const [key, sent] of out) if (sent.route.prefix.afi === afi) out.delete(key);
  }

  /** The best route to a prefix. */
  best(prefix: Prefix): Route | undefined {
    return this.loc.get(routeKey(prefix));
  }

  /** Every best route (the Loc-RIB). */
  bests(): IterableIterator<Route> {
    return this.loc.values();
  }

  /** The decision for one prefix, with the step that decided it (for tests and explanations). */
  explain(prefix: Prefix): Decision | null {
    return decide(this.candidates(routeKey(prefix)), this.ctx.defaultLocalPref);
  }

  /** Routes held from one peer (Adj-RIB-In size), and routes sent to it (Adj-RIB-Out size). */
  counts(peerId: string): { received: number; sent: number; stale: number } {
    const table = this.adjIn.get(peerId);
    let stale = 0;
    for (const r of table?.values() ?? []) if (r.stale) stale++;
    return { received: table?.size ?? 0, sent: this.adjOut.get(peerId)?.size ?? 0, stale };
  }

  /** Adj-RIB-In routes of one peer. */
  received(peerId: string): Route[] {
    return [...(this.adjIn.get(peerId)?.values() ?? [])];
  }

  /**
   * Computes what to send one peer for the given prefixes (all of the Loc-RIB and Adj-RIB-Out when omitted),
   * diffing against its Adj-RIB-Out, and records the result there as sent.
   */
  exportsFor(peerId: string, keys?: Iterable<string>): OutboundUpdate {
    const peer = this.peers.get(peerId);
    const out = this.adjOut.get(peerId);
    const result: OutboundUpdate = { announce: [], withdraw: [] };
    if (!peer || !out) return result;
    const memo = new ExportMemo(this.ctx, peer);
    for (const key of keys ?? new Set([...this.loc.keys(), ...out.keys()])) {
      const best = this.loc.get(key);
      const wanted = best ? memo.export(best) : null;
      const sent = out.get(key);
      if (!wanted) {
        if (sent) out.delete(key), result.withdraw.push(sent.route.prefix);
        continue;
      }
      if (sent?.print === wanted.print) continue;
      const route: ExportedRoute = { prefix: best!.prefix, attrs: wanted.attrs, nextHop: wanted.nextHop };
      if (wanted.linkLocalNextHop) route.linkLocalNextHop = wanted.linkLocalNextHop;
      out.set(key, { route, print: wanted.print });
      result.announce.push(route);
    }
    return result;
  }

  private importCheck(peer: RibPeer, attrs: RouteAttributes): ImportRejection | null {
    if (!peer.ibgp && asPathContains(attrs.asPath, this.ctx.localAs)) return ImportRejection.AsPathLoop; // §9.1.2
    if (attrs.originatorId === this.ctx.routerId) return ImportRejection.OriginatorIsUs; // RFC 4456 §8
    if (attrs.clusterList.includes(this.ctx.clusterId)) return ImportRejection.ClusterListLoop; // RFC 4456 §8
    return null;
  }

  private sourceOf(peer: RibPeer): RouteSource {
    return {
      id: peer.id,
      address: peer.address,
      as: peer.as,
      bgpId: peer.bgpId,
      ibgp: peer.ibgp,
      rrClient: peer.rrClient,
    };
  }

  private dropRoutes(peerId: string, which: (r: Route) => boolean): BestChange[] {
    const table = this.adjIn.get(peerId);
    if (!table) return [];
    const touched = new Map<string, Prefix>();
    for (const [key, r] of table) if (which(r)) table.delete(key), touched.set(key, r.prefix);
    return this.recompute(touched);
  }

  private candidates(key: string): Route[] {
    const out: Route[] = [];
    for (const table of this.adjIn.values()) {
      const r = table.get(key);
      if (r) out.push(r);
    }
    return out;
  }

  /** Runs the decision process for each touched prefix; reports those whose best route changed. */
  private recompute(touched: Map<string, Prefix>): BestChange[] {
    const changes: BestChange[] = [];
    for (const [key, prefix] of touched) {
      const previous = this.loc.get(key) ?? null;
      const best = decide(this.candidates(key), this.ctx.defaultLocalPref)?.best ?? null;
      if (best === previous) continue;
      if (best) this.loc.set(key, best);
      else this.loc.delete(key);
      changes.push({ key, prefix, best, previous });
    }
    return changes;
  }
}
