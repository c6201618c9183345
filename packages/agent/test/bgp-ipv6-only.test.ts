// BGP on IPv6-only nodes: the router ID (no IPv4 address to take it from) is --bgp-router-id or, by default, the
// node name's SHA-256 hash as calico/node's CALICO_ROUTER_ID=hash gives it (its published examples are the
// fixtures); the flag is checked and shown in --help. Two real agents (startAgent, native, EnableIPv4 false) on
// fake ports peer over IPv6 sessions: each installs the other's IPv6 subnet via its IPv6 address, nothing IPv4
// is advertised, and the start log names the router ID and where it came from.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNetwork } from '@weft/route-sync';
import { formatIpv6Prefix } from '@weft/netaddr';
import {
  BgpRouteSource,
  ConfigError,
  MemoryLeaseStore,
  parseAgentArgs,
  parseAgentCommandLine,
  type LeaseStore,
} from './support/internals.ts';
import { until } from './support/fake-node.ts';
import { nodeTransport, startNativeNode } from './support/native-node.ts';
import { chooseRouterId, hashRouterId } from '../src/bgp-router-id.ts';

const ONLY6 = { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'native' } };
const NODES = [
  { name: 'node-a', ip6: '2001:db8::1' },
  { name: 'node-b', ip6: '2001:db8::2' },
];
type Node = (typeof NODES)[number];

test('hash router ID: the values calico/node publishes for its hash (first octet above 223 moved down by 32)', () => {
  assert.is(hashRouterId('nodeTest'), '109.174.215.226');
  assert.is(hashRouterId('Testrobin123'), '207.94.5.27'); // the hash starts 239: multicast, so 207
  assert.is.not(hashRouterId('node-a'), hashRouterId('node-b'));
  assert.equal(chooseRouterId(null, '0.0.0.0', 'nodeTest'), { routerId: '109.174.215.226', source: 'node-name-hash' });
  assert.equal(chooseRouterId(null, '192.0.2.7', 'nodeTest'), { routerId: '192.0.2.7', source: 'ipv4-address' });
  assert.equal(chooseRouterId('10.0.0.9', '0.0.0.0', 'nodeTest'), { routerId: '10.0.0.9', source: 'flag' });
  assert.equal(chooseRouterId('hash', '192.0.2.7', 'nodeTest'), { routerId: '109.174.215.226', source: 'flag' });
});

test('--bgp-router-id: an IPv4 address (canonical) or hash; 0.0.0.0 and IPv6 refused naming the flag; in --help', () => {
  const host = { hostname: 'x' };
  assert.is(parseAgentArgs(['--bgp-router-id', '10.0.0.9'], host).weft.bgpRouterId, '10.0.0.9');
  assert.is(parseAgentArgs(['--bgp-router-id=hash'], host).weft.bgpRouterId, 'hash');
  assert.is(parseAgentArgs([], host).weft.bgpRouterId, null);
  for (const bad of ['0.0.0.0', '2001:db8::1', '10.0.0', 'md5']) {
    try {
      parseAgentArgs(['--bgp-router-id', bad], host);
      assert.unreachable(`${bad} accepted`);
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as ConfigError).field, '--bgp-router-id');
    }
  }
  const help = parseAgentCommandLine(['--help'], host);
  assert.ok(help.kind === 'help' && /--bgp-router-id.*hash/s.test(help.text), 'named in --help with hash');
  assert.ok(help.kind === 'help' && /IPv6 only: hash/.test(help.text), 'the IPv6-only default stated');
});

async function startNode(n: Node, other: Node, dir: string, store: LeaseStore, bgp: MemoryNetwork, extra: string[]) {
  const { agent, link, lines, routes } = await startNativeNode({
    name: n.name,
    ip6: n.ip6,
    conf: ONLY6,
    dir,
    store,
    args: ['--route-sync', 'bgp', ...extra],
    routes: (settings) =>
      new BgpRouteSource({
        as: 64512,
        port: 179,
        peers: [{ address: other.ip6, as: 64512 }],
        routeReflectors: [],
        transport: nodeTransport(bgp, [n.ip6]),
        routerId: settings.weft.bgpRouterId,
        nodeName: settings.nodeName,
      }),
  });
  const started = () => lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'bgp speaker started');
  return { agent, link, v6: formatIpv6Prefix(agent.lease()!.ipv6Subnet!), routes, started };
}

test('two IPv6-only native agents peer over IPv6: hash router IDs (or the flag), IPv6 routes both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fx-bgp6only-'));
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const bgp = new MemoryNetwork();
  const [na, nb] = NODES as [Node, Node];
  const a = await startNode(na, nb, dir, store, bgp, []);
  const b = await startNode(nb, na, dir, store, bgp, ['--bgp-router-id', '10.255.0.2']);
  const replace = (subnet: string, via: string) => `route replace ${subnet} via ${via} dev eth0 proto static`;
  try {
    await until(() => a.link.lines.length >= 1 && b.link.lines.length >= 1, 'a route on each', 10_000);
    assert.equal(a.link.lines, [replace(b.v6, nb.ip6)]);
    assert.equal(b.link.lines, [replace(a.v6, na.ip6)]);
    const [sa, sb] = [a.routes.status()[0]!, b.routes.status()[0]!];
    assert.is(sa.state, 'Established');
    assert.equal(sa.families, ['ipv6'], 'an IPv6 session of IPv6 unicast alone');
    assert.is(sb.prefixesReceived, 1, 'only the IPv6 subnet is advertised (no 0.0.0.0/0)');
    assert.is(a.started()?.routerId, hashRouterId('node-a'));
    assert.is(a.started()?.routerIdFrom, 'node-name-hash');
    assert.is(b.started()?.routerId, '10.255.0.2');
    assert.is(b.started()?.routerIdFrom, 'flag');
    assert.equal(a.started()?.advertised, [a.v6]);
    await b.agent.stop();
    await until(() => a.link.lines.length >= 2, 'the withdrawal', 10_000);
    assert.is(a.link.lines[1], `route del ${b.v6}`);
  } finally {
    await a.agent.stop();
    await b.agent.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
