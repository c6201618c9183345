// Property tests of the decoders outside the hot path: any bytes at any offset either decode or throw one of the
// typed errors, never something else, and never depend on bytes outside [offset, offset + length).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeArp,
  decodeIpv4Header,
  decodeIpv6Header,
  decodeUdpHeader,
  decodeVxlanHeader,
  formatMac,
  parseMac,
} from '../src/index.ts';
import { decodeEthernet } from '../src/ethernet.ts';
import { formatIpv4, parseIpv4 } from '../src/ipv4.ts';
import { formatIpv6, parseIpv6 } from '../src/ipv6.ts';
import { KERNEL_VXLAN } from './fixtures/kernel-vxlan.ts';
import { frameOf } from './kernel-vxlan.ts';
import { NUM_RUNS, checkDecoder, outcome } from './property.ts';

const v4 = frameOf(KERNEL_VXLAN.icmp4Request);
const v6 = frameOf(KERNEL_VXLAN.icmp6Request);
const arp = frameOf(KERNEL_VXLAN.arpRequest);
const withOptions = Buffer.from('4700001c000100004011000001020304050607089404000001020304', 'hex');

test('decodeVxlanHeader', () => {
  const seeds = [v4.subarray(42, 50), Buffer.from('88c8abcd00000100', 'hex')];
  checkDecoder(seeds, (b, o, l) => decodeVxlanHeader(b, o, l));
  checkDecoder(seeds, (b, o, l) => decodeVxlanHeader(b, o, l, { groupPolicy: true }));
});

test('decodeEthernet', () => checkDecoder([v4, arp.subarray(50)], decodeEthernet));
test('decodeIpv4Header', () => checkDecoder([v4.subarray(14), v4.subarray(64), withOptions], decodeIpv4Header));
test('decodeIpv6Header', () => checkDecoder([v6.subarray(64)], decodeIpv6Header));
test('decodeUdpHeader', () => checkDecoder([v4.subarray(34)], decodeUdpHeader));
test('decodeArp', () => checkDecoder([arp.subarray(64), frameOf(KERNEL_VXLAN.arpReply).subarray(64)], decodeArp));

/** Text parsers: any string parses or throws a typed error whose offset is inside the string; parses round-trip. */
function checkText(
  samples: string[],
  alphabet: string,
  parse: (s: string) => Buffer,
  format: (b: Buffer) => string,
): void {
  const mutated = fc
    .tuple(fc.constantFrom(...samples), fc.nat(), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 3 }))
    .map(([s, at, ins]) => s.slice(0, at % (s.length + 1)) + ins + s.slice((at % (s.length + 1)) + (at % 2)));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 50 }), mutated), (s) => {
      const r = outcome(() => parse(s));
      if ('error' in r) assert.ok(r.offset >= 0 && r.offset <= s.length, `offset ${r.offset} for "${s}"`);
      else assert.equal(parse(format(r.value as Buffer)), r.value, `"${s}" round-trips`);
    }),
    { numRuns: NUM_RUNS },
  );
}

test('parseMac', () =>
  checkText(['02:00:0a:f4:01:00', 'ff-ff-ff-ff-ff-ff'], '0123456789abcdefABCDEFg:-', parseMac, (b) => formatMac(b)));
test('parseIpv4', () =>
  checkText(
    ['10.244.1.0', '255.255.255.255'],
    '0123456789.a',
    (s) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(parseIpv4(s));
      return b;
    },
    (b) => formatIpv4(b.readUInt32BE(0)),
  ));
test('parseIpv6', () =>
  checkText(['fd00:10:244:1::', '::', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1'], '0123456789abcdefg:.', parseIpv6, (b) =>
    formatIpv6(b),
  ));

test.run();
