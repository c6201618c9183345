// Property tests: random addresses round-trip through text, and the parsers agree with node:net's isIPv4/isIPv6
// (an independent implementation; tests may use it, src may not) on random and hand-made strings.
import { isIPv4, isIPv6 } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  AddressError,
  IPV6_MAX,
  formatIpv4,
  formatIpv6,
  formatIpv6Bytes,
  ipv6Groups,
  writeIpv6Bytes,
  parseIpv4,
  parseIpv6,
  tryParseIpv4,
  tryParseIpv6,
} from '../src/index.ts';

const RUNS = { numRuns: 2000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u128 = fc.bigInt({ min: 0n, max: IPV6_MAX });
/** Addresses with long zero runs and mapped forms, which random 128-bit values almost never have. */
const sparse128 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g) => g.reduce((v, x) => (v << 16n) | BigInt(x), 0n));
const mapped = u32.map((v) => 0xffff00000000n | BigInt(v));

test('IPv4: parse(format(n)) === n and format(parse(s)) === s for canonical s', () => {
  fc.assert(
    fc.property(u32, (n) => {
      assert.is(parseIpv4(formatIpv4(n)), n);
      assert.ok(isIPv4(formatIpv4(n)));
    }),
    RUNS,
  );
});

test('IPv6: parse(format(a)) === a; the text is canonical (stable, lowercase, node:net accepts it)', () => {
  fc.assert(
    fc.property(fc.oneof(u128, sparse128, mapped), (a) => {
      const text = formatIpv6(a);
      assert.is(parseIpv6(text), a, text);
      assert.is(formatIpv6(parseIpv6(text)), text);
      assert.is(text, text.toLowerCase());
      assert.not.match(text, /(^|:)0[0-9a-f]/, `${text}: no leading zeros`);
      assert.ok(isIPv6(text), text);
      const buf = new Uint8Array(18);
      writeIpv6Bytes(a, buf, 2);
      assert.is(formatIpv6Bytes(buf, 2), text, 'the bytes formatter says the same');
      const hex = formatIpv6Bytes(buf, 2, false);
      assert.is(parseIpv6(hex), a, hex);
      assert.ok(!hex.includes('.') && (hex === text || text.startsWith('::ffff:')), hex);
    }),
    RUNS,
  );
});

test('IPv6: any spelling of an address (zero padding, uncompressed, case) parses to it', () => {
  fc.assert(
    fc.property(fc.oneof(u128, sparse128), fc.boolean(), fc.boolean(), (a, pad, upper) => {
      let text = ipv6Groups(a)
        .map((g) => (pad ? g.toString(16).padStart(4, '0') : g.toString(16)))
        .join(':');
      if (upper) text = text.toUpperCase();
      assert.is(parseIpv6(text), a, text);
    }),
    RUNS,
  );
});

/** Strings near the grammar: pieces of addresses glued with separators, so the interesting failures are common. */
const nearV4 = fc
  .array(
    fc.oneof(
      fc.constantFrom('0', '00', '01', '1', '9', '10', '99', '127', '255', '256', '300', '1000', ''),
      fc.nat(300).map(String),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join('.'));
const nearV6 = fc
  .array(
    fc.oneof(
      fc.constantFrom('', '0', '00000', 'ffff', 'FFFF', 'db8', '1.2.3.4', '01.2.3.4', '1.2.3', 'g'),
      fc.integer({ min: 0, max: 0xffff }).map((x) => x.toString(16)),
    ),
    { minLength: 1, maxLength: 11 },
  )
  .map((parts) => parts.join(':'));
const alphabet = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 45 });
const HAND_MADE = [
  '',
  '.',
  ':',
  '::',
  ':::',
  '::1',
  '1::',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  '::ffff:1.2.3.4',
  '::1.2.3.4',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4',
  '::01.2.3.4',
  '::1.2.3.04',
  '1.2.3.4::',
  '0.0.0.0',
  '255.255.255.255',
  '256.0.0.0',
  '1.2.3',
  '1.2.3.4.5',
  '01.2.3.4',
  '1.2.3.4 ',
  '00000::1',
  '0000::1',
  'fe80::1%1',
];

test('parsers agree with node:net isIPv4/isIPv6 (zone ids aside: we refuse them)', () => {
  const agree = (s: string): void => {
    assert.is(tryParseIpv4(s) !== null, isIPv4(s), `IPv4 "${s}"`);
    if (!s.includes('%')) assert.is(tryParseIpv6(s) !== null, isIPv6(s), `IPv6 "${s}"`);
  };
  HAND_MADE.forEach(agree);
  fc.assert(fc.property(fc.oneof(nearV4, nearV6, alphabet, fc.string({ maxLength: 20 })), agree), { numRuns: 5000 });
});

test('errors: any string parses or throws AddressError with a position inside it', () => {
  fc.assert(
    fc.property(fc.oneof(nearV4, nearV6, alphabet, fc.string({ maxLength: 20 })), (s) => {
      for (const parse of [parseIpv4, parseIpv6]) {
        try {
          parse(s);
        } catch (e) {
          assert.instance(e, AddressError);
          const { position, message, input } = e as AddressError;
          assert.ok(position >= 0 && position <= s.length, `${position} in "${s}"`);
          assert.is(input, s);
          assert.ok(message.includes(`"${s}"`), message);
        }
      }
    }),
    RUNS,
  );
});

test.run();
