// The native backend with both families, root-free: real agents (startAgent) on fake ports and interface facts.
// host-gw (leases): a dual-stack peer lease gives two kernel routes (its IPv4 subnet via PublicIP, its IPv6 subnet
// via PublicIPv6) in one batch, both removed when the lease goes and at stop; /status says IPv6 is forwarded.
// BGP: the IPv6 subnet is advertised as IPv6 unicast on IPv4 sessions and on IPv6 sessions, and the learned IPv6
// route becomes an `ip route` line via the peer's IPv6 address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNetwork } from '@weft/route-sync';
import { formatIpv4Prefix, formatIpv6Prefix, parseIpv4Prefix, parseIpv6Prefix } from '@weft/netaddr';
import {
  BgpRouteSource,
  LeaseRouteSource,
  type MemoryLeaseStore,
  NativeNetwork,
  createLogger,
  parseAgentArgs,
  type RouteSource,
} from './support/internals.ts';
import { RecordingLink, until } from './support/fake-node.ts';
import { nodeTransport, startNativeNode, withDirAndStore } from './support/native-node.ts';

const CONF = {
  Network: '10.244.0.0/16',
  EnableIPv6: true,
  IPv6Network: 'fd00:10:244::/56',
  Backend: { Type: 'native' },
};
const NODES = [
  { name: 'a', ip: '192.0.2.1', ip6: '2001:db8::1' },
  { name: 'b', ip: '192.0.2.2', ip6: '2001:db8::2' },
];
type Node = (typeof NODES)[number];

async function startNode(n: Node, store: MemoryLeaseStore, dir: string, routes: RouteSource, conf: object = CONF) {
  const { agent, link, lines } = await startNativeNode({ ...n, conf, dir, store, routes: () => routes });
  const lease = agent.lease()!;
  return { agent, link, lines, v4: formatIpv4Prefix(lease.subnet), v6: formatIpv6Prefix(lease.ipv6Subnet!), lease };
}

const replace = (subnet: string, via: string) => `route replace ${subnet} via ${via} dev eth0 proto static`;

test('host-gw dual stack: routes to both subnets of a peer lease, removed with the lease and at stop', () =>
  withDirAndStore('v6n-native', async (dir, store) => {
    const a = await startNode(NODES[0]!, store, dir, new LeaseRouteSource());
    const b = await startNode(NODES[1]!, store, dir, new LeaseRouteSource());
    try {
      await until(
        () => a.link.lines.length >= 2 && b.link.lines.length >= 2,
        `routes on both: ${a.link.lines} | ${b.link.lines}`,
        5000,
      );
      assert.equal(a.link.lines, [replace(b.v4, '192.0.2.2'), replace(b.v6, '2001:db8::2')]);
      assert.equal(b.link.lines, [replace(a.v4, '192.0.2.1'), replace(a.v6, '2001:db8::1')]);
      const s = a.agent.status();
      assert.equal(s.routes, [
        { subnet: b.v4, via: '192.0.2.2' },
        { subnet: b.v6, via: '2001:db8::2' },
      ]);
      assert.is(s.ipv6!.forwarded, true);
      assert.match(s.ipv6!.reason, /IPv6 subnets via their IPv6 underlay addresses/);
      assert.not.ok(
        a.lines.some((l) => l.includes('not forwarded')),
        'no "not forwarded" line for native',
      );
      const bLease = b.agent.lease()!;
      await b.agent.stop();
      await store.deleteLease(bLease.subnet, bLease.ipv6Subnet); // the lease expires
      await until(() => a.link.lines.length >= 4, 'the removal', 5000);
      assert.equal(a.link.lines.slice(2), [`route del ${b.v4}`, `route del ${b.v6}`]);
      assert.equal(b.link.lines.slice(2), [`route del ${a.v4}`, `route del ${a.v6}`], 'b removed both at stop');
    } finally {
      await a.agent.stop();
      await b.agent.stop();
    }
  }));

test('host-gw IPv6 only: IPv6-only leases become IPv6 routes via PublicIPv6, nothing else', () =>
  withDirAndStore('v6n-native', async (dir, store) => {
    const only6 = { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'native' } };
    const a = await startNode(NODES[0]!, store, dir, new LeaseRouteSource(), only6);
    const b = await startNode(NODES[1]!, store, dir, new LeaseRouteSource(), only6);
    try {
      await until(() => a.link.lines.length >= 1 && b.link.lines.length >= 1, 'IPv6 routes on both', 5000);
      assert.equal(a.link.lines, [replace(b.v6, '2001:db8::2')]);
      assert.equal(b.link.lines, [replace(a.v6, '2001:db8::1')]);
      assert.equal(a.agent.status().routes, [{ subnet: b.v6, via: '2001:db8::2' }]);
      assert.is(a.agent.status().ipv6!.forwarded, true);
      await b.agent.stop();
      await store.deleteLease(b.lease.subnet, b.lease.ipv6Subnet);
      await until(() => a.link.lines.length >= 2, 'the removal', 5000);
      assert.equal(a.link.lines.slice(1), [`route del ${b.v6}`]);
    } finally {
      await a.agent.stop();
      await b.agent.stop();
    }
  }));

async function bgpPair(peerFamily: 'ipv4' | 'ipv6') {
  await withDirAndStore('v6n-native', async (dir, store) => {
    const bgp = new MemoryNetwork();
    const started = [];
    try {
      for (const n of NODES) {
        const other = NODES.find((o) => o !== n)!;
        const address = peerFamily === 'ipv4' ? other.ip : other.ip6;
        const routes = new BgpRouteSource({
          as: 64512,
          port: 179,
          peers: [{ address, as: 64512 }],
          routeReflectors: [],
          transport: nodeTransport(bgp, [n.ip, n.ip6]),
        });
        started.push(await startNode(n, store, dir, routes));
      }
      const [a, b] = started as [Awaited<ReturnType<typeof startNode>>, Awaited<ReturnType<typeof startNode>>];
      await until(() => a.link.lines.length >= 2 && b.link.lines.length >= 2, 'routes over BGP', 10_000);
      assert.equal([...a.link.lines].sort(), [replace(b.v4, '192.0.2.2'), replace(b.v6, '2001:db8::2')].sort());
      assert.equal([...b.link.lines].sort(), [replace(a.v4, '192.0.2.1'), replace(a.v6, '2001:db8::1')].sort());
      assert.is(a.agent.status().ipv6!.forwarded, true);
      await b.agent.stop();
      await until(() => a.link.lines.length >= 4, 'the withdrawal of both', 10_000);
      assert.equal(a.link.lines.slice(2).sort(), [`route del ${b.v4}`, `route del ${b.v6}`].sort());
    } finally {
      for (const n of started) await n.agent.stop();
    }
  });
}

test('BGP dual stack over IPv4 sessions: the IPv6 subnet travels as IPv6 unicast with the IPv6 next hop', () =>
  bgpPair('ipv4'));

test('BGP dual stack over IPv6 sessions: both subnets travel, each with a next hop of its family', () =>
  bgpPair('ipv6'));

test('NativeNetwork: IPv6-only leases given as peer changes (0.0.0.0/0) are told apart by their IPv6 subnets', async () => {
  const link = new RecordingLink('192.0.2.1');
  const net = new NativeNetwork({ log: createLogger({ level: 'silent' }), link, iface: 'eth0', underlayMtu: 1500 });
  const none = parseIpv4Prefix('0.0.0.0/0');
  const peer = (n: number) => ({ subnet: parseIpv6Prefix(`fd00:10:244:${n}::/64`), publicIp: `2001:db8::${n}` });
  await net.apply([
    { type: 'added', subnet: none, publicIp: '0.0.0.0', ipv6: peer(2) },
    { type: 'added', subnet: none, publicIp: '0.0.0.0', ipv6: peer(3) },
  ]);
  await net.apply([{ type: 'removed', subnet: none, publicIp: '0.0.0.0', ipv6: peer(2) }]);
  assert.equal(link.lines, [
    replace('fd00:10:244:2::/64', '2001:db8::2'),
    replace('fd00:10:244:3::/64', '2001:db8::3'),
    'route del fd00:10:244:2::/64',
  ]);
  await net.stop();
  assert.equal(link.lines.slice(3), ['route del fd00:10:244:3::/64']);
});

test('--bgp-peer and --route-reflector take IPv6 addresses (canonical text); a bad address names the flag', () => {
  const s = parseAgentArgs(['--bgp-peer', '2001:DB8::0001,64513', '--route-reflector', '2001:db8:0::7'], {
    hostname: 'x',
  });
  assert.equal(s.weft.bgpPeers, [{ address: '2001:db8::1', as: 64513 }]);
  assert.equal(s.weft.routeReflectors, ['2001:db8::7']);
  try {
    parseAgentArgs(['--bgp-peer', '2001:db8::g,64512'], { hostname: 'x' });
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as { field?: string }).field, '--bgp-peer');
    assert.match((e as Error).message, /IPv4 or IPv6 address/);
  }
});

test.run();
