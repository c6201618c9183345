// Property tests of the hot path: on any bytes at any offset, encapsulate/decapsulate and the other per-packet
// helpers never throw, return a known verdict, point only inside [offset, offset + length), write nothing outside
// it (VXLAN encapsulation: its 22 bytes of headroom), and do not depend on bytes outside it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  DROP_REASON_COUNT,
  DropReason,
  PacketSpan,
  VxlanTemplate,
  arpRequestTarget,
  buildIcmpv4DestUnreachable,
  decapsulateFlannelUdp,
  decapsulateVxlan,
  encapsulateFlannelUdp,
  encapsulateVxlan,
  parseMac,
} from '../src/index.ts';
import { flowHash } from '../src/flow.ts';
import { KERNEL_VXLAN } from './fixtures/kernel-vxlan.ts';
import { frameOf } from './kernel-vxlan.ts';
import { NUM_RUNS, embed, windows, type Window } from './property.ts';

const vx4 = frameOf(KERNEL_VXLAN.icmp4Request).subarray(42);
const vx6 = frameOf(KERNEL_VXLAN.icmp6Reply).subarray(42);
const vxArp = frameOf(KERNEL_VXLAN.arpRequest).subarray(42);
const ip4 = vx4.subarray(22);
const ip6 = vx6.subarray(22);
const tpl = new VxlanTemplate({
  vni: 1,
  localMac: parseMac('02:00:0a:f4:01:00'),
  peerMac: parseMac('02:00:0a:f4:02:00'),
});

interface Run {
  result: unknown;
  window: Buffer;
  guards: Buffer;
}

/** Runs `fn` on the window between guards of `fill`; returns its result, the window after, and the guard bytes. */
function runOn(
  w: Window,
  fill: number,
  headroom: number,
  fn: (buf: Buffer, offset: number, length: number) => unknown,
): Run {
  const buf = embed(w, fill, headroom);
  const start = w.before + headroom;
  const result = fn(buf, start, w.data.length);
  const guards = Buffer.concat([buf.subarray(0, w.before), buf.subarray(start + w.data.length)]);
  return { result, window: Buffer.from(buf.subarray(w.before, start + w.data.length)), guards };
}

function check(
  seeds: Buffer[],
  fn: (buf: Buffer, offset: number, length: number) => unknown,
  verify: (r: unknown, w: Window, start: number) => void,
  headroom = 0,
): void {
  fc.assert(
    fc.property(windows(seeds, 1600), (w) => {
      const lo = runOn(w, 0x00, headroom, fn);
      const hi = runOn(w, 0xff, headroom, fn);
      assert.equal(lo.result, hi.result, 'the verdict depends on bytes outside the window');
      assert.equal(lo.window, hi.window, 'what was written depends on bytes outside the window');
      assert.ok(lo.guards.every((x) => x === 0) && hi.guards.every((x) => x === 0xff), 'wrote outside the window');
      verify(lo.result, w, w.before + headroom);
    }),
    { numRuns: NUM_RUNS },
  );
}

const span = new PacketSpan();
/** A decapsulate verdict and where it points, checked to lie inside the window. */
function decap(fn: (buf: Buffer, offset: number, length: number, out: PacketSpan) => DropReason) {
  return (buf: Buffer, offset: number, length: number) => {
    span.offset = span.length = -1;
    const r = fn(buf, offset, length, span);
    return r === DropReason.None ? [r, span.offset, span.length, span.ipVersion] : [r];
  };
}
function insideSpan(r: unknown, w: Window, start: number): void {
  const [reason, off, len, version] = r as number[];
  assert.ok(Number.isInteger(reason) && reason! >= 0 && reason! < DROP_REASON_COUNT, `verdict ${reason}`);
  if (reason === DropReason.None) {
    assert.ok(
      off! >= start && len! >= 20 && off! + len! <= start + w.data.length,
      `span ${off}+${len} outside ${start}+${w.data.length}`,
    );
    assert.ok(version === 4 || version === 6);
  }
}

test('decapsulateVxlan', () =>
  check(
    [vx4, vx6, vxArp],
    decap((b, o, l, s) => decapsulateVxlan(b, o, l, 1, s)),
    insideSpan,
  ));
test('decapsulateFlannelUdp', () => check([ip4, ip6], decap(decapsulateFlannelUdp), insideSpan));

test('encapsulateFlannelUdp', () =>
  check(
    [ip4, ip6],
    (b, o, l) => encapsulateFlannelUdp(b, o, l),
    (r, _w, start) => {
      assert.ok(r === start || (typeof r === 'number' && r < 0 && -r < DROP_REASON_COUNT), `result ${r}`);
    },
  ));

test('encapsulateVxlan (writes only its headroom)', () =>
  check(
    [ip4, ip6],
    (b, o, l) => encapsulateVxlan(b, o, l, tpl),
    (r, _w, start) => {
      assert.ok(r === start - 22 || (typeof r === 'number' && r < 0 && -r < DROP_REASON_COUNT), `result ${r}`);
    },
    22,
  ));

test('arpRequestTarget', () =>
  check(
    [vxArp.subarray(8)],
    (b, o, l) => arpRequestTarget(b, o, l),
    (r) => assert.ok(typeof r === 'number' && r >= -1 && r <= 0xffffffff),
  ));

test('flowHash', () =>
  check(
    [ip4, ip6],
    (b, o, l) => flowHash(b, o, l),
    (r) => assert.ok(typeof r === 'number' && r >>> 0 === r),
  ));

test('buildIcmpv4DestUnreachable', () => {
  const out = Buffer.alloc(200);
  check(
    [ip4],
    (b, o, l) => {
      out.fill(0);
      const n = buildIcmpv4DestUnreachable(b, o, l, 1, 0x0af40100, out, 0);
      return [n, out.toString('hex', 0, n)];
    },
    (r, w) => {
      const n = (r as [number])[0];
      assert.ok(n === 0 || (n >= 48 && n <= 96 && n <= 28 + w.data.length), `length ${n}`);
    },
  );
});

test.run();
