// Any bytes, from any starting layer: the explainer never throws, and every field it reports lies inside the input.
// Inputs are random and also mutations of real packets (so the deep layers are reached, not only the first check).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VXLAN_ENCAP_HEADROOM, VxlanTemplate, encapsulateVxlan, parseMac } from '@weft/encap';
import { AttrType, MessageType, encodeMessageToBuffer } from '@weft/route-sync';
import { Explainer, type StartLayer } from '../src/index.ts';
import { icmpEcho, tcpSegment } from './helpers.ts';

const STARTS: StartLayer[] = ['auto', 'eth', 'ip', 'udp-payload', 'vxlan', 'flannel-udp', 'bgp'];
const tpl = new VxlanTemplate({
  vni: 1,
  localMac: parseMac('02:00:0a:f4:01:00'),
  peerMac: parseMac('02:00:0a:f4:02:00'),
});
const ping = icmpEcho('10.244.1.5', '10.244.2.7', 1, 'fuzz', VXLAN_ENCAP_HEADROOM);
const vxlan = ping.buf.subarray(encapsulateVxlan(ping.buf, ping.offset, ping.length, tpl));
const update = encodeMessageToBuffer(
  {
    type: MessageType.Update,
    withdrawn: [],
    nlri: [{ afi: 1, length: 24, addr: '10.244.2.0' }],
    attributes: [
      { type: AttrType.Origin, origin: 0 },
      { type: AttrType.AsPath, segments: [{ type: 2, asns: [64512] }] },
      { type: AttrType.NextHop, nextHop: '192.0.2.2' },
    ],
  },
  { fourOctetAs: true },
);
const SEEDS = [
  Buffer.from(vxlan),
  ping.buf.subarray(ping.offset),
  update,
  tcpSegment('192.0.2.1', '192.0.2.2', 40000, 179, 1, 0x18, update),
];

function check(bytes: Uint8Array, start: StartLayer): void {
  const pkt = new Explainer({ start }).explain(bytes);
  for (const f of pkt.flatMap((l) => l.fields)) {
    if (f.name.startsWith('frame.')) continue;
    assert.ok(
      f.offset >= 0 && f.offset + f.length <= bytes.length,
      `${f.name} [${f.offset}, +${f.length}) outside ${bytes.length} bytes`,
    );
    assert.is(f.hex.length, 2 * f.length, f.name);
  }
}

test('random bytes never throw and never produce fields outside the input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(...STARTS), (b, s) => check(b, s)),
    { numRuns: 1500 },
  );
});

test('mutated real packets (byte flips, truncation) never throw', () => {
  const mutated = fc
    .tuple(
      fc.constantFrom(...SEEDS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
    )
    .map(([seed, flips, cut]) => {
      const b = Buffer.from(seed);
      for (const [at, v] of flips) b[at % b.length] = v;
      return b.subarray(0, b.length - (cut % 8));
    });
  fc.assert(
    fc.property(mutated, fc.constantFrom(...STARTS), (b, s) => check(b, s)),
    { numRuns: 3000 },
  );
});

test.run();
