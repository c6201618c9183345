// Table tests of the session FSM (RFC 4271 §8): each row is (state, event) -> (state, actions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CeaseSubcode, NotificationCode, OpenErrorSubcode } from '../src/index.ts';
import { initialFsmState, step } from '../src/fsm/fsm.ts';
import {
  DownReason,
  FsmEventType as E,
  SessionState as S,
  TimerKind as T,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type OpenInfo,
} from '../src/fsm/types.ts';

const cfg = (over: Partial<FsmConfig> = {}): FsmConfig => ({
  localAs: 64512,
  localId: 0x0a000001,
  peerAs: 64512,
  holdTime: 90,
  connectRetryTime: 30,
  passive: false,
  automaticRestart: true,
  backoff: { min: 1, max: 60 },
  jitter: () => 0,
  ...over,
});

const peerOpen = (over: Partial<OpenInfo> = {}): OpenInfo => ({
  version: 4,
  as: 64512,
  holdTime: 30,
  bgpId: 0x0a000002,
  ...over,
});

const at = (state: S, over: Partial<FsmState> = {}): FsmState => ({ ...initialFsmState(), state, ...over });
const negotiated = { holdTime: 30, keepaliveTime: 10, peerOpen: peerOpen() };

/** A compact, comparable rendering of an action list. */
function show(actions: FsmAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'send':
        return a.message.type === 'notification'
          ? `send notification ${a.message.code}/${a.message.subcode}`
          : `send ${a.message.type}`;
      case 'startTimer':
        return `start ${T[a.timer]} ${a.seconds}`;
      case 'stopTimer':
        return `stop ${T[a.timer]}`;
      case 'notify':
        return a.event === 'down' ? `down ${DownReason[a.reason]}` : 'established';
      default:
        return a.kind;
    }
  });
}

const STOP_TIMERS = ['stop ConnectRetry', 'stop Hold', 'stop Keepalive'];

interface Row {
  name: string;
  cfg?: Partial<FsmConfig>;
  from: FsmState;
  event: FsmEvent;
  to: S;
  actions: string[];
}

const rows: Row[] = [
  // Idle
  {
    name: 'Idle + Start (active peer) connects',
    from: at(S.Idle),
    event: { type: E.Start },
    to: S.Connect,
    actions: ['start ConnectRetry 30', 'connect'],
  },
  {
    name: 'Idle + Start (passive peer) listens',
    cfg: { passive: true },
    from: at(S.Idle),
    event: { type: E.Start },
    to: S.Active,
    actions: ['start ConnectRetry 30'],
  },
  {
    name: 'Idle + IdleHold expiry restarts',
    from: at(S.Idle),
    event: { type: E.IdleHoldTimerExpires },
    to: S.Connect,
    actions: ['start ConnectRetry 30', 'connect'],
  },
  {
    name: 'Idle refuses connections',
    from: at(S.Idle),
    event: { type: E.TcpConnected, outbound: false },
    to: S.Idle,
    actions: ['close'],
  },
  { name: 'Idle ignores keepalives', from: at(S.Idle), event: { type: E.KeepaliveReceived }, to: S.Idle, actions: [] },
  // Connect
  {
    name: 'Connect + connected sends OPEN',
    from: at(S.Connect),
    event: { type: E.TcpConnected, outbound: true },
    to: S.OpenSent,
    actions: ['stop ConnectRetry', 'send open', 'start Hold 240'],
  },
  {
    name: 'Connect + ConnectRetry expiry retries',
    from: at(S.Connect),
    event: { type: E.ConnectRetryTimerExpires },
    to: S.Connect,
    actions: ['close', 'start ConnectRetry 30', 'connect'],
  },
  {
    name: 'Connect + TCP fails backs off',
    from: at(S.Connect),
    event: { type: E.TcpFails },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'close', 'down ConnectFailed', 'start IdleHold 1'],
  },
  {
    name: 'Connect + Stop',
    from: at(S.Connect),
    event: { type: E.Stop },
    to: S.Idle,
    actions: ['stop IdleHold', ...STOP_TIMERS, 'close', 'down AdminStop'],
  },
  // Active
  {
    name: 'Active + peer connects sends OPEN',
    from: at(S.Active),
    event: { type: E.TcpConnected, outbound: false },
    to: S.OpenSent,
    actions: ['stop ConnectRetry', 'send open', 'start Hold 240'],
  },
  {
    name: 'Active + ConnectRetry expiry connects',
    from: at(S.Active),
    event: { type: E.ConnectRetryTimerExpires },
    to: S.Connect,
    actions: ['start ConnectRetry 30', 'connect'],
  },
  {
    name: 'Active (passive) + ConnectRetry expiry keeps listening',
    cfg: { passive: true },
    from: at(S.Active),
    event: { type: E.ConnectRetryTimerExpires },
    to: S.Active,
    actions: ['start ConnectRetry 30'],
  },
  {
    name: 'Active + unexpected OPEN is an error',
    from: at(S.Active),
    event: { type: E.OpenReceived, open: peerOpen() },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'close', 'down FsmError', 'start IdleHold 1'],
  },
  // OpenSent
  {
    name: 'OpenSent + good OPEN negotiates hold min(90,30)',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen() },
    to: S.OpenConfirm,
    actions: ['send keepalive', 'start Keepalive 10', 'start Hold 30'],
  },
  {
    name: 'OpenSent + OPEN hold 0 disables timers',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ holdTime: 0 }) },
    to: S.OpenConfirm,
    actions: ['send keepalive', 'stop Hold'],
  },
  {
    name: 'OpenSent + version 3 -> Unsupported Version',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ version: 3 }) },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 2/1', 'close', 'down BadOpen', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + wrong AS -> Bad Peer AS',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ as: 64999 }) },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 2/2', 'close', 'down BadOpen', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + our own id (iBGP) -> Bad BGP Identifier',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ bgpId: 0x0a000001 }) },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 2/3', 'close', 'down BadOpen', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + id 0 -> Bad BGP Identifier',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ bgpId: 0 }) },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 2/3', 'close', 'down BadOpen', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + hold 2 -> Unacceptable Hold Time',
    from: at(S.OpenSent),
    event: { type: E.OpenReceived, open: peerOpen({ holdTime: 2 }) },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 2/6', 'close', 'down BadOpen', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + KEEPALIVE -> FSM error 5/1',
    from: at(S.OpenSent),
    event: { type: E.KeepaliveReceived },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 5/1', 'close', 'down FsmError', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + hold expiry -> 4/0',
    from: at(S.OpenSent),
    event: { type: E.HoldTimerExpires },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 4/0', 'close', 'down HoldTimerExpired', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + TCP closed',
    from: at(S.OpenSent),
    event: { type: E.TcpFails },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'close', 'down ConnectionClosed', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + collision dump -> Cease 6/7',
    from: at(S.OpenSent),
    event: { type: E.OpenCollisionDump },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 6/7', 'close', 'down CollisionLost', 'start IdleHold 1'],
  },
  {
    name: 'OpenSent + Stop -> Cease 6/2, no restart',
    from: at(S.OpenSent),
    event: { type: E.Stop },
    to: S.Idle,
    actions: ['stop IdleHold', ...STOP_TIMERS, 'send notification 6/2', 'close', 'down AdminStop'],
  },
  // OpenConfirm
  {
    name: 'OpenConfirm + KEEPALIVE -> Established',
    from: at(S.OpenConfirm, negotiated),
    event: { type: E.KeepaliveReceived },
    to: S.Established,
    actions: ['start Hold 30', 'established'],
  },
  {
    name: 'OpenConfirm + keepalive timer sends KEEPALIVE',
    from: at(S.OpenConfirm, negotiated),
    event: { type: E.KeepaliveTimerExpires },
    to: S.OpenConfirm,
    actions: ['send keepalive', 'start Keepalive 10'],
  },
  {
    name: 'OpenConfirm + NOTIFICATION',
    from: at(S.OpenConfirm, negotiated),
    event: { type: E.NotificationReceived, notification: { code: 6, subcode: 2 } },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'close', 'down NotificationReceived', 'start IdleHold 1'],
  },
  {
    name: 'OpenConfirm + UPDATE -> FSM error 5/2',
    from: at(S.OpenConfirm, negotiated),
    event: { type: E.UpdateReceived },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 5/2', 'close', 'down FsmError', 'start IdleHold 1'],
  },
  {
    name: 'OpenConfirm + collision dump',
    from: at(S.OpenConfirm, negotiated),
    event: { type: E.OpenCollisionDump },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 6/7', 'close', 'down CollisionLost', 'start IdleHold 1'],
  },
  // Established
  {
    name: 'Established + UPDATE restarts hold',
    from: at(S.Established, negotiated),
    event: { type: E.UpdateReceived },
    to: S.Established,
    actions: ['start Hold 30'],
  },
  {
    name: 'Established + KEEPALIVE restarts hold',
    from: at(S.Established, negotiated),
    event: { type: E.KeepaliveReceived },
    to: S.Established,
    actions: ['start Hold 30'],
  },
  {
    name: 'Established + hold expiry',
    from: at(S.Established, negotiated),
    event: { type: E.HoldTimerExpires },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 4/0', 'close', 'down HoldTimerExpired', 'start IdleHold 1'],
  },
  {
    name: 'Established + UPDATE error -> 3/x',
    from: at(S.Established, negotiated),
    event: { type: E.MessageError, notification: { code: 3, subcode: 1 } },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 3/1', 'close', 'down MessageError', 'start IdleHold 1'],
  },
  {
    name: 'Established + OPEN -> FSM error 5/3',
    from: at(S.Established, negotiated),
    event: { type: E.OpenReceived, open: peerOpen() },
    to: S.Idle,
    actions: [...STOP_TIMERS, 'send notification 5/3', 'close', 'down FsmError', 'start IdleHold 1'],
  },
  {
    name: 'Established + Stop (deconfigured)',
    from: at(S.Established, negotiated),
    event: { type: E.Stop, subcode: CeaseSubcode.PeerDeconfigured },
    to: S.Idle,
    actions: ['stop IdleHold', ...STOP_TIMERS, 'send notification 6/3', 'close', 'down AdminStop'],
  },
];

for (const row of rows) {
  test(row.name, () => {
    const t = step(cfg(row.cfg), row.from, row.event);
    assert.is(S[t.state.state], S[row.to]);
    assert.equal(show(t.actions), row.actions);
  });
}

test('step does not mutate its input state', () => {
  const from = at(S.OpenSent);
  const copy = structuredClone(from);
  step(cfg(), from, { type: E.OpenReceived, open: peerOpen() });
  assert.equal(from, copy);
});

test('OpenConfirm records the negotiated times and the peer OPEN', () => {
  const t = step(cfg({ holdTime: 9 }), at(S.OpenSent), { type: E.OpenReceived, open: peerOpen({ holdTime: 180 }) });
  assert.is(t.state.holdTime, 9);
  assert.is(t.state.keepaliveTime, 3);
  assert.is(t.state.peerOpen?.bgpId, 0x0a000002);
});

test('the Unsupported Version NOTIFICATION carries version 4 as its data', () => {
  const t = step(cfg(), at(S.OpenSent), { type: E.OpenReceived, open: peerOpen({ version: 5 }) });
  const sent = t.actions.find((a) => a.kind === 'send');
  assert.ok(sent && sent.kind === 'send' && sent.message.type === 'notification');
  if (sent.message.type !== 'notification') return;
  assert.is(sent.message.code, NotificationCode.OpenMessageError);
  assert.is(sent.message.subcode, OpenErrorSubcode.UnsupportedVersionNumber);
  assert.equal([...(sent.message.data ?? [])], [0, 4]);
});

test('eBGP accepts a peer identifier equal to ours only across ASes', () => {
  const c = cfg({ localAs: 64512, peerAs: 65001 });
  const t = step(c, at(S.OpenSent), { type: E.OpenReceived, open: peerOpen({ as: 65001, bgpId: c.localId }) });
  assert.is(t.state.state, S.OpenConfirm);
});

test.run();
