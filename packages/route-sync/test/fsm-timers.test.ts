// The FSM driven through time with a fake clock: hold timer expiry, keepalives, reconnect back-off,
// and connection collision resolution (§6.8) between two connections to one peer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock, FsmTimers } from '../src/fsm/clock.ts';
import { initialFsmState, step } from '../src/fsm/fsm.ts';
import { backoffSeconds, collisionLoser, negotiateHoldTime } from '../src/fsm/open.ts';
import {
  FsmEventType as E,
  SessionState as S,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
} from '../src/fsm/types.ts';

const cfg = (over: Partial<FsmConfig> = {}): FsmConfig => ({
  localAs: 64512,
  localId: 1,
  peerAs: 64512,
  holdTime: 90,
  connectRetryTime: 30,
  passive: false,
  automaticRestart: true,
  backoff: { min: 2, max: 60 },
  jitter: () => 0,
  ...over,
});

/** A minimal driver: FSM + timers on a fake clock; records what it would have done to a socket. */
class Harness {
  readonly clock = new FakeClock();
  st: FsmState = initialFsmState();
  readonly log: string[] = [];
  private readonly timers = new FsmTimers(this.clock, (ev) => this.feed(ev));

  constructor(readonly config: FsmConfig) {}

  feed(ev: FsmEvent): void {
    const t = step(this.config, this.st, ev);
    this.st = t.state;
    for (const a of t.actions) {
      if (a.kind === 'startTimer') this.timers.start(a.timer, a.seconds);
      else if (a.kind === 'stopTimer') this.timers.stop(a.timer);
      else if (a.kind === 'send') this.log.push(`${this.clock.now() / 1000}s send ${a.message.type}`);
      else this.log.push(`${this.clock.now() / 1000}s ${a.kind}${a.kind === 'notify' ? ' ' + a.event : ''}`);
    }
  }

  /** Brings the session to Established with the peer proposing `peerHold`. */
  establish(peerHold: number): void {
    this.feed({ type: E.Start });
    this.feed({ type: E.TcpConnected, outbound: true });
    this.feed({ type: E.OpenReceived, open: { version: 4, as: 64512, holdTime: peerHold, bgpId: 2 } });
    this.feed({ type: E.KeepaliveReceived });
  }
}

test('hold timer expiry tears the session down after exactly the negotiated hold time', () => {
  const h = new Harness(cfg());
  h.establish(9); // min(90, 9) = 9 s, keepalive every 3 s
  assert.is(h.st.state, S.Established);
  h.clock.advance(8_999);
  assert.is(h.st.state, S.Established);
  h.clock.advance(1);
  assert.is(h.st.state, S.Idle);
  assert.ok(h.log.includes('9s send notification'), h.log.join('\n'));
});

test('we send a KEEPALIVE every third of the hold time', () => {
  const h = new Harness(cfg());
  h.establish(9);
  h.log.length = 0;
  for (let i = 0; i < 4; i++) {
    h.clock.advance(2_000);
    h.feed({ type: E.KeepaliveReceived }); // the peer keeps the session alive
  }
  assert.is(h.st.state, S.Established);
  assert.equal(h.log, ['3s send keepalive', '6s send keepalive']);
});

test('received KEEPALIVEs keep restarting the hold timer', () => {
  const h = new Harness(cfg());
  h.establish(30);
  for (let i = 0; i < 10; i++) {
    h.clock.advance(20_000);
    h.feed({ type: E.KeepaliveReceived });
  }
  assert.is(h.st.state, S.Established); // 200 s passed, never 30 s of silence
});

test('hold time 0 means no keepalives and no hold timer', () => {
  const h = new Harness(cfg({ holdTime: 0 }));
  h.establish(90);
  h.log.length = 0;
  h.clock.advance(3_600_000);
  assert.is(h.st.state, S.Established);
  assert.equal(h.log, []);
});

test('a peer that never answers our OPEN is dropped after the 240 s OpenSent hold timer', () => {
  const h = new Harness(cfg());
  h.feed({ type: E.Start });
  h.feed({ type: E.TcpConnected, outbound: true });
  h.clock.advance(239_000);
  assert.is(h.st.state, S.OpenSent);
  h.clock.advance(1_000);
  assert.is(h.st.state, S.Idle);
});

test('automatic restart backs off exponentially, bounded, and resets once Established', () => {
  const h = new Harness(cfg());
  h.feed({ type: E.Start });
  const connects: number[] = [];
  for (let i = 0; i < 8; i++) {
    h.feed({ type: E.TcpFails }); // Connect -> Idle, IdleHold scheduled
    const before = h.clock.now();
    for (let guard = 0; guard < 200 && h.st.state === S.Idle; guard++) h.clock.advance(1_000);
    connects.push((h.clock.now() - before) / 1000);
  }
  assert.equal(connects, [2, 4, 8, 16, 32, 60, 60, 60]);
  h.feed({ type: E.TcpConnected, outbound: true });
  h.feed({ type: E.OpenReceived, open: { version: 4, as: 64512, holdTime: 90, bgpId: 2 } });
  h.feed({ type: E.KeepaliveReceived });
  assert.is(h.st.connectRetryCounter, 0);
});

test('back-off jitter adds at most 25 %', () => {
  assert.is(backoffSeconds(cfg({ jitter: () => 0.5 }), 3), 8 * 1.125);
  assert.is(backoffSeconds(cfg({ jitter: () => 0.999 }), 50), 60 * (1 + 0.25 * 0.999));
  assert.is(backoffSeconds(cfg(), 0), 0);
});

test('Stop cancels a pending automatic restart', () => {
  const h = new Harness(cfg());
  h.feed({ type: E.Start });
  h.feed({ type: E.TcpFails });
  h.feed({ type: E.Stop });
  h.clock.advance(600_000);
  assert.is(h.st.state, S.Idle);
  assert.is(h.clock.pending, 0);
});

test('hold-time negotiation takes the minimum', () => {
  assert.equal(negotiateHoldTime(90, 180), { holdTime: 90, keepaliveTime: 30 });
  assert.equal(negotiateHoldTime(90, 4), { holdTime: 4, keepaliveTime: 1 });
  assert.equal(negotiateHoldTime(0, 90), { holdTime: 0, keepaliveTime: 0 });
});

test('collision: the connection initiated by the lower BGP identifier is closed', () => {
  // We are 10.0.0.1, the peer 10.0.0.2: we are lower, so our outbound connection loses.
  assert.is(collisionLoser(0x0a000001, 0x0a000002, true), true);
  assert.is(collisionLoser(0x0a000001, 0x0a000002, false), false);
  // We are higher: the peer's (inbound) connection loses.
  assert.is(collisionLoser(0x0a000002, 0x0a000001, true), false);
  assert.is(collisionLoser(0x0a000002, 0x0a000001, false), true);
  // Identifiers compare unsigned: 200.0.0.1 is higher than 10.0.0.1 even though it is negative as int32.
  assert.is(collisionLoser(0xc8000001 | 0, 0x0a000001, false), true);
});

test('collision between two live connections: both sides agree and exactly one survives', () => {
  // Two FSMs on our side (outbound and inbound connection to the same peer), both in OpenConfirm.
  const local = 0x0a000001;
  const remote = 0x0a000002;
  const outbound = new Harness(cfg({ localId: local }));
  const inbound = new Harness(cfg({ localId: local, passive: true }));
  outbound.feed({ type: E.Start });
  outbound.feed({ type: E.TcpConnected, outbound: true });
  inbound.feed({ type: E.Start });
  inbound.feed({ type: E.TcpConnected, outbound: false });
  const open = { version: 4, as: 64512, holdTime: 90, bgpId: remote };
  outbound.feed({ type: E.OpenReceived, open });
  inbound.feed({ type: E.OpenReceived, open });
  for (const h of [outbound, inbound]) {
    if (collisionLoser(local, h.st.peerOpen!.bgpId, h.st.outbound)) h.feed({ type: E.OpenCollisionDump });
  }
  assert.is(outbound.st.state, S.Idle);
  assert.ok(outbound.log.some((l) => l.endsWith('send notification')));
  assert.is(inbound.st.state, S.OpenConfirm);
  inbound.feed({ type: E.KeepaliveReceived });
  assert.is(inbound.st.state, S.Established);
});

test.run();
