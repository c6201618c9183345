import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv4 } from '@weft/netaddr';
import { parseNetConfig, subnetCount } from './support/internals.ts';
import { assertConfigError } from './support/config-error.ts';

function fails(text: string, field: string, pattern?: RegExp): void {
  assertConfigError(() => parseNetConfig(text), field, pattern, text);
}

test('defaults follow flannel: /24, second subnet to last, udp 8285', () => {
  const c = parseNetConfig('{"Network":"10.244.0.0/16"}');
  assert.is(c.subnetLen, 24);
  assert.is(formatIpv4(c.subnetMin), '10.244.1.0');
  assert.is(formatIpv4(c.subnetMax), '10.244.255.0');
  assert.equal(c.backend, { type: 'udp', port: 8285, vni: 1, directRouting: false });
  assert.is(subnetCount(c), 255);
});

test('vxlan defaults and explicit values', () => {
  assert.equal(parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}').backend, {
    type: 'vxlan',
    port: 8472,
    vni: 1,
    directRouting: false,
  });
  const c = parseNetConfig(
    '{"Network":"10.0.0.0/8","SubnetLen":20,"SubnetMin":"10.10.0.0","SubnetMax":"10.99.0.0","Backend":{"Type":"vxlan","Port":4789,"VNI":16777215}}',
  );
  assert.is(c.subnetLen, 20);
  assert.is(formatIpv4(c.subnetMin), '10.10.0.0');
  assert.is(formatIpv4(c.subnetMax), '10.99.0.0');
  assert.equal(c.backend, { type: 'vxlan', port: 4789, vni: 16777215, directRouting: false });
});

test('small networks default to prefix + 2', () => {
  assert.is(parseNetConfig('{"Network":"192.168.0.0/24"}').subnetLen, 26);
});

test('missing or malformed Network', () => {
  fails('{"SubnetLen":24}', 'Network', /missing/);
  fails('{"Network":"10.244.0.0"}', 'Network', /CIDR/);
  fails('{"Network":"10.244.300.0/16"}', 'Network');
  fails('{"Network":"10.244.1.0/16"}', 'Network', /host bits.*10\.244\.0\.0\/16/);
  fails('{"Network":42}', 'Network');
});

test('SubnetLen out of range', () => {
  fails('{"Network":"10.244.0.0/16","SubnetLen":16}', 'SubnetLen', /17\.\.30/);
  fails('{"Network":"10.244.0.0/16","SubnetLen":8}', 'SubnetLen');
  fails('{"Network":"10.244.0.0/16","SubnetLen":31}', 'SubnetLen');
  fails('{"Network":"10.244.0.0/16","SubnetLen":"24"}', 'SubnetLen');
  fails('{"Network":"10.244.0.0/16","SubnetLen":24.5}', 'SubnetLen');
});

test('unknown backend and bad backend numbers', () => {
  fails('{"Network":"10.244.0.0/16","Backend":{"Type":"ipsec"}}', 'Backend.Type', /udp, vxlan, host-gw, native/);
  fails('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":"yes"}}', 'Backend.DirectRouting');
  fails('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}', 'Backend.VNI');
  fails('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":-1}}', 'Backend.VNI');
  fails('{"Network":"10.244.0.0/16","Backend":{"Type":"udp","Port":70000}}', 'Backend.Port');
  fails('{"Network":"10.244.0.0/16","Backend":"udp"}', 'Backend');
});

test('inverted, outside and misaligned ranges', () => {
  fails(
    '{"Network":"10.244.0.0/16","SubnetMin":"10.244.9.0","SubnetMax":"10.244.2.0"}',
    'SubnetMin',
    /above SubnetMax/,
  );
  fails('{"Network":"10.244.0.0/16","SubnetMin":"10.245.1.0"}', 'SubnetMin', /outside Network/);
  fails('{"Network":"10.244.0.0/16","SubnetMax":"10.0.0.0"}', 'SubnetMax', /outside Network/);
  fails('{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.7"}', 'SubnetMin', /boundary/);
  fails('{"Network":"10.244.0.0/16","SubnetMax":"nope"}', 'SubnetMax');
});

test("host-gw is flannel's name for the native backend; native stays an alias", () => {
  for (const type of ['host-gw', 'native']) {
    const c = parseNetConfig(`{"Network":"10.244.0.0/16","Backend":{"Type":"${type}"}}`);
    assert.equal(c.backend, { type: 'native', port: 0, vni: 1, directRouting: false });
    assert.equal(c.warnings, []);
  }
});

test('vxlan DirectRouting: on only when true, and only for vxlan', () => {
  const on = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}');
  assert.is(on.backend.directRouting, true);
  assert.equal(on.warnings, []);
  assert.is(
    parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":false}}').backend
      .directRouting,
    false,
  );
  const udp = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"udp","DirectRouting":true}}');
  assert.is(udp.backend.directRouting, false);
  assert.equal(
    udp.warnings.map((w) => w.field),
    ['Backend.DirectRouting'],
  );
  assert.match(udp.warnings[0]!.message, /not used by the udp backend/);
});

test('keys weft does not implement are warnings naming the key, never silently dropped', () => {
  const c = parseNetConfig(
    JSON.stringify({
      Network: '10.244.0.0/16',
      EnableIPv6: true,
      IPv6Network: 'fd00::/56',
      Colour: 'blue',
      Backend: { Type: 'vxlan', MTU: 1400, GBP: true, Learning: true, MacPrefix: '0E:2A', VNI: 7 },
    }),
  );
  const fields = c.warnings.map((w) => w.field).sort();
  assert.equal(fields, ['Backend.GBP', 'Backend.Learning', 'Backend.MTU', 'Backend.MacPrefix', 'Colour']);
  assert.match(c.warnings.find((w) => w.field === 'Backend.MTU')!.message, /1400.*not implemented/);
  assert.is(c.backend.vni, 7);
  const hostGw = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw","Port":9000,"VNI":3}}');
  assert.equal(
    hostGw.warnings.map((w) => w.field),
    ['Backend.Port', 'Backend.VNI'],
  );
});

test('bad JSON names line and column', () => {
  fails('{\n  "Network": "10.244.0.0/16",\n  "SubnetLen": 24,,\n}', 'json', /line 3 column 19/);
  fails('[1,2]', 'json', /object/);
  fails('', 'json');
});

test.run();
