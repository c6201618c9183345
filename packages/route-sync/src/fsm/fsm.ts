// The BGP session FSM of RFC 4271 §8.2.2, one handler per state. Pure: no clock, no socket (see types.ts).
//
// Simplifications, each deliberate:
// - DelayOpen, DampPeerOscillations and the "collision detect in Established" option are not modelled:
//   they are optional attributes in §8.1.1 and default off.
// - A passive peer never initiates a connection, even when ConnectRetry expires in Active (as BIRD's
//   `passive on`): Calico's mesh relies on exactly one side connecting.
// - The ConnectRetryCounter drives the reconnect back-off and resets on reaching Established, so one flap
//   after days of uptime reconnects quickly.
import { backoffSeconds, LARGE_HOLD_TIME, negotiateHoldTime, validateOpen } from './open.ts';
import { CeaseSubcode, FsmErrorSubcode, NotificationCode } from '../types.ts';
import {
  DownReason,
  FsmEventType,
  SessionState,
  TimerKind,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type Notification,
  type Transition,
} from './types.ts';

/** The state of a session that has not been started. */
export function initialFsmState(): FsmState {
  return {
    state: SessionState.Idle,
    connectRetryCounter: 0,
    holdTime: 0,
    keepaliveTime: 0,
    outbound: false,
    lastReason: DownReason.None,
  };
}

type Handler = (cfg: FsmConfig, st: FsmState, ev: FsmEvent) => Transition;

const handlers: Record<SessionState, Handler> = {
  [SessionState.Idle]: idle,
  [SessionState.Connect]: connect,
  [SessionState.Active]: active,
  [SessionState.OpenSent]: openSent,
  [SessionState.OpenConfirm]: openConfirm,
  [SessionState.Established]: established,
};

/** Applies one event: returns the next state and the actions to carry out, in order. Never throws. */
export function step(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  return handlers[st.state](cfg, st, ev);
}

// ---- helpers ----

const stay = (st: FsmState): Transition => ({ state: st, actions: [] });
const timer = (t: TimerKind, seconds: number): FsmAction => ({ kind: 'startTimer', timer: t, seconds });
const stopTimer = (t: TimerKind): FsmAction => ({ kind: 'stopTimer', timer: t });
const send = (n: Notification): FsmAction => ({ kind: 'send', message: { type: 'notification', ...n } });
const cease = (subcode: CeaseSubcode): Notification => ({ code: NotificationCode.Cease, subcode });

/**
 * Every path back to Idle: stop timers, optionally send a NOTIFICATION, close, report why, and (for failures
 * with automatic restart) schedule the next attempt after a back-off.
 */
function toIdle(
  cfg: FsmConfig,
  st: FsmState,
  reason: DownReason,
  opts: { sent?: Notification; received?: Notification; failure: boolean },
): Transition {
  const counter = opts.failure ? st.connectRetryCounter + 1 : 0;
  const actions: FsmAction[] = [
    stopTimer(TimerKind.ConnectRetry),
    stopTimer(TimerKind.Hold),
    stopTimer(TimerKind.Keepalive),
  ];
  if (opts.sent) actions.push(send(opts.sent));
  actions.push({ kind: 'close' });
  const notification = opts.sent ?? opts.received;
  actions.push(
    notification ? { kind: 'notify', event: 'down', reason, notification } : { kind: 'notify', event: 'down', reason },
  );
  if (opts.failure && cfg.automaticRestart) actions.push(timer(TimerKind.IdleHold, backoffSeconds(cfg, counter)));
  const next: FsmState = { ...idleFields(st), connectRetryCounter: counter, lastReason: reason };
  if (notification) next.lastNotification = notification;
  return { state: next, actions };
}

function idleFields(st: FsmState): FsmState {
  const { peerOpen: _dropped, ...rest } = st;
  return { ...rest, state: SessionState.Idle, holdTime: 0, keepaliveTime: 0 };
}

/** A connection is up (either direction): send our OPEN and wait for the peer's (§8.2.2, Connect event 16/17). */
function connectionUp(st: FsmState, outbound: boolean): Transition {
  return {
    state: { ...st, state: SessionState.OpenSent, outbound },
    actions: [
      stopTimer(TimerKind.ConnectRetry),
      { kind: 'send', message: { type: 'open' } },
      timer(TimerKind.Hold, LARGE_HOLD_TIME),
    ],
  };
}

/** Stop in any state past Idle: Cease (if a connection carries messages) and no automatic restart. */
function stopped(cfg: FsmConfig, st: FsmState, ev: FsmEvent, canSend: boolean): Transition {
  const subcode = ev.type === FsmEventType.Stop && ev.subcode ? ev.subcode : CeaseSubcode.AdministrativeShutdown;
  const t = toIdle(
    cfg,
    st,
    DownReason.AdminStop,
    canSend ? { sent: cease(subcode), failure: false } : { failure: false },
  );
  return { state: t.state, actions: [stopTimer(TimerKind.IdleHold), ...t.actions] };
}

/** Events common to OpenSent, OpenConfirm and Established (the states with a live, talking connection). */
function talkingCommon(cfg: FsmConfig, st: FsmState, ev: FsmEvent, fsmSubcode: FsmErrorSubcode): Transition {
  switch (ev.type) {
    case FsmEventType.Stop:
      return stopped(cfg, st, ev, true);
    case FsmEventType.HoldTimerExpires:
      return toIdle(cfg, st, DownReason.HoldTimerExpired, {
        sent: { code: NotificationCode.HoldTimerExpired, subcode: 0 },
        failure: true,
      });
    case FsmEventType.TcpFails:
      return toIdle(cfg, st, DownReason.ConnectionClosed, { failure: true });
    case FsmEventType.NotificationReceived:
      return toIdle(cfg, st, DownReason.NotificationReceived, { received: ev.notification, failure: true });
    case FsmEventType.MessageError:
      return toIdle(cfg, st, DownReason.MessageError, { sent: ev.notification, failure: true });
    case FsmEventType.OpenCollisionDump:
      return toIdle(cfg, st, DownReason.CollisionLost, {
        sent: cease(CeaseSubcode.ConnectionCollisionResolution),
        failure: true,
      });
    case FsmEventType.Start:
    case FsmEventType.TcpConnected: // the driver handles a second connection with a second FSM
    case FsmEventType.ConnectRetryTimerExpires:
    case FsmEventType.IdleHoldTimerExpires:
      return stay(st);
    default:
      // RFC 6608: any other message or event here is an FSM error.
      return toIdle(cfg, st, DownReason.FsmError, {
        sent: { code: NotificationCode.FsmError, subcode: fsmSubcode },
        failure: true,
      });
  }
}

// ---- one handler per state ----

/** Idle (§8.2.2): refuse connections; wait for Start (manual, or the IdleHold timer of automatic restart). */
function idle(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  switch (ev.type) {
    case FsmEventType.Start:
    case FsmEventType.IdleHoldTimerExpires: {
      const base = { ...st, lastReason: DownReason.None };
      if (cfg.passive)
        return {
          state: { ...base, state: SessionState.Active },
          actions: [timer(TimerKind.ConnectRetry, cfg.connectRetryTime)],
        };
      return {
        state: { ...base, state: SessionState.Connect },
        actions: [timer(TimerKind.ConnectRetry, cfg.connectRetryTime), { kind: 'connect' }],
      };
    }
    case FsmEventType.Stop:
      return { state: { ...st, connectRetryCounter: 0 }, actions: [stopTimer(TimerKind.IdleHold)] };
    case FsmEventType.TcpConnected:
      return { state: st, actions: [{ kind: 'close' }] };
    default:
      return stay(st);
  }
}

/** What Connect and Active do alike: they differ only when the ConnectRetry timer fires. */
function connectingCommon(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  switch (ev.type) {
    case FsmEventType.Stop:
      return stopped(cfg, st, ev, false);
    case FsmEventType.TcpConnected:
      return connectionUp(st, ev.outbound);
    case FsmEventType.TcpFails:
      return toIdle(cfg, st, DownReason.ConnectFailed, { failure: true });
    case FsmEventType.Start:
    case FsmEventType.IdleHoldTimerExpires:
      return stay(st);
    default:
      return toIdle(cfg, st, DownReason.FsmError, { failure: true });
  }
}

/** Connect: our TCP connect is in flight. */
function connect(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  if (ev.type !== FsmEventType.ConnectRetryTimerExpires) return connectingCommon(cfg, st, ev);
  // Drop the attempt and try again.
  return {
    state: st,
    actions: [{ kind: 'close' }, timer(TimerKind.ConnectRetry, cfg.connectRetryTime), { kind: 'connect' }],
  };
}

/** Active: listening for the peer to connect (passive peers live here until it does). */
function active(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  if (ev.type !== FsmEventType.ConnectRetryTimerExpires) return connectingCommon(cfg, st, ev);
  if (cfg.passive) return { state: st, actions: [timer(TimerKind.ConnectRetry, cfg.connectRetryTime)] };
  return {
    state: { ...st, state: SessionState.Connect },
    actions: [timer(TimerKind.ConnectRetry, cfg.connectRetryTime), { kind: 'connect' }],
  };
}

/** OpenSent: our OPEN is out; the peer's OPEN decides (validation and hold-time negotiation, §6.2, §4.2). */
function openSent(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  if (ev.type !== FsmEventType.OpenReceived) return talkingCommon(cfg, st, ev, FsmErrorSubcode.UnexpectedInOpenSent);
  const error = validateOpen(cfg, ev.open);
  if (error) return toIdle(cfg, st, DownReason.BadOpen, { sent: error, failure: true });
  const { holdTime, keepaliveTime } = negotiateHoldTime(cfg.holdTime, ev.open.holdTime);
  const actions: FsmAction[] = [{ kind: 'send', message: { type: 'keepalive' } }];
  if (holdTime > 0) actions.push(timer(TimerKind.Keepalive, keepaliveTime), timer(TimerKind.Hold, holdTime));
  else actions.push(stopTimer(TimerKind.Hold));
  return { state: { ...st, state: SessionState.OpenConfirm, holdTime, keepaliveTime, peerOpen: ev.open }, actions };
}

/** OpenConfirm: OPENs exchanged; the first KEEPALIVE from the peer completes the session. */
function openConfirm(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  switch (ev.type) {
    case FsmEventType.KeepaliveReceived:
      return {
        state: { ...st, state: SessionState.Established, connectRetryCounter: 0 },
        actions: [...restartHold(st), { kind: 'notify', event: 'established' }],
      };
    case FsmEventType.KeepaliveTimerExpires:
      return { state: st, actions: keepalive(st) };
    default:
      return talkingCommon(cfg, st, ev, FsmErrorSubcode.UnexpectedInOpenConfirm);
  }
}

/** Established: UPDATEs and KEEPALIVEs flow; each one restarts the hold timer (§4.4). */
function established(cfg: FsmConfig, st: FsmState, ev: FsmEvent): Transition {
  switch (ev.type) {
    case FsmEventType.KeepaliveReceived:
    case FsmEventType.UpdateReceived:
      return { state: st, actions: restartHold(st) };
    case FsmEventType.KeepaliveTimerExpires:
      return { state: st, actions: keepalive(st) };
    default:
      return talkingCommon(cfg, st, ev, FsmErrorSubcode.UnexpectedInEstablished);
  }
}

function restartHold(st: FsmState): FsmAction[] {
  return st.holdTime > 0 ? [timer(TimerKind.Hold, st.holdTime)] : [];
}

function keepalive(st: FsmState): FsmAction[] {
  return [{ kind: 'send', message: { type: 'keepalive' } }, timer(TimerKind.Keepalive, st.keepaliveTime)];
}
