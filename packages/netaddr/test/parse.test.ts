// Golden text for parse and format of both families, and the typed error (code, position, message) of each rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AddressError,
  formatIp,
  formatIpv4,
  formatIpv4Prefix,
  formatIpv6,
  formatIpv6Prefix,
  formatPrefix,
  parseIp,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  parsePrefix,
  compareIp,
  tryParseIp,
  tryParseIpv4,
  tryParseIpv4Prefix,
  tryParseIpv6,
  tryParseIpv6Prefix,
  tryParsePrefix,
  type AddressErrorCode,
} from '../src/index.ts';

function throwsCode(f: () => unknown, code: AddressErrorCode, position?: number, message?: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, AddressError);
    const err = e as AddressError;
    assert.is(err.name, 'AddressError');
    assert.is(err.code, code, err.message);
    if (position !== undefined) assert.is(err.position, position, err.message);
    if (message) assert.match(err.message, message);
    return;
  }
  assert.unreachable(`expected AddressError ${code}`);
}

test('IPv4: dotted quads to uint32 and back', () => {
  for (const [text, n] of [
    ['0.0.0.0', 0],
    ['10.244.1.0', 0x0af40100],
    ['255.255.255.255', 0xffffffff],
    ['192.0.2.1', 0xc0000201],
  ] as const) {
    assert.is(parseIpv4(text), n, text);
    assert.is(formatIpv4(n), text);
  }
  assert.ok(parseIpv4('255.255.255.255') > 0, 'unsigned, never negative');
});

test('IPv4: each rule has its code, position and a message naming the input', () => {
  throwsCode(() => parseIpv4(''), 'empty', 0);
  throwsCode(() => parseIpv4('10.244.01.0'), 'leading-zero', 7, /"10\.244\.01\.0".*leading zero/);
  throwsCode(() => parseIpv4('010.0.0.1'), 'leading-zero', 0);
  throwsCode(() => parseIpv4('10.244.300.1'), 'octet-range', 7, /above 255/);
  throwsCode(() => parseIpv4('10.244.1000.1'), 'octet-range', 7);
  throwsCode(() => parseIpv4('10.244.1'), 'octet-count', 0, /3 octets/);
  throwsCode(() => parseIpv4('10.244.1.0.5'), 'octet-count', 11);
  throwsCode(() => parseIpv4('10..1.0'), 'empty-part', 3);
  throwsCode(() => parseIpv4('10.244.1.'), 'empty-part', 9);
  throwsCode(() => parseIpv4(' 10.244.1.0'), 'bad-character', 0);
  throwsCode(() => parseIpv4('10.244.1.0/24'), 'bad-character', 10);
  throwsCode(() => parseIpv4('+1.2.3.4'), 'bad-character', 0);
  throwsCode(() => parseIpv4('0x0a.0.0.1'), 'bad-character', 1);
  throwsCode(() => parseIpv4('10.0.0.1%eth0'), 'zone-id', 8);
  assert.is(tryParseIpv4('10.0.0.256'), null);
  assert.is(tryParseIpv4('10.0.0.255'), 0x0a0000ff);
});

// RFC 5952 section 4, rephrased with our own addresses: what a canonical form must and must not do.
const RFC5952: [string, string, string][] = [
  ['fd00:0a:0000:0:0:0:0:0001', 'fd00:a::1', '4.1: leading zeros in a group are dropped'],
  ['fd00:10:0:0:0:0:244:1', 'fd00:10::244:1', '4.2.1: "::" takes the whole zero run'],
  ['fd00:10:0:244:1:1:1:1', 'fd00:10:0:244:1:1:1:1', '4.2.2: a single zero group stays "0"'],
  ['fd00:0:0:1:0:0:0:1', 'fd00:0:0:1::1', '4.2.3: the longest zero run is compressed'],
  ['fd00:10:0:0:244:0:0:1', 'fd00:10::244:0:0:1', '4.2.3: of equal runs, the first'],
  ['FD00:10:244:ABCD::eF', 'fd00:10:244:abcd::ef', '4.3: lowercase'],
  ['0:0:0:0:0:0:0:0', '::', 'all zero'],
  ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
  ['fd00:0:0:0:0:0:0:0', 'fd00::', 'zero run at the end'],
  ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0', 'one trailing zero is not compressed'],
  ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1', '5: IPv4-mapped keeps a dotted tail'],
  ['::ffff:10.244.1.5', '::ffff:10.244.1.5', '5: dotted input, dotted output'],
  ['::10.244.1.5', '::af4:105', 'IPv4-compatible (deprecated) is shown in hex'],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 'NAT64 prefix: hex, only mapped addresses are dotted'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'all ones'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', '"::" may stand for one group on input'],
];

test('IPv6: RFC 5952 canonical text', () => {
  for (const [input, canonical, why] of RFC5952) {
    assert.is(formatIpv6(parseIpv6(input)), canonical, `${input}: ${why}`);
    assert.is(parseIpv6(canonical), parseIpv6(input), `${canonical} is the same address`);
  }
  assert.is(parseIpv6('::ffff:192.0.2.1'), 0xffffc0000201n);
  assert.is(parseIpv6('fd00::1'), (0xfd00n << 112n) | 1n);
});

test('IPv6: each rule has its code, position and a message naming the input', () => {
  throwsCode(() => parseIpv6(''), 'empty');
  throwsCode(() => parseIpv6('fd00::1::2'), 'double-colon', 7, /"fd00::1::2".*second "::"/);
  throwsCode(() => parseIpv6('fd00:::1'), 'double-colon', 5);
  throwsCode(() => parseIpv6('1:2:3:4:5:6:7:8:9'), 'group-count', undefined, /9 groups/);
  throwsCode(() => parseIpv6('1:2:3:4:5:6:7:8::'), 'group-count');
  throwsCode(() => parseIpv6('1:2:3:4::5:6:7:8'), 'group-count');
  throwsCode(() => parseIpv6('1:2:3:4:5:6:7'), 'group-count');
  throwsCode(() => parseIpv6('fd00:12345::1'), 'group-range', 5, /more than 4 hex digits/);
  throwsCode(() => parseIpv6('fd00:xyz::1'), 'bad-character', 5);
  throwsCode(() => parseIpv6('fe80::1%eth0'), 'zone-id', 7, /zone id/);
  throwsCode(() => parseIpv6(':1::2'), 'empty-part', 0);
  throwsCode(() => parseIpv6('1::2:'), 'empty-part', 5);
  throwsCode(() => parseIpv6('1.2.3.4::'), 'embedded-ipv4', 0);
  throwsCode(() => parseIpv6('::1.2.3.4:5'), 'embedded-ipv4', 2);
  throwsCode(() => parseIpv6('::ffff:10.0.0.01'), 'leading-zero', 14, /"::ffff:10\.0\.0\.01"/);
  throwsCode(() => parseIpv6('::ffff:10.0.0.256'), 'octet-range', 14);
  throwsCode(() => parseIpv6('::ffff:10.0.0'), 'octet-count');
  throwsCode(() => parseIpv6('1:2:3:4:5:6:7:1.2.3.4'), 'group-count');
  assert.is(tryParseIpv6('fd00::1::2'), null);
  assert.is(tryParseIpv6('::2'), 2n);
});

test('prefixes: parse, format, host bits when strict, length rules', () => {
  assert.equal(parseIpv4Prefix('10.244.0.0/16'), { ip: 0x0af40000, prefixLen: 16 });
  assert.equal(parseIpv4Prefix('0.0.0.0/0'), { ip: 0, prefixLen: 0 });
  assert.equal(parseIpv4Prefix('10.244.1.7/32'), { ip: 0x0af40107, prefixLen: 32 });
  throwsCode(
    () => parseIpv4Prefix('10.244.1.0/16'),
    'host-bits',
    10,
    /"10\.244\.1\.0\/16".*the network is 10\.244\.0\.0\/16/,
  );
  assert.equal(parseIpv4Prefix('10.244.1.0/16', { strict: false }), { ip: 0x0af40000, prefixLen: 16 });
  throwsCode(() => parseIpv4Prefix('10.244.0.0'), 'prefix-length', 0, /no "\/length"/);
  throwsCode(() => parseIpv4Prefix('10.244.0.0/33'), 'prefix-length', 11);
  throwsCode(() => parseIpv4Prefix('10.244.0.0/016'), 'prefix-length', 11);
  throwsCode(() => parseIpv4Prefix('10.244.0.0/'), 'prefix-length', 11);
  throwsCode(() => parseIpv4Prefix('10.244.0.00/16'), 'leading-zero', 9, /"10\.244\.0\.00\/16"/);
  assert.is(formatIpv4Prefix(parseIpv4Prefix('10.244.0.0/16')), '10.244.0.0/16');
  assert.is(tryParseIpv4Prefix('10.244.1.0/16'), null);

  assert.equal(parseIpv6Prefix('fd00:10:244::/48'), { ip: 0xfd000010_0244n << 80n, prefixLen: 48 });
  throwsCode(() => parseIpv6Prefix('fd00:10:244::1/64'), 'host-bits', 14, /the network is fd00:10:244::\/64/);
  assert.is(formatIpv6Prefix(parseIpv6Prefix('fd00:10:244::1/64', { strict: false })), 'fd00:10:244::/64');
  throwsCode(() => parseIpv6Prefix('fd00::/129'), 'prefix-length', 7);
  throwsCode(() => parseIpv6Prefix('fd00::1::/64'), 'double-colon', 7, /"fd00::1::\/64"/);
  assert.is(formatIpv6Prefix(parseIpv6Prefix('::/0')), '::/0');
  assert.is(tryParseIpv6Prefix('fd00::1/64'), null);
});

test('either family: chosen by the text, ordered IPv4 first', () => {
  assert.equal(parseIp('192.0.2.1'), { family: 4, ip: 0xc0000201 });
  assert.equal(parseIp('fd00::1'), { family: 6, ip: (0xfd00n << 112n) | 1n });
  assert.is(formatIp(parseIp('FD00::0:1')), 'fd00::1');
  assert.is(tryParseIp('fd00::1::'), null);
  assert.is(formatPrefix(parsePrefix('fd00::/8')), 'fd00::/8');
  assert.is(formatPrefix(parsePrefix('10.0.0.0/8')), '10.0.0.0/8');
  assert.is(tryParsePrefix('10.0.0.1/8'), null);
  const sorted = ['fd00::2', '10.0.0.2', '::1', '10.0.0.10', '9.255.255.255']
    .map(parseIp)
    .sort(compareIp)
    .map(formatIp);
  assert.equal(sorted, ['9.255.255.255', '10.0.0.2', '10.0.0.10', '::1', 'fd00::2']);
});

test.run();
