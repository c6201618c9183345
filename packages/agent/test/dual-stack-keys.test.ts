// Dual stack and IPv6 only in flannel's layout, without a store: lease keys (flannel's MakeSubnetKey and
// ParseSubnetKey), lease values (LeaseAttrs JSON as flanneld marshals it), net-conf.json's IPv6 keys with flannel's
// defaults and checks, the IPv6 allocator and subnet.env's IPv6 pair. Golden strings are flannel's forms, from
// pkg/subnet/subnet.go, pkg/lease/lease.go, pkg/subnet/config.go and Documentation/configuration.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv6Prefix, tryParseIpv4Prefix, tryParseIpv6Prefix, type Ipv6Prefix } from '@weft/netaddr';
import {
  ConfigError,
  formatSubnetEnv,
  isOwnLease,
  parseLeaseAttrs,
  parseNetConfig,
  parseSubnetEnv,
  previousSubnetFromEnv,
  subnetEnvValues,
  leaseKey,
  NO_IPV4_SUBNET,
  parseLeaseKey,
  parseSubnetKey,
  fitsConfig,
  pickFreeIpv6Subnet,
  pickFreeSubnets,
  previousIpv6SubnetFromEnv,
  type Lease,
} from './support/internals.ts';

const v4 = (s: string) => tryParseIpv4Prefix(s)!;
const v6 = (s: string) => tryParseIpv6Prefix(s)!;

test('keys: IPv4 only unchanged, dual stack V4NET-LEN&V6NET-LEN, IPv6 only 0.0.0.0-0&V6NET-LEN', () => {
  assert.is(leaseKey(v4('10.244.1.0/24')), '10.244.1.0-24');
  assert.is(leaseKey(v4('10.244.1.0/24'), null), '10.244.1.0-24');
  assert.is(leaseKey(v4('10.244.1.0/24'), v6('fd00:10:244:1::/64')), '10.244.1.0-24&fd00:10:244:1::-64');
  assert.is(leaseKey(v4('10.42.3.0/24'), v6('2001:cafe:42:3::/64')), '10.42.3.0-24&2001:cafe:42:3::-64');
  assert.is(leaseKey(NO_IPV4_SUBNET, v6('fd00::/64')), '0.0.0.0-0&fd00::-64', 'flannel keeps an empty IPv4 net');
  // Go's net.IP text: lowercase, no leading zeros, the longest run of two or more zero groups as "::".
  assert.is(leaseKey(v4('10.0.0.0/24'), v6('2001:db8:0:1:0:0:0:0/64')), '10.0.0.0-24&2001:db8:0:1::-64');
  assert.is(leaseKey(v4('10.0.0.0/24'), v6('2001:db8:0:0:1::/80')), '10.0.0.0-24&2001:db8:0:0:1::-80');
});

test('keys parse back in every form flanneld writes; malformed ones are refused', () => {
  const show = (k: string) => {
    const p = parseLeaseKey(k);
    return (
      p && `${p.subnet.ip === 0 ? '-' : leaseKey(p.subnet)} ${p.ipv6Subnet ? formatIpv6Prefix(p.ipv6Subnet) : '-'}`
    );
  };
  assert.is(show('10.244.1.0-24'), '10.244.1.0-24 -');
  assert.is(show('10.244.1.0-24&fd00:10:244:1::-64'), '10.244.1.0-24 fd00:10:244:1::/64');
  assert.is(show('0.0.0.0-0&fd00::-64'), '- fd00::/64');
  for (const bad of [
    '0.0.0.0-0', // no subnet at all
    '10.244.1.0-24&',
    '10.244.1.0-24&fd00::',
    '10.244.1.0-24&FD00::-64', // flannel's pattern takes lowercase hex only
    '10.244.1.0-24&::ffff:10.0.0.0-120', // nor a dotted tail
    '10.244.1.0-24&fd00::1-64', // host bits
    '10.244.1.0-24&fd00::-129',
    '10.244.1.1-24',
    'fd00::-64',
  ])
    assert.is(parseLeaseKey(bad), null, bad);
  assert.equal(parseSubnetKey('10.244.1.0-24'), v4('10.244.1.0/24'), 'the IPv4 form as before');
  for (const [s, k] of [
    [v4('10.244.1.0/24'), v6('fd00:10:244:1::/64')],
    [NO_IPV4_SUBNET, v6('fd00:0:0:ff00::/56')],
    [v4('10.9.8.16/28'), null],
  ] as const) {
    const p = parseLeaseKey(leaseKey(s, k))!;
    assert.equal([p.subnet, p.ipv6Subnet], [s, k], 'round trip');
  }
});

test('keys: 2000 random dual-stack and IPv6-only leases round-trip through the key, one key per pair', () => {
  let seed = 0x5eed;
  const rand = (bits: number) => {
    let v = 0n;
    for (let i = 0; i < bits; i += 16) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      v = (v << 16n) | BigInt(seed >>> 16);
    }
    return v & ((1n << BigInt(bits)) - 1n);
  };
  const seen = new Map<string, string>();
  for (let i = 0; i < 2000; i++) {
    const len6 = 1 + Number(rand(7) % 126n);
    const ipv6Subnet = { ip: rand(128) & ~((1n << BigInt(128 - len6)) - 1n), prefixLen: len6 };
    const len4 = Number(rand(5)) + 1;
    const ip4 = Number(rand(32) & ((0xffffffffn << BigInt(32 - len4)) & 0xffffffffn));
    const subnet = i % 4 === 0 ? NO_IPV4_SUBNET : { ip: ip4, prefixLen: len4 };
    const key = leaseKey(subnet, ipv6Subnet);
    const back = parseLeaseKey(key);
    assert.ok(back, key);
    assert.equal([back!.subnet, back!.ipv6Subnet], [subnet, ipv6Subnet], key);
    const pair = `${subnet.ip}/${subnet.prefixLen} ${ipv6Subnet.ip}/${ipv6Subnet.prefixLen}`;
    assert.is(seen.get(key) ?? pair, pair, `one pair per key: ${key}`);
    seen.set(key, pair);
  }
  assert.ok(seen.size > 1000, `${seen.size} distinct keys`);
});

test("values: flanneld's dual-stack LeaseAttrs JSON reads back; PublicIPv6 null or absent; bad ones skipped", () => {
  const flannel =
    '{"PublicIP":"192.0.2.1","PublicIPv6":"2001:db8::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:4b:b6:2f:54:4e"},"BackendV6Data":{"VNI":1,"VtepMAC":"9e:0c:51:3c:7a:01"}}';
  const a = parseLeaseAttrs(flannel)!;
  assert.is(a.PublicIPv6, '2001:db8::1');
  assert.equal(a.BackendV6Data, { VNI: 1, VtepMAC: '9e:0c:51:3c:7a:01' });
  assert.is(JSON.stringify(a), flannel, "re-marshalled in flannel's field order");
  const v4only = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1}}';
  assert.is(JSON.stringify(parseLeaseAttrs(v4only)), v4only, "flanneld's IPv4-only value (PublicIPv6 null)");
  assert.is(parseLeaseAttrs('{"PublicIP":"192.0.2.1"}')!.PublicIPv6, undefined);
  assert.is(parseLeaseAttrs('{"PublicIP":"192.0.2.1","PublicIPv6":"2001:db8::zz"}'), null);
  assert.is(parseLeaseAttrs('{"PublicIP":"192.0.2.1","PublicIPv6":7}'), null);
  const v6only = parseLeaseAttrs('{"PublicIP":"0.0.0.0","PublicIPv6":"fd00::2","BackendType":"vxlan"}')!;
  assert.ok(isOwnLease(v6only, { nodeName: 'n', publicIp: '0.0.0.0', publicIpv6: 'fd00:0::2' }), 'by PublicIPv6');
  assert.not.ok(isOwnLease(v6only, { nodeName: 'n', publicIp: '0.0.0.0', publicIpv6: 'fd00::3' }));
  assert.ok(isOwnLease(a, { nodeName: 'n', publicIp: '192.0.2.1', publicIpv6: 'fd00::9' }), 'flannel: by PublicIP');
});

test("net-conf: flannel's IPv6 defaults (IPv6SubnetLen 64, second subnet to last) and EnableIPv4 default true", () => {
  const c = parseNetConfig(
    '{"Network":"10.42.0.0/16","EnableIPv6":true,"IPv6Network":"2001:cafe:42::/56","Backend":{"Type":"vxlan"}}',
  );
  assert.ok(c.enableIpv4 && c.enableIpv6);
  assert.equal(c.warnings, []);
  assert.is(c.ipv6!.subnetLen, 64);
  assert.is(formatIpv6Prefix({ ip: c.ipv6!.subnetMin, prefixLen: 64 }), '2001:cafe:42:1::/64');
  assert.is(formatIpv6Prefix({ ip: c.ipv6!.subnetMax, prefixLen: 64 }), '2001:cafe:42:ff::/64');
  const small = parseNetConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/120"}');
  assert.is(small.ipv6!.subnetLen, 122, 'smaller than a /62: prefix + 2');
  assert.is(small.enableIpv4, false);
  assert.equal(small.network, { ip: 0, prefixLen: 0 }, "flannel's zero IPv4 side");
  const set = parseNetConfig(
    '{"Network":"10.42.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetLen":80,"IPv6SubnetMin":"fd00:0:0:1::","IPv6SubnetMax":"fd00:0:0:2::"}',
  );
  assert.is(set.ipv6!.subnetLen, 80);
  assert.is(set.ipv6!.subnetMax - set.ipv6!.subnetMin, 1n << 64n);
  const off = parseNetConfig('{"Network":"10.42.0.0/16","IPv6Network":"fd00::/48","EnableIPv6":false}');
  assert.is(off.ipv6, null);
  assert.equal(
    off.warnings.map((w) => [w.field, w.message]),
    [['IPv6Network', 'ignored: EnableIPv6 is not true']],
  );
});

test('net-conf: bad IPv6 values are ConfigErrors naming the key', () => {
  const refused = (conf: object, field: string, pattern: RegExp) => {
    try {
      parseNetConfig(JSON.stringify(conf));
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as ConfigError).field, field, (e as Error).message);
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable(`${JSON.stringify(conf)} accepted`);
  };
  const base = { Network: '10.42.0.0/16', EnableIPv6: true };
  refused({ ...base }, 'IPv6Network', /missing/);
  refused({ ...base, IPv6Network: '10.1.0.0/16' }, 'IPv6Network', /not an IPv6 CIDR/);
  refused({ ...base, IPv6Network: 'fd00::1/64' }, 'IPv6Network', /host bits.*fd00::\/64/);
  refused({ ...base, IPv6Network: '::ffff:10.0.0.0/104' }, 'IPv6Network', /IPv4-mapped/);
  refused({ ...base, IPv6Network: 'fd00::/125' }, 'IPv6Network', /smallest useful IPv6Network is a \/124/);
  refused({ ...base, IPv6Network: 'fd00::/56', IPv6SubnetLen: 57 }, 'IPv6SubnetLen', /58\.\.126/);
  refused({ ...base, IPv6Network: 'fd00::/56', IPv6SubnetLen: 127 }, 'IPv6SubnetLen', /out of range/);
  refused({ ...base, IPv6Network: 'fd00::/56', IPv6SubnetMin: 'fd01::' }, 'IPv6SubnetMin', /outside/);
  refused({ ...base, IPv6Network: 'fd00::/56', IPv6SubnetMax: 'fd00:0:0:1::1' }, 'IPv6SubnetMax', /boundary/);
  refused(
    { ...base, IPv6Network: 'fd00::/56', IPv6SubnetMin: 'fd00:0:0:9::', IPv6SubnetMax: 'fd00:0:0:2::' },
    'IPv6SubnetMin',
    /above IPv6SubnetMax/,
  );
  refused({ ...base, EnableIPv6: 'yes' }, 'EnableIPv6', /true or false/);
  refused({ EnableIPv4: false }, 'EnableIPv4', /both false/);
  refused({ EnableIPv4: false, EnableIPv6: true }, 'IPv6Network', /missing/);
});

const dual = parseNetConfig(
  '{"Network":"10.42.0.0/16","SubnetMin":"10.42.1.0","SubnetMax":"10.42.3.0","EnableIPv6":true,"IPv6Network":"fd00::/56","IPv6SubnetMin":"fd00:0:0:1::","IPv6SubnetMax":"fd00:0:0:3::"}',
);
const leaseOf = (s: string, s6: string | null): Lease => ({
  subnet: s ? v4(s) : NO_IPV4_SUBNET,
  ipv6Subnet: s6 ? v6(s6) : null,
  attrs: { PublicIP: '192.0.2.9', BackendType: 'vxlan' },
  expiresAt: 1,
});

test('allocator: free IPv6 subnets in [IPv6SubnetMin, IPv6SubnetMax], skipping taken ones, both families at once', () => {
  const taken = [leaseOf('10.42.1.0/24', 'fd00:0:0:1::/64'), leaseOf('10.42.2.0/24', 'fd00:0:0:3::/64')];
  const seen = new Set<string>();
  for (const r of [0, 0.3, 0.6, 0.99]) {
    const p = pickFreeSubnets(dual, taken, () => r)!;
    seen.add(`${leaseKey(p.subnet, p.ipv6Subnet)}`);
  }
  assert.equal([...seen], ['10.42.3.0-24&fd00:0:0:2::-64'], 'the one free subnet of each family');
  assert.is(
    pickFreeSubnets(dual, [...taken, leaseOf('', 'fd00:0:0:2::/64')], () => 0.5),
    null,
    'IPv6 range full',
  );
  const wide = parseNetConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/32"}');
  const picks = [0, 0.5, 0.999999].map((r) => pickFreeIpv6Subnet(wide, [], () => r)!);
  for (const p of picks) assert.ok(fitsConfig(wide, NO_IPV4_SUBNET, p), formatIpv6Prefix(p));
  assert.is(formatIpv6Prefix(picks[0]!), 'fd00:0:0:1::/64', 'the second subnet is the first leasable');
  assert.is(formatIpv6Prefix(picks[1]!), 'fd00:0:8000::/64', '2^32 - 1 subnets: the scan starts anywhere');
  const busy = pickFreeIpv6Subnet(wide, [leaseOf('', 'fd00:0:0:1::/64')], () => 0) as Ipv6Prefix;
  assert.is(formatIpv6Prefix(busy), 'fd00:0:0:2::/64');
  assert.ok(fitsConfig(dual, v4('10.42.3.0/24'), v6('fd00:0:0:2::/64')));
  assert.not.ok(fitsConfig(dual, v4('10.42.3.0/24'), null), 'dual stack needs both');
  assert.not.ok(fitsConfig(dual, v4('10.42.3.0/24'), v6('fd00:0:0:4::/64')), 'above IPv6SubnetMax');
  const v4only = parseNetConfig('{"Network":"10.42.0.0/16"}');
  assert.not.ok(fitsConfig(v4only, v4('10.42.3.0/24'), v6('fd00:0:0:2::/64')), 'flannel: IPv6 off, no IPv6 subnet');
});

test("subnet.env: flanneld's lines and order for dual stack and IPv6 only; both subnets read back", () => {
  const conf = parseNetConfig(
    '{"Network":"10.42.0.0/16","EnableIPv6":true,"IPv6Network":"2001:cafe:42::/56","Backend":{"Type":"vxlan"}}',
  );
  const text = formatSubnetEnv(subnetEnvValues(conf, v4('10.42.0.0/24'), 1450, true, v6('2001:cafe:42::/64')));
  // Documentation/configuration.md's example, byte for byte.
  assert.is(
    text,
    'FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.0.1/24\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  );
  const back = parseSubnetEnv(text);
  assert.equal(previousSubnetFromEnv(back), v4('10.42.0.0/24'));
  assert.equal(previousIpv6SubnetFromEnv(back), v6('2001:cafe:42::/64'));
  const only6 = parseNetConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/56"}');
  assert.is(
    formatSubnetEnv(subnetEnvValues(only6, NO_IPV4_SUBNET, 1430, false, v6('fd00:0:0:7::/64'))),
    'FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:7::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n',
  );
  assert.throws(() => subnetEnvValues(conf, v4('10.42.0.0/24'), 1450, true), /no IPv6 subnet/);
});

test.run();
