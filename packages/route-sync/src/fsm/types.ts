// Types of the BGP session finite state machine (RFC 4271 §8).
//
// Design notes
// - The FSM is a pure function `step(config, state, event) -> {state, actions}`. It owns no socket and no
//   timer: it asks for them through actions (`connect`, `send`, `startTimer`...) that a driver carries out,
//   and the driver feeds the outcome back as events (`TcpConnected`, `HoldTimerExpires`...). Tests therefore
//   run a 90-second hold timer in microseconds with a fake clock.
// - Outgoing messages are described, not encoded (`OutMessage`): the driver turns them into bytes with the
//   codec. The FSM only needs the OPEN fields it validates (`OpenInfo`).
// - One FSM instance follows one TCP connection attempt. When two connections to the same peer race
//   (§6.8), the driver runs a second instance and `collisionLoser` says which one to dump.
// - Wire codes (NOTIFICATION codes and subcodes) come from the shared message types in ../types.ts.
import type { CeaseSubcode } from '../types.ts';

/** Session states, numbered as in the BGP-4 MIB's bgpPeerState (RFC 4273) so they can be exported as is. */
export enum SessionState {
  Idle = 1,
  Connect = 2,
  Active = 3,
  OpenSent = 4,
  OpenConfirm = 5,
  Established = 6,
}

/** The three timers of §8 plus the IdleHold timer that spaces out automatic restarts (§8.1.1, back-off). */
export enum TimerKind {
  ConnectRetry = 1,
  Hold = 2,
  Keepalive = 3,
  IdleHold = 4,
}

/** Events, numbered as in RFC 4271 §8.1 where the RFC has one (several RFC events fold into one here). */
export enum FsmEventType {
  /** Events 1/3/4/5: start, manual or automatic; the peer's `passive` config picks passive establishment. */
  Start = 1,
  /** Events 2/8: administrative or automatic stop. */
  Stop = 2,
  ConnectRetryTimerExpires = 9,
  HoldTimerExpires = 10,
  KeepaliveTimerExpires = 11,
  IdleHoldTimerExpires = 13,
  /** Events 16/17: our outgoing connect completed, or a peer connection was accepted. */
  TcpConnected = 16,
  /** Event 18: the connection failed or was closed by the peer. */
  TcpFails = 18,
  /** Event 19: an OPEN arrived (already decoded; validated here). */
  OpenReceived = 19,
  /** Events 21/22/28: the codec rejected a message; carries the NOTIFICATION to send. */
  MessageError = 21,
  /** Event 23: collision detection chose to close this connection. */
  OpenCollisionDump = 23,
  /** Events 24/25: a NOTIFICATION arrived. */
  NotificationReceived = 25,
  KeepaliveReceived = 26,
  UpdateReceived = 27,
}

/** Why the session went down (or did not come up): readable names for status, logs and metrics. */
export enum DownReason {
  None = 0,
  AdminStop,
  HoldTimerExpired,
  ConnectFailed,
  ConnectionClosed,
  NotificationReceived,
  BadOpen,
  MessageError,
  FsmError,
  CollisionLost,
}

/** The OPEN fields the FSM needs (§4.2), with the 4-octet AS already resolved (RFC 6793). */
export interface OpenInfo {
  version: number;
  /** The sender's AS: the 4-octet capability's value when present, else the 2-octet My AS field. */
  as: number;
  holdTime: number;
  /** BGP Identifier as an unsigned 32-bit integer. */
  bgpId: number;
  /** Peer advertised graceful restart (RFC 4724) and the restart time it asked for, in seconds. */
  gracefulRestart?: { restartTime: number; restarting: boolean; families: number[]; preserved: number[] };
}

/** A NOTIFICATION to send or that was received (§4.5). */
export interface Notification {
  code: number;
  subcode: number;
  data?: Uint8Array;
}

/** Messages the FSM asks the driver to send; the driver builds OPEN from its own config. */
export type OutMessage = { type: 'open' } | { type: 'keepalive' } | ({ type: 'notification' } & Notification);

/** Per-peer FSM configuration (immutable while the session runs). */
export interface FsmConfig {
  localAs: number;
  localId: number;
  peerAs: number;
  /** Our proposed hold time in seconds: 0 or >= 3 (§4.2). */
  holdTime: number;
  connectRetryTime: number;
  /** Never initiate connections; wait for the peer (§8.1.1 PassiveTcpEstablishment). */
  passive: boolean;
  /** Restart by itself after an error, after an IdleHold delay with exponential back-off. */
  automaticRestart: boolean;
  /** Back-off bounds in seconds: the delay doubles per consecutive failure from `min` up to `max`. */
  backoff: { min: number; max: number };
  /** Returns a number in [0, 1): injected so tests are deterministic. Adds up to 25 % to a back-off. */
  jitter: () => number;
}

/** Mutable-by-replacement FSM state; `step` never changes its input. */
export interface FsmState {
  state: SessionState;
  /** §8: counts failures; drives the back-off; reset by Stop and on reaching Established. */
  connectRetryCounter: number;
  /** Negotiated hold and keepalive times (seconds), valid from OpenConfirm on. */
  holdTime: number;
  keepaliveTime: number;
  /** Direction of the current connection, for collision resolution. */
  outbound: boolean;
  /** The peer's OPEN, once received. */
  peerOpen?: OpenInfo;
  lastReason: DownReason;
  lastNotification?: Notification;
}

export type FsmEvent =
  | { type: FsmEventType.Start }
  | { type: FsmEventType.Stop; subcode?: CeaseSubcode }
  | { type: FsmEventType.ConnectRetryTimerExpires }
  | { type: FsmEventType.HoldTimerExpires }
  | { type: FsmEventType.KeepaliveTimerExpires }
  | { type: FsmEventType.IdleHoldTimerExpires }
  | { type: FsmEventType.TcpConnected; outbound: boolean }
  | { type: FsmEventType.TcpFails }
  | { type: FsmEventType.OpenReceived; open: OpenInfo }
  | { type: FsmEventType.MessageError; notification: Notification }
  | { type: FsmEventType.OpenCollisionDump }
  | { type: FsmEventType.NotificationReceived; notification: Notification }
  | { type: FsmEventType.KeepaliveReceived }
  | { type: FsmEventType.UpdateReceived };

/** What the FSM asks its driver to do, in order. */
export type FsmAction =
  | { kind: 'connect' }
  | { kind: 'close' }
  | { kind: 'send'; message: OutMessage }
  | { kind: 'startTimer'; timer: TimerKind; seconds: number }
  | { kind: 'stopTimer'; timer: TimerKind }
  | { kind: 'notify'; event: 'established' }
  | { kind: 'notify'; event: 'down'; reason: DownReason; notification?: Notification };

export interface Transition {
  state: FsmState;
  actions: FsmAction[];
}
