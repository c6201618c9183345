// One FSM instance bound to one connection: the driver that carries out the FSM's actions (timers on the
// injected clock, connect/send/close on the transport) and turns what the connection reports into events.
// A peer normally has one; during a connection collision (§6.8) it briefly has two.
import { FsmTimers, type Clock } from '../fsm/clock.ts';
import { initialFsmState, step } from '../fsm/fsm.ts';
import {
  DownReason,
  FsmEventType,
  SessionState,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type Notification,
  type OutMessage,
} from '../fsm/types.ts';
import {
  CapabilityCode,
  MessageType,
  type Afi,
  type Message,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../types.ts';
import type { Connection, Transport } from './connection.ts';
import { negotiateFamilies } from './families.ts';
import { offersIpv4OverIpv6 } from '../codec/extended-nexthop.ts';
import { openInfo } from './messages.ts';

/** What a session reports to the peer that owns it. */
export interface SessionOwner {
  buildOpen(): OpenMessage;
  /** The peer's OPEN was accepted (state OpenConfirm): time for collision detection. */
  opened(s: Session): void;
  established(s: Session): void;
  update(s: Session, msg: UpdateMessage): void;
  routeRefresh(s: Session, msg: RouteRefreshMessage): void;
  down(s: Session, reason: DownReason, wasEstablished: boolean, notification?: Notification): void;
}

export interface SessionParams {
  /** Replaced with `setFsmConfig` when a spare session becomes the main one. */
  fsm: FsmConfig;
  clock: Clock;
  transport: Transport;
  remoteAddress: string;
  port: number;
  localAddress?: string;
  owner: SessionOwner;
}

export class Session {
  fsm: FsmState = initialFsmState();
  conn: Connection | null = null;
  /** Peer asked for 4-octet AS and graceful restart in its OPEN (valid from OpenConfirm on). */
  peerGracefulRestart: { restartTime: number; families: number[]; preserved: number[] } | null = null;
  /** Both sides use 4-octet AS numbers (we always offer them, RFC 6793 §3). */
  fourOctetAs = false;
  /** Unicast families both OPENs advertised (RFC 4760 §8); valid from OpenConfirm on, empty before. */
  families: Afi[] = [];
  /** Both OPENs offered IPv4 unicast with IPv6 next hops (RFC 8950); valid from OpenConfirm on. */
  extendedNextHop = false;
  /** The peer's OPEN listed the route refresh capability (RFC 2918 §2). */
  peerRouteRefresh = false;
  /** The OPEN we sent on this connection: one side of the family negotiation. */
  private sentOpen: OpenMessage | null = null;
  private readonly timers: FsmTimers;
  /** Bumped on every close, so late callbacks of an abandoned connect or socket are ignored. */
  private epoch = 0;
  private feeding = false;
  private disposed = false;
  private readonly queue: FsmEvent[] = [];

  constructor(readonly p: SessionParams) {
    this.timers = new FsmTimers(p.clock, (ev) => this.feed(ev));
  }

  /** Changes the FSM configuration from the next event on (e.g. a passive spare taking over as main). */
  setFsmConfig(fsm: FsmConfig): void {
    this.p.fsm = fsm;
  }

  get state(): SessionState {
    return this.fsm.state;
  }

  /** Runs one event through the FSM and carries out its actions. Re-entrant calls are queued, not nested. */
  feed(ev: FsmEvent): void {
    if (this.disposed) return;
    this.queue.push(ev);
    if (this.feeding) return;
    this.feeding = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) this.apply(e);
    } finally {
      this.feeding = false;
    }
  }

  /** Hands an accepted inbound connection to this session. */
  acceptInbound(conn: Connection): void {
    this.adopt(conn);
    this.feed({ type: FsmEventType.TcpConnected, outbound: false });
  }

  /** Sends a message on the live connection (UPDATEs from the peer layer). */
  send(msg: Message): void {
    this.conn?.send(msg);
  }

  /** Stops timers and drops the connection without any message: for discarding a spare session. */
  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
    this.timers.stopAll();
    this.dropConnection();
  }

  private apply(ev: FsmEvent): void {
    const before = this.fsm;
    const t = step(this.p.fsm, before, ev);
    this.fsm = t.state;
    for (const a of t.actions) if (!this.disposed) this.act(a, before.state);
    if (ev.type === FsmEventType.OpenReceived && t.state.state === SessionState.OpenConfirm) this.p.owner.opened(this);
  }

  private act(a: FsmAction, from: SessionState): void {
    switch (a.kind) {
      case 'startTimer':
        return this.timers.start(a.timer, a.seconds);
      case 'stopTimer':
        return this.timers.stop(a.timer);
      case 'send':
        return this.conn?.send(this.message(a.message));
      case 'connect':
        return this.connect();
      case 'close':
        return this.dropConnection();
      case 'notify':
        if (a.event === 'established') return this.p.owner.established(this);
        return this.p.owner.down(this, a.reason, from === SessionState.Established, a.notification);
    }
  }

  private message(m: OutMessage): Message {
    if (m.type === 'open') return (this.sentOpen = this.p.owner.buildOpen());
    if (m.type === 'keepalive') return { type: MessageType.Keepalive };
    return { type: MessageType.Notification, code: m.code, subcode: m.subcode, data: m.data ?? new Uint8Array(0) };
  }

  private connect(): void {
    const epoch = ++this.epoch;
    this.p.transport.connect(this.p.remoteAddress, this.p.port, this.p.localAddress).then(
      (conn) => {
        if (epoch !== this.epoch || this.fsm.state !== SessionState.Connect) return conn.close();
        this.adopt(conn);
        this.feed({ type: FsmEventType.TcpConnected, outbound: true });
      },
      () => {
        if (epoch === this.epoch && this.fsm.state === SessionState.Connect) this.feed({ type: FsmEventType.TcpFails });
      },
    );
  }

  private adopt(conn: Connection): void {
    this.dropConnection();
    const epoch = this.epoch;
    this.conn = conn;
    const live = () => epoch === this.epoch;
    conn.attach({
      message: (m) => live() && this.onMessage(m),
      error: (n) => live() && this.feed({ type: FsmEventType.MessageError, notification: n }),
      closed: () => live() && this.feed({ type: FsmEventType.TcpFails }),
    });
  }

  private dropConnection(): void {
    this.epoch++;
    this.conn?.close();
    this.conn = null;
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case MessageType.Open: {
        const info = openInfo(m);
        this.fourOctetAs = info.fourOctetAs;
        this.conn?.setFourOctetAs(info.fourOctetAs);
        const gr = info.gracefulRestart;
        this.peerGracefulRestart = gr
          ? { restartTime: gr.restartTime, families: gr.families, preserved: gr.preserved }
          : null;
        const ours = this.sentOpen ?? this.p.owner.buildOpen();
        this.families = negotiateFamilies(ours, m);
        this.extendedNextHop = offersIpv4OverIpv6(ours) && offersIpv4OverIpv6(m);
        this.peerRouteRefresh = m.capabilities.some((c) => c.type === CapabilityCode.RouteRefresh);
        return this.feed({ type: FsmEventType.OpenReceived, open: info });
      }
      case MessageType.Update:
        this.feed({ type: FsmEventType.UpdateReceived });
        if (this.fsm.state === SessionState.Established) this.p.owner.update(this, m);
        return;
      case MessageType.Keepalive:
        return this.feed({ type: FsmEventType.KeepaliveReceived });
      case MessageType.Notification:
        return this.feed({
          type: FsmEventType.NotificationReceived,
          notification: { code: m.code, subcode: m.subcode, data: m.data },
        });
      case MessageType.RouteRefresh:
        if (this.fsm.state === SessionState.Established) this.p.owner.routeRefresh(this, m);
        return;
    }
  }
}
