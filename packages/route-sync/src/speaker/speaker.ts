// The BGP speaker: peers, one RIB, a listener, and the API the agent uses.
//
// Design notes
// - Everything protocol-shaped lives in the pure cores (fsm/, rib/); this layer wires them to a Transport
//   (TCP or in-memory) and a Clock, and batches: best-route changes from one turn of the event loop are
//   exported to peers and reported to listeners together, so 10,000 prefixes arriving in 20 UPDATEs cause
//   20 batches, not 10,000 events.
// - Route changes come out as an event ('routes', BestChange[]) and as an async iterator (`routeChanges()`);
//   sessions going up or down as 'peer' (PeerStatus).
//
// How the agent uses it (one speaker per node, Calico-style full iBGP mesh in AS 64512):
//   const bgp = new Speaker({ routerId: underlayIp, transport: new TcpTransport({ listenAddress: underlayIp }) });
//   for (const n of otherNodes) bgp.addPeer({ address: n.ip, as: 64512, passive: isPassiveInMesh(underlayIp, n.ip) });
//   bgp.advertise(mySubnet, { nextHop: underlayIp, extendedCommunities: [routerMacCommunity(vtepMac)] });
//   bgp.on('routes', (changes) => ...best routes -> FIB...);  await bgp.start();
// Route reflectors: `addPeer({ ..., routeReflectorClient: true })` on the reflector, plain peers on clients.
import { EventEmitter, on } from 'node:events';
import { parseIpv4, tryParseIpv4 } from '@weft/netaddr';
import { systemClock, type Clock } from '../fsm/clock.ts';
import type { FsmConfig } from '../fsm/types.ts';
import { Rib, type BestChange } from '../rib/rib.ts';
import { compareAddresses, emptyAttributes } from '../rib/route.ts';
import { Origin, type Afi, type OpenMessage, type Prefix, type RouteAttributes } from '../types.ts';
import type { Connection, Transport } from './connection.ts';
import { parsePrefix } from '../codec/prefix.ts';
import { TcpTransport } from '../transport/tcp.ts';
import { buildOpen } from './messages.ts';
import { Peer, type PeerConfig, type PeerHost, type PeerStatus } from './peer.ts';

export interface SpeakerConfig {
  /** BGP Identifier, a dotted quad (conventionally the node's underlay IPv4 address). */
  routerId: string;
  /** Our AS (default 64512, the private AS Calico uses). */
  localAs?: number;
  /** Hold time we propose, seconds (default 90; 0 or >= 3). */
  holdTime?: number;
  /** ConnectRetry time, seconds (default 5). */
  connectRetryTime?: number;
  /** Reconnect back-off bounds, seconds (default 1..60). */
  backoff?: { min: number; max: number };
  /** Route-reflector cluster id (RFC 4456; default the router id). */
  clusterId?: string;
  /**
   * Advertise graceful restart (RFC 4724) and act as helper; default restart time 120 s. `false` disables.
   * `restarting: true` (the agent restarted with its forwarding state intact) sets the R bit in the OPENs
   * sent during the first restart time after `start()`.
   */
  gracefulRestart?: { restartTime: number; restarting?: boolean } | false;
  /** How connections are made and accepted (default: TCP on port 179, all addresses). */
  transport?: Transport;
  /** Accept inbound connections (default true). */
  listen?: boolean;
  clock?: Clock;
  /** [0, 1) source for back-off jitter (default Math.random). */
  jitter?: () => number;
}

/** What `advertise` takes besides the prefix. */
export interface AdvertiseOptions extends Partial<RouteAttributes> {
  /** Next hop to announce (the node's underlay address); default: our address on each session. */
  nextHop?: string;
}

/**
 * Calico's full-mesh rule: of two nodes, the one whose address compares greater connects and the other
 * waits, so a mesh never races two connections per pair. Returns true when `local` should be passive.
 */
export function isPassiveInMesh(local: string, peer: string): boolean {
  return compareAddresses(local, peer) < 0;
}

/** A speaker or peer setting the protocol does not allow; thrown by the constructor and `addPeer`. */
export class BgpConfigError extends Error {
  override name = 'BgpConfigError';
}

/** RFC 4271 §4.2: a hold time is 0 or 3..65535 seconds. */
function checkHoldTime(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t > 0xffff || (t > 0 && t < 3))
    throw new BgpConfigError(`hold time ${t}: use 0 or 3..65535 seconds`);
}

/** Checks what the RFCs constrain: router id a non-zero dotted quad (§4.2), AS 1..2^32-1 (RFC 6793), hold time. */
function checkConfig(cfg: SpeakerConfig): void {
  const id = tryParseIpv4(cfg.routerId);
  if (id === null || id === 0) throw new BgpConfigError(`router id ${cfg.routerId}: use a non-zero dotted quad`);
  const as = cfg.localAs ?? 64512;
  if (!Number.isInteger(as) || as < 1 || as > 0xffffffff) throw new BgpConfigError(`local AS ${as} out of range`);
  checkHoldTime(cfg.holdTime ?? 90);
}

function asPrefix(p: Prefix | string): Prefix {
  return typeof p === 'string' ? parsePrefix(p) : p;
}

export class Speaker extends EventEmitter implements PeerHost {
  readonly rib: Rib;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly localId: number;
  readonly gracefulRestart: boolean;
  private readonly peers = new Map<string, Peer>();
  private pending = new Map<string, BestChange>();
  private flushScheduled = false;
  private restartingUntil = 0;
  private readonly attributeSets = new Map<string, RouteAttributes>();
  private running = false;

  /** Throws BgpConfigError for settings the protocol forbids (see `checkConfig`). */
  constructor(readonly cfg: SpeakerConfig) {
    super();
    checkConfig(cfg);
    this.clock = cfg.clock ?? systemClock;
    this.transport = cfg.transport ?? new TcpTransport();
    this.localId = parseIpv4(cfg.routerId);
    this.gracefulRestart = cfg.gracefulRestart !== false;
    const rc = { localAs: this.localAs, routerId: cfg.routerId };
    this.rib = new Rib(cfg.clusterId ? { ...rc, clusterId: cfg.clusterId } : rc);
  }

  get localAs(): number {
    return this.cfg.localAs ?? 64512;
  }

  /** Starts listening (unless disabled) and starts every peer's session. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const gr = this.cfg.gracefulRestart;
    if (gr && gr.restarting) this.restartingUntil = this.clock.now() + gr.restartTime * 1000;
    if (this.cfg.listen !== false) await this.transport.listen((c) => this.accept(c));
    for (const p of this.peers.values()) p.start();
  }

  /** Sends Cease to every peer, closes every connection and the listener. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const p of this.peers.values()) p.stop();
    await this.transport.close();
  }

  /** Adds a neighbour; its session starts at once if the speaker is running. Throws on a duplicate address. */
  addPeer(cfg: PeerConfig): void {
    if (this.peers.has(cfg.address)) throw new BgpConfigError(`peer ${cfg.address} already exists`);
    if (cfg.holdTime !== undefined) checkHoldTime(cfg.holdTime);
    if (!Number.isInteger(cfg.as) || cfg.as < 1 || cfg.as > 0xffffffff)
      throw new BgpConfigError(`peer ${cfg.address}: AS ${cfg.as} out of range`);
    if (cfg.families && (cfg.families.length === 0 || cfg.families.some((f) => f !== 1 && f !== 2)))
      throw new BgpConfigError(`peer ${cfg.address}: families must be a non-empty list of Afi.Ipv4/Afi.Ipv6`);
    const peer = new Peer(cfg, this);
    this.peers.set(cfg.address, peer);
    if (this.running) peer.start();
  }

  /** Removes a neighbour: Cease (Peer De-configured), its routes withdrawn. */
  removePeer(address: string): void {
    const peer = this.peers.get(address);
    if (!peer) return;
    peer.stop(3); // RFC 4486 Cease subcode 3: Peer De-configured
    this.peers.delete(address);
    this.apply(this.rib.removePeer(address));
  }

  /**
   * Originates a route (or replaces our earlier one for the same prefix). `prefix` is a Prefix or text
   * ("10.244.1.0/24"); text that is not a prefix throws TypeError.
   */
  advertise(prefix: Prefix | string, opts: AdvertiseOptions = {}): void {
    const { nextHop = '', ...attrs } = opts;
    this.apply(
      this.rib.originate(
        asPrefix(prefix),
        this.internAttributes({ ...emptyAttributes(), origin: Origin.Igp, ...attrs }),
        nextHop,
      ),
    );
  }

  /** Equal attribute sets share one object, so their prefixes travel together in UPDATEs. */
  private internAttributes(a: RouteAttributes): RouteAttributes {
    const key = JSON.stringify(a);
    const known = this.attributeSets.get(key);
    if (known) return known;
    if (this.attributeSets.size >= 1024) this.attributeSets.clear(); // bounded; a miss only costs packing
    this.attributeSets.set(key, a);
    return a;
  }

  /** Stops originating a route (no-op when we do not originate it). */
  withdraw(prefix: Prefix | string): void {
    this.apply(this.rib.withdrawLocal(asPrefix(prefix)));
  }

  /** Asks a neighbour to re-send its routes (RFC 2918), for its negotiated families only; returns those asked for. */
  refresh(address: string, afi?: Afi): Afi[] {
    return this.peers.get(address)?.requestRefresh(afi) ?? [];
  }

  /** Status of every peer. */
  status(): PeerStatus[] {
    return [...this.peers.values()].map((p) => p.status());
  }

  /** The current best routes (the Loc-RIB). */
  routes(): ReturnType<Rib['bests']> {
    return this.rib.bests();
  }

  /** Batches of best-route changes as an async iterator; ends when `signal` aborts. */
  async *routeChanges(signal?: AbortSignal): AsyncGenerator<BestChange[]> {
    try {
      for await (const [batch] of on(this, 'routes', signal ? { signal } : {})) yield batch as BestChange[];
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  }

  // ---- PeerHost ----

  fsmConfig(peer: PeerConfig): FsmConfig {
    return {
      localAs: this.localAs,
      localId: this.localId,
      peerAs: peer.as,
      holdTime: peer.holdTime ?? this.cfg.holdTime ?? 90,
      connectRetryTime: this.cfg.connectRetryTime ?? 5,
      passive: peer.passive ?? false,
      automaticRestart: true,
      backoff: this.cfg.backoff ?? { min: 1, max: 60 },
      jitter: this.cfg.jitter ?? Math.random,
    };
  }

  buildOpen(peer: PeerConfig): OpenMessage {
    const gr = this.cfg.gracefulRestart;
    const base = {
      localAs: this.localAs,
      routerId: this.cfg.routerId,
      holdTime: peer.holdTime ?? this.cfg.holdTime ?? 90,
      ...(peer.families ? { families: peer.families } : {}),
      ...(peer.extendedNextHop ? { extendedNextHop: true } : {}),
    };
    if (gr === false) return buildOpen(base);
    const restarting = this.clock.now() < this.restartingUntil;
    return buildOpen({ ...base, gracefulRestart: { restartTime: gr?.restartTime ?? 120, restarting } });
  }

  peerEvent(status: PeerStatus): void {
    this.emit('peer', status);
  }

  apply(changes: BestChange[]): void {
    for (const c of changes) {
      const prev = this.pending.get(c.key);
      this.pending.set(c.key, prev ? { ...c, previous: prev.previous } : c);
    }
    if (changes.length === 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = [...this.pending.values()].filter((c) => c.best !== c.previous);
    const keys = [...this.pending.keys()];
    this.pending = new Map();
    for (const p of this.peers.values()) p.exportChanges(keys);
    if (batch.length) this.emit('routes', batch);
  }

  private accept(conn: Connection): void {
    const addr = conn.remoteAddress.startsWith('::ffff:') ? conn.remoteAddress.slice(7) : conn.remoteAddress;
    const peer = this.peers.get(addr);
    if (!peer) return conn.close(); // §8: connections from unconfigured addresses are refused
    peer.accept(conn);
  }
}
