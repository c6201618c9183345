// One configured neighbour: its session(s), collision resolution (RFC 4271 §6.8), and what happens to its
// routes when the session ends: dropped, or kept stale for a graceful restart (RFC 4724 §4.2).
import { formatIpv4 } from '@weft/netaddr';
import { collisionLoser } from '../fsm/open.ts';
import { DownReason, FsmEventType, SessionState, type FsmConfig, type Notification } from '../fsm/types.ts';
import type { Clock } from '../fsm/clock.ts';
import type { BestChange, Rib } from '../rib/rib.ts';
import type { RibPeer } from '../rib/export.ts';
import {
  Afi,
  CeaseSubcode,
  MessageType,
  NotificationCode,
  Safi,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../types.ts';
import type { Connection, Transport } from './connection.ts';
import type { PeerConfig, PeerStatus } from './peer-types.ts';
import { filterUpdateFamilies } from './families.ts';
import { buildUpdates, endOfRib, readUpdate } from './messages.ts';
import { Session, type SessionOwner } from './session.ts';

export type { PeerConfig, PeerStatus } from './peer-types.ts';

/** What a peer needs from its speaker. */
export interface PeerHost {
  readonly rib: Rib;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly localId: number;
  fsmConfig(peer: PeerConfig): FsmConfig;
  buildOpen(peer: PeerConfig): OpenMessage;
  /** We advertise graceful restart (and so may act as a helper). */
  readonly gracefulRestart: boolean;
  /** Best-route changes to propagate to all peers and report. */
  apply(changes: BestChange[]): void;
  /** A session came up or went down. */
  peerEvent(status: PeerStatus): void;
}

export class Peer implements SessionOwner {
  /** Sessions for this neighbour; [0] is the main one, a second exists only while two connections race. */
  sessions: Session[] = [];
  private establishedAt: number | null = null;
  private lastError: string | null = null;
  private staleTimer: unknown = null;
  private stopped = true;
  private ignored = 0;

  constructor(
    readonly cfg: PeerConfig,
    private readonly host: PeerHost,
  ) {
    this.sessions.push(this.newSession());
    host.rib.setPeer(this.ribPeer(''));
  }

  get id(): string {
    return this.cfg.address;
  }

  /** The session carrying (or closest to carrying) routes. */
  get main(): Session {
    return this.sessions.reduce((a, b) => (b.state > a.state ? b : a));
  }

  start(): void {
    this.stopped = false;
    this.sessions[0]!.feed({ type: FsmEventType.Start });
  }

  /** Administrative stop: Cease to the neighbour, no automatic restart, routes withdrawn. */
  stop(subcode = CeaseSubcode.AdministrativeShutdown): void {
    this.stopped = true;
    for (const s of [...this.sessions]) s.feed({ type: FsmEventType.Stop, subcode });
    this.clearStaleTimer();
    this.host.apply(this.host.rib.resetPeer(this.id));
  }

  /** An inbound connection from this neighbour's address. */
  accept(conn: Connection): void {
    const main = this.main;
    if (this.stopped || main.state === SessionState.Established) {
      conn.send({
        type: MessageType.Notification,
        code: NotificationCode.Cease,
        subcode: CeaseSubcode.ConnectionRejected,
        data: new Uint8Array(0),
      });
      return conn.close();
    }
    if (main.state === SessionState.Idle) main.feed({ type: FsmEventType.Start }); // don't wait out the back-off
    if (main.state === SessionState.Active) return main.acceptInbound(conn);
    // Connect/OpenSent/OpenConfirm: our own connection is in progress. Run a second FSM on this one; if both
    // reach OPEN, collision detection picks one (§6.8), and if ours fails, this one simply carries on.
    const spare = this.newSession(true); // passive: it only serves this inbound connection
    this.sessions.push(spare);
    spare.feed({ type: FsmEventType.Start });
    spare.acceptInbound(conn);
  }

  status(): PeerStatus {
    const c = this.host.rib.counts(this.id);
    const up = this.establishedAt === null ? 0 : (this.host.clock.now() - this.establishedAt) / 1000;
    return {
      address: this.id,
      as: this.cfg.as,
      state: SessionState[this.main.state] as keyof typeof SessionState,
      uptimeSeconds: up,
      prefixesReceived: c.received - c.stale,
      prefixesSent: c.sent,
      prefixesStale: c.stale,
      lastError: this.lastError,
      families:
        this.main.state === SessionState.Established
          ? this.main.families.map((f) => (f === Afi.Ipv4 ? 'ipv4' : 'ipv6'))
          : [],
      prefixesIgnored: this.ignored,
    };
  }

  /** Sends what changed for these prefixes, if the session is up. */
  exportChanges(keys: string[]): void {
    const s = this.main;
    if (s.state !== SessionState.Established) return;
    for (const m of buildUpdates(this.host.rib.exportsFor(this.id, keys))) s.send(m);
  }

  // ---- SessionOwner ----

  buildOpen(): OpenMessage {
    return this.host.buildOpen(this.cfg);
  }

  opened(s: Session): void {
    const remoteId = s.fsm.peerOpen!.bgpId;
    for (const other of [...this.sessions]) {
      if (other === s || other.state < SessionState.OpenSent) continue;
      // An Established session always wins; two connections in the same direction are not a §6.8 collision
      // (a peer retrying), so the older stays; otherwise the lower BGP identifier's connection goes.
      const sLoses =
        other.state === SessionState.Established ||
        other.fsm.outbound === s.fsm.outbound ||
        collisionLoser(this.host.localId, remoteId, s.fsm.outbound);
      (sLoses ? s : other).feed({ type: FsmEventType.OpenCollisionDump });
      if (sLoses) return;
    }
  }

  established(s: Session): void {
    for (const other of this.sessions) if (other !== s) other.dispose();
    this.sessions = [s];
    s.setFsmConfig(this.host.fsmConfig(this.cfg));
    this.establishedAt = this.host.clock.now(); // lastError stays: it explains the last flap
    const rib = this.host.rib;
    this.ignored = 0;
    rib.setPeer({
      ...this.ribPeer(s.conn?.localAddress ?? ''),
      bgpId: formatIpv4(s.fsm.peerOpen!.bgpId),
      families: s.families,
      extendedNextHop: s.extendedNextHop,
    });
    this.dropUnpreservedStale(s);
    this.sendAll(s);
    this.host.peerEvent(this.status());
  }

  update(s: Session, msg: UpdateMessage): void {
    const { update, endOfRib, ignored } = filterUpdateFamilies(msg, s.families, s.extendedNextHop);
    this.ignored += ignored;
    if (endOfRib !== null) return this.endOfRib(endOfRib);
    if (!update) return;
    const { announced, withdrawn } = readUpdate(update, { fourOctetAs: s.fourOctetAs });
    this.host.apply(this.host.rib.receive(this.id, announced, withdrawn));
  }

  /** RFC 2918 §4: re-send the Adj-RIB-Out of the asked family; a family not negotiated is ignored. */
  routeRefresh(s: Session, msg: RouteRefreshMessage): void {
    if (msg.safi !== Safi.Unicast || !s.families.includes(msg.afi as Afi)) return;
    this.host.rib.forgetSent(this.id, msg.afi as Afi);
    for (const m of buildUpdates(this.host.rib.exportsFor(this.id))) s.send(m);
  }

  /**
   * Asks the neighbour to re-send its routes (RFC 2918 ROUTE-REFRESH), for one family or every negotiated one.
   * Sends nothing for families the session did not negotiate or when the neighbour lacks the capability.
   * Returns the families asked for.
   */
  requestRefresh(afi?: Afi): Afi[] {
    const s = this.main;
    if (s.state !== SessionState.Established || !s.peerRouteRefresh) return [];
    const asked = s.families.filter((f) => afi === undefined || f === afi);
    for (const f of asked) s.send({ type: MessageType.RouteRefresh, afi: f, safi: Safi.Unicast, subtype: 0 });
    return asked;
  }

  down(s: Session, reason: DownReason, wasEstablished: boolean, notification?: Notification): void {
    this.lastError = describe(reason, notification);
    if (this.sessions.length > 1) {
      s.dispose(); // the other connection carries on, and takes over restarts if it fails
      this.sessions = this.sessions.filter((x) => x !== s);
      if (this.sessions.length === 1) this.sessions[0]!.setFsmConfig(this.host.fsmConfig(this.cfg));
    }
    if (!wasEstablished) return;
    this.establishedAt = null;
    this.host.peerEvent(this.status());
    // RFC 4724 §4.2: helper mode when the session drops without a NOTIFICATION and both sides do GR.
    const gr = s.peerGracefulRestart;
    const helper =
      gr &&
      this.host.gracefulRestart &&
      reason !== DownReason.AdminStop &&
      reason !== DownReason.NotificationReceived &&
      reason !== DownReason.MessageError;
    if (helper && gr.restartTime > 0 && gr.families.length > 0) return this.keepStale(gr.restartTime, gr.families);
    this.host.apply(this.host.rib.resetPeer(this.id));
  }

  // ---- internals ----

  private newSession(passive = false): Session {
    const { clock, transport } = this.host;
    const fsm = this.host.fsmConfig(this.cfg);
    const p = {
      fsm: passive ? { ...fsm, passive } : fsm,
      clock,
      transport,
      remoteAddress: this.cfg.address,
      port: this.cfg.port ?? 179,
      owner: this,
    };
    return new Session(this.cfg.localAddress ? { ...p, localAddress: this.cfg.localAddress } : p);
  }

  private ribPeer(localAddress: string): RibPeer {
    const ibgp = this.cfg.as === this.host.fsmConfig(this.cfg).localAs;
    const p: RibPeer = {
      id: this.id,
      address: this.id,
      as: this.cfg.as,
      bgpId: this.id,
      ibgp,
      rrClient: this.cfg.routeReflectorClient ?? false,
      localAddress: this.cfg.localAddress ?? localAddress,
    };
    if (this.cfg.nextHopSelf) p.nextHopSelf = true;
    const nh = this.cfg.nextHops;
    if (nh?.ipv4 || nh?.ipv6)
      p.nextHops = { ...(nh.ipv4 ? { ipv4: nh.ipv4 } : {}), ...(nh.ipv6 ? { ipv6: nh.ipv6 } : {}) };
    if (nh?.ipv6LinkLocal) p.linkLocalNextHop = nh.ipv6LinkLocal;
    return p;
  }

  /** Our whole Adj-RIB-Out for this peer, then End-of-RIB for each negotiated family (RFC 4724 §2, §4.1). */
  private sendAll(s: Session): void {
    for (const m of buildUpdates(this.host.rib.exportsFor(this.id))) s.send(m);
    for (const afi of s.families) s.send(endOfRib(afi));
  }

  private keepStale(restartTime: number, families: number[]): void {
    this.host.apply(this.host.rib.markStale(this.id, families));
    this.clearStaleTimer();
    // If the peer is not back within its restart time, its routes go (RFC 4724 §4.2).
    this.staleTimer = this.host.clock.setTimer(restartTime * 1000, () => {
      this.staleTimer = null;
      this.host.apply(this.host.rib.purgeStale(this.id));
    });
  }

  /**
   * RFC 4724 §4.2: after the peer restarts, stale routes of a family its new GR capability does not list with
   * the F bit (forwarding state preserved) go at once; the rest wait for End-of-RIB.
   */
  private dropUnpreservedStale(s: Session): void {
    if (this.host.rib.counts(this.id).stale === 0) return;
    const preserved = s.peerGracefulRestart?.preserved ?? [];
    for (const afi of [Afi.Ipv4, Afi.Ipv6])
      if (!preserved.includes(afi)) this.host.apply(this.host.rib.purgeStale(this.id, afi));
    if (this.host.rib.counts(this.id).stale === 0) this.clearStaleTimer();
  }

  private endOfRib(afi: Afi): void {
    this.host.apply(this.host.rib.purgeStale(this.id, afi));
    if (this.host.rib.counts(this.id).stale === 0) this.clearStaleTimer();
  }

  private clearStaleTimer(): void {
    if (this.staleTimer !== null) this.host.clock.clearTimer(this.staleTimer);
    this.staleTimer = null;
  }
}

/** A readable last-error line: the reason and, when there was one, the NOTIFICATION code/subcode. */
function describe(reason: DownReason, n?: Notification): string {
  const note = n ? ` (NOTIFICATION ${NotificationCode[n.code] ?? n.code}/${n.subcode})` : '';
  return `${DownReason[reason]}${note}`;
}
