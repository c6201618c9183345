// IPv6 in the plugin's pure core, as flannel's CNI plugin treats subnet.env's FLANNEL_IPV6_NETWORK and
// FLANNEL_IPV6_SUBNET: a second host-local range set (IPv6 after IPv4) and a route per IPv6 cluster network; an
// IPv6-only file (no FLANNEL_NETWORK / FLANNEL_SUBNET) is valid; network keys may list several prefixes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CniError, CniErrorCode, delegateConfig, parseFlannelSubnetEnv, parseNetConf } from '@weft/cni';

const V4 = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n';
const V6 = 'FLANNEL_IPV6_NETWORK=fd00:10::/48\nFLANNEL_IPV6_SUBNET=fd00:10:0:3::1/64\n';
const REST = 'FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'weft' }));

function invalid(text: string, pattern: RegExp): void {
  try {
    parseFlannelSubnetEnv(text, 'f');
  } catch (e) {
    assert.instance(e, CniError);
    assert.is((e as CniError).code, CniErrorCode.SubnetEnvInvalid);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`accepted: ${text}`);
}

test('dual stack: an IPv6 range after the IPv4 one, a route to each cluster network via its family gateway', () => {
  const d = delegateConfig(conf, parseFlannelSubnetEnv(V4 + V6 + REST, 'f'));
  assert.equal(d.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:0:3::/64' }]],
    routes: [
      { dst: '10.244.0.0/16', gw: '10.244.3.1' },
      { dst: 'fd00:10::/48', gw: 'fd00:10:0:3::1' },
    ],
  });
  // the IPv6 keys may come first in the file: IPv4 still leads
  const swapped = parseFlannelSubnetEnv(V6 + V4 + REST, 'f');
  assert.equal(swapped.subnets, ['10.244.3.0/24', 'fd00:10:0:3::/64']);
});

test('IPv6 only: one IPv6 range and route; MTU and ipMasq as for IPv4', () => {
  const env = parseFlannelSubnetEnv(V6 + REST, 'f');
  assert.equal(env, {
    networks: ['fd00:10::/48'],
    subnets: ['fd00:10:0:3::/64'],
    gateways: ['fd00:10:0:3::1'],
    mtu: 1450,
    ipMasq: true,
  });
  const d = delegateConfig(conf, env);
  assert.is(d.mtu, 1450);
  assert.is(d.ipMasq, false);
  assert.equal(d.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: 'fd00:10:0:3::/64' }]],
    routes: [{ dst: 'fd00:10::/48', gw: 'fd00:10:0:3::1' }],
  });
});

test('a network key lists several prefixes: one route each, repeats once, the subnet inside one of them', () => {
  const text = `FLANNEL_NETWORK=10.244.0.0/16,10.96.0.0/12, 10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n${V6.replace(
    'fd00:10::/48',
    'fd00:10::/48,fd00:20::/48',
  )}${REST}`;
  const env = parseFlannelSubnetEnv(text, 'f');
  assert.equal(env.networks, ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10::/48', 'fd00:20::/48']);
  const routes = (delegateConfig(conf, env).ipam as { routes: unknown[] }).routes;
  assert.equal(routes, [
    { dst: '10.244.0.0/16', gw: '10.244.3.1' },
    { dst: '10.96.0.0/12', gw: '10.244.3.1' },
    { dst: 'fd00:10::/48', gw: 'fd00:10:0:3::1' },
    { dst: 'fd00:20::/48', gw: 'fd00:10:0:3::1' },
  ]);
  // without a bridge gateway the routes carry no gw, as flannel writes them
  const ipvlan = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', delegate: { type: 'ipvlan' } }));
  assert.equal((delegateConfig(ipvlan, env).ipam as { routes: unknown[] }).routes, [
    { dst: '10.244.0.0/16' },
    { dst: '10.96.0.0/12' },
    { dst: 'fd00:10::/48' },
    { dst: 'fd00:20::/48' },
  ]);
});

test('IPv6 keys are checked like the IPv4 ones', () => {
  invalid(`FLANNEL_IPV6_NETWORK=fd00:10::/48\n${REST}`, /FLANNEL_IPV6_SUBNET is missing/);
  invalid(`FLANNEL_IPV6_SUBNET=fd00:10:0:3::1/64\n${REST}`, /FLANNEL_IPV6_NETWORK is missing/);
  invalid(V4 + V6.replace('fd00:10:0:3::1/64', 'fd00:11:0:3::1/64') + REST, /FLANNEL_IPV6_SUBNET is not inside/);
  invalid(V6.replace('fd00:10::/48', '10.0.0.0/8') + REST, /FLANNEL_IPV6_NETWORK=10\.0\.0\.0\/8 is not an IPv6/);
  invalid(V6.replace('fd00:10::/48', 'fd00:10::/48,') + REST, /is not an IPv6 prefix/);
  invalid(V4.replace('10.244.3.1/24', 'fd00:10:0:3::1/64') + REST, /FLANNEL_SUBNET=fd00.* is not an IPv4/);
  invalid(REST, /FLANNEL_NETWORK and FLANNEL_SUBNET are missing \(IPv6: FLANNEL_IPV6_NETWORK/);
});

test.run();
