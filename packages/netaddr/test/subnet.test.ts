// Subnet arithmetic of both families (what the lease allocator does with a cluster network), and the packed IPv6
// rows checked against the bigint definition on random input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  AddressError,
  IPV6_MAX,
  formatIpv4Prefix,
  formatIpv6Prefix,
  ipv4HostBitsSet,
  ipv4Mask,
  ipv4NextPrefix,
  ipv4PrefixContains,
  ipv4PrefixCovers,
  ipv4PrefixSize,
  ipv4Subnet,
  ipv4SubnetCount,
  ipv4SubnetIndex,
  ipv4Subnets,
  ipv6FirstMatch,
  ipv6FromBytes,
  ipv6FromWords,
  ipv6HostBitsSet,
  ipv6Mask,
  ipv6NextPrefix,
  ipv6PrefixContains,
  ipv6PrefixCovers,
  ipv6RowContains,
  ipv6Subnet,
  ipv6SubnetCount,
  ipv6SubnetIndex,
  ipv6Subnets,
  ipv6ToWords,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  readU32BE,
  writeIpv6Bytes,
  ipv6ToBytes,
  writeIpv6PrefixRow,
  IPV6_ROW_WORDS,
} from '../src/index.ts';

const isAddressError = (e: unknown): boolean => e instanceof AddressError;
const net4 = parseIpv4Prefix('10.244.0.0/16');
const net6 = parseIpv6Prefix('fd00:10:244::/48');

test('IPv4: masks, sizes, host bits', () => {
  assert.equal([0, 1, 8, 24, 31, 32].map(ipv4Mask), [0, 0x80000000, 0xff000000, 0xffffff00, 0xfffffffe, 0xffffffff]);
  assert.is(ipv4PrefixSize(24), 256);
  assert.is(ipv4PrefixSize(0), 2 ** 32);
  assert.ok(ipv4HostBitsSet(parseIpv4('10.244.1.1'), 24));
  assert.not.ok(ipv4HostBitsSet(parseIpv4('10.244.1.0'), 24));
  assert.not.ok(ipv4HostBitsSet(parseIpv4('255.255.255.255'), 32));
});

test("IPv4: the allocator's arithmetic on 10.244.0.0/16 split into /24s", () => {
  assert.is(ipv4SubnetCount(net4, 24), 256);
  assert.is(ipv4SubnetCount(net4, 16), 1);
  assert.is(formatIpv4Prefix(ipv4Subnet(net4, 24, 0)), '10.244.0.0/24');
  assert.is(formatIpv4Prefix(ipv4Subnet(net4, 24, 7)), '10.244.7.0/24');
  assert.is(formatIpv4Prefix(ipv4Subnet(net4, 24, 255)), '10.244.255.0/24');
  assert.is(formatIpv4Prefix(ipv4Subnet(net4, 28, 17)), '10.244.1.16/28');
  assert.is(ipv4SubnetIndex(net4, parseIpv4Prefix('10.244.7.0/24')), 7);
  assert.is(ipv4SubnetIndex(net4, parseIpv4Prefix('10.245.7.0/24')), -1);
  assert.is(ipv4SubnetIndex(net4, parseIpv4Prefix('10.0.0.0/8')), -1);
  assert.throws(() => ipv4Subnet(net4, 24, 256), isAddressError);
  assert.throws(() => ipv4Subnet(net4, 24, -1), isAddressError);
  assert.throws(
    () => ipv4SubnetCount(net4, 8),
    (e: AddressError) => e.code === 'prefix-length' && /10\.244\.0\.0\/16/.test(e.message),
  );
  assert.throws(() => ipv4SubnetCount(net4, 33), isAddressError);
  assert.is(formatIpv4Prefix(ipv4NextPrefix(parseIpv4Prefix('10.244.255.0/24'))!), '10.245.0.0/24');
  assert.is(ipv4NextPrefix(parseIpv4Prefix('255.255.255.0/24')), null);
  const all = [...ipv4Subnets(parseIpv4Prefix('192.0.2.0/24'), 26)].map(formatIpv4Prefix);
  assert.equal(all, ['192.0.2.0/26', '192.0.2.64/26', '192.0.2.128/26', '192.0.2.192/26']);
  assert.equal([...ipv4Subnets(parseIpv4Prefix('192.0.2.0/24'), 26, 3)].map(formatIpv4Prefix), ['192.0.2.192/26']);
  assert.ok(ipv4PrefixContains(net4, parseIpv4('10.244.200.3')));
  assert.not.ok(ipv4PrefixContains(net4, parseIpv4('10.245.0.0')));
  assert.ok(ipv4PrefixCovers(net4, parseIpv4Prefix('10.244.3.0/24')));
  assert.not.ok(ipv4PrefixCovers(parseIpv4Prefix('10.244.3.0/24'), net4));
});

test('IPv4: index and n-th subnet are inverse on random input', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 32 }),
      fc.nat(),
      (ip, a, b, k) => {
        const [len, sub] = a <= b ? [a, b] : [b, a];
        const network = { ip: (ip & ipv4Mask(len)) >>> 0, prefixLen: len };
        const index = k % ipv4SubnetCount(network, sub);
        const s = ipv4Subnet(network, sub, index);
        assert.ok(ipv4PrefixCovers(network, s));
        assert.not.ok(ipv4HostBitsSet(s.ip, sub));
        assert.is(ipv4SubnetIndex(network, s), index);
      },
    ),
    { numRuns: 1000 },
  );
});

test("IPv6: the allocator's arithmetic on fd00:10:244::/48 split into /64s", () => {
  assert.is(ipv6SubnetCount(net6, 64), 65536n);
  assert.is(ipv6SubnetCount(parseIpv6Prefix('::/0'), 128), 1n << 128n);
  assert.is(formatIpv6Prefix(ipv6Subnet(net6, 64, 0)), 'fd00:10:244::/64');
  assert.is(formatIpv6Prefix(ipv6Subnet(net6, 64, 0x1f)), 'fd00:10:244:1f::/64');
  assert.is(formatIpv6Prefix(ipv6Subnet(net6, 64, 65535n)), 'fd00:10:244:ffff::/64');
  assert.is(ipv6SubnetIndex(net6, parseIpv6Prefix('fd00:10:244:1f::/64')), 0x1fn);
  assert.is(ipv6SubnetIndex(net6, parseIpv6Prefix('fd00:10:245::/64')), -1n);
  assert.throws(() => ipv6Subnet(net6, 64, 65536n), isAddressError);
  assert.throws(() => ipv6SubnetCount(net6, 40), isAddressError);
  assert.is(formatIpv6Prefix(ipv6NextPrefix(parseIpv6Prefix('fd00:10:244:ffff::/64'))!), 'fd00:10:245::/64');
  assert.is(ipv6NextPrefix(parseIpv6Prefix('ffff::/16')), null);
  assert.equal([...ipv6Subnets(parseIpv6Prefix('fd00::/126'), 127)].map(formatIpv6Prefix), [
    'fd00::/127',
    'fd00::2/127',
  ]);
  assert.ok(ipv6PrefixContains(net6, parseIpv6('fd00:10:244:7::5')));
  assert.not.ok(ipv6PrefixContains(net6, parseIpv6('fd00:10:245::')));
  assert.ok(ipv6PrefixCovers(net6, parseIpv6Prefix('fd00:10:244:7::/64')));
  assert.ok(ipv6HostBitsSet(parseIpv6('fd00::1'), 64));
  assert.is(ipv6Mask(0), 0n);
  assert.is(ipv6Mask(128), IPV6_MAX);
});

const u128 = fc.bigInt({ min: 0n, max: IPV6_MAX });

test('IPv6: index and n-th subnet are inverse on random input', () => {
  fc.assert(
    fc.property(u128, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 128 }), u128, (ip, a, b, k) => {
      const [len, sub] = a <= b ? [a, b] : [b, a];
      const network = { ip: ip & ipv6Mask(len), prefixLen: len };
      const index = k % ipv6SubnetCount(network, sub);
      const s = ipv6Subnet(network, sub, index);
      assert.ok(ipv6PrefixCovers(network, s));
      assert.not.ok(ipv6HostBitsSet(s.ip, sub));
      assert.is(ipv6SubnetIndex(network, s), index);
    }),
    { numRuns: 1000 },
  );
});

test('IPv6 packed: bytes, words and rows agree with the bigint definitions', () => {
  fc.assert(
    fc.property(u128, u128, fc.integer({ min: 0, max: 128 }), (a, b, len) => {
      const buf = new Uint8Array(20);
      assert.is(writeIpv6Bytes(a, buf, 3), 16);
      assert.is(ipv6FromBytes(buf, 3), a);
      assert.equal([...ipv6ToBytes(a)], [...buf.subarray(3, 19)]);
      const w = new Uint32Array(4);
      ipv6ToWords(a, w);
      assert.equal(
        [...w],
        [0, 4, 8, 12].map((o) => readU32BE(buf, 3 + o)),
      );
      assert.is(ipv6FromWords(w[0]!, w[1]!, w[2]!, w[3]!), a);
      // b's prefix holds a (half the time, by construction) or not: the row must say what the bigint says.
      const prefix = { ip: b & ipv6Mask(len), prefixLen: len };
      const probe = ipv6PrefixContains(prefix, a) || a % 2n ? a : prefix.ip | (a & ~ipv6Mask(len));
      const rows = new Uint32Array(IPV6_ROW_WORDS * 2);
      writeIpv6PrefixRow(prefix, rows, 1);
      ipv6ToWords(probe, w);
      assert.is(ipv6RowContains(rows, 1, w[0]!, w[1]!, w[2]!, w[3]!), ipv6PrefixContains(prefix, probe));
    }),
    { numRuns: 1000 },
  );
  assert.throws(
    () => ipv6FromBytes(new Uint8Array(16), 1),
    (e: unknown) => e instanceof RangeError,
  );
  assert.throws(
    () => writeIpv6Bytes(0n, new Uint8Array(15)),
    (e: unknown) => e instanceof RangeError,
  );
});

test('IPv6 packed: first match over rows sorted longest first is the longest-prefix match', () => {
  const prefixes = ['fd00:10:244:1::/64', 'fd00:10:244::/48', 'fd00::/8', '::/0'].map((p) => parseIpv6Prefix(p));
  const rows = new Uint32Array(prefixes.length * IPV6_ROW_WORDS);
  prefixes.forEach((p, i) => writeIpv6PrefixRow(p, rows, i));
  const match = (text: string): number => {
    const w = new Uint32Array(4);
    ipv6ToWords(parseIpv6(text), w);
    return ipv6FirstMatch(rows, prefixes.length, w[0]!, w[1]!, w[2]!, w[3]!);
  };
  assert.equal(['fd00:10:244:1::9', 'fd00:10:244:2::9', 'fd00:99::1', '2001:db8::1'].map(match), [0, 1, 2, 3]);
  assert.is(ipv6FirstMatch(rows, 3, 0x20010db8, 0, 0, 1), -1);
});

test.run();
