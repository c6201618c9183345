// The soak's and the fault tests' reading of `ping -D -O` logs (support/ping-log.ts), on logs written the way
// iputils ping writes them: an outage still going on when the window ends is counted (it read "0 lost" when a
// restarted agent never came back), a late reply is no loss, sequence numbers wrap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pingEvents, pingWindow } from './support/ping-log.ts';

const T0 = 1_796_178_597_000; // ms
const reply = (seq: number, ms: number) =>
  `[${((T0 + ms) / 1000).toFixed(6)}] 64 bytes from 10.244.1.2: icmp_seq=${seq} ttl=62 time=0.9 ms`;
const noAnswer = (seq: number, ms: number) => `[${((T0 + ms) / 1000).toFixed(6)}] no answer yet for icmp_seq=${seq}`;
const unreachable = (seq: number, ms: number) =>
  `[${((T0 + ms) / 1000).toFixed(6)}] From 10.244.1.1 icmp_seq=${seq} Destination Host Unreachable`;
const log = (lines: string[]) => `PING 10.244.1.2 (10.244.1.2) 56(84) bytes of data.\n${lines.join('\n')}\n`;
const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('an outage still going on at the end of the window counts in full', () => {
  const lines = [...seqs(1, 10).map((s) => reply(s, s * 100)), ...seqs(11, 40).map((s) => noAnswer(s, s * 100 + 100))];
  const w = pingWindow(pingEvents(log(lines)), T0 + 550, T0 + 5200, 100);
  assert.is(w.sent, 35, 'seq 6..40');
  assert.is(w.lost, 30, 'seq 11..40 never answered');
  assert.is(w.stallMs, 5200 - 1000 - 100, 'from the last reply to the end of the window');
});

test('an outage that ended: lost packets and the gap between replies', () => {
  const lines = [
    ...seqs(1, 10).map((s) => reply(s, s * 100)),
    ...seqs(11, 20).map((s) => noAnswer(s, s * 100 + 100)),
    ...seqs(21, 30).map((s) => unreachable(s, s * 100)),
    ...seqs(31, 40).map((s) => reply(s, s * 100)),
  ];
  const w = pingWindow(pingEvents(log(lines)), T0 + 1050, T0 + 4000, 100);
  assert.equal(w, { sent: 30, lost: 20, stallMs: 3100 - 1000 - 100 }, 'seq 10 is the anchor; 11..30 lost');
});

test('a reply that comes after "no answer yet" is no loss', () => {
  const lines = [reply(1, 100), noAnswer(2, 300), reply(3, 300), reply(2, 350), reply(4, 400)];
  const w = pingWindow(pingEvents(log(lines)), T0 + 150, T0 + 450, 100);
  assert.is(w.lost, 0);
  assert.is(w.sent, 3);
});

test('a packet reported unanswered less than a second before the window ends is not lost yet', () => {
  const lines = [reply(1, 100), reply(2, 200), noAnswer(3, 400), noAnswer(4, 500)];
  assert.equal(pingWindow(pingEvents(log(lines)), T0 + 150, T0 + 1450, 100), { sent: 2, lost: 1, stallMs: 1150 });
});

test('icmp_seq wrapping at 65536 is no loss', () => {
  const lines = [65534, 65535, 0, 1].map((s, i) => reply(s, (i + 1) * 100));
  const events = pingEvents(log(lines));
  assert.equal(
    events.map((e) => e.seq),
    [65534, 65535, 65536, 65537],
  );
  assert.equal(pingWindow(events, T0 + 150, T0 + 450, 100), { sent: 3, lost: 0, stallMs: 0 });
});

test('no line in the window: nothing sent, the stall runs from the last reply', () => {
  const w = pingWindow(pingEvents(log([reply(1, 100)])), T0 + 1000, T0 + 2000, 100);
  assert.equal(w, { sent: 0, lost: 0, stallMs: 1900 });
});

test.run();
