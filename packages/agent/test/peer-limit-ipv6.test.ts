// --max-peers holds IPv6 routes back too, not only IPv4 peers: real agents (startAgent, native backend) on fake
// ports. BGP dual stack: node a with --max-peers 1 meshes with b and c over IPv4 sessions carrying IPv6 unicast;
// it installs one route of each family, reports the rest waiting (not ready), and once c leaves holds exactly b's
// two. Lease mode, IPv6 only: IPv6-only leases (IPv6 routes on their own) wait the same way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNetwork } from '@weft/route-sync';
import { formatIpv4Prefix, formatIpv6Prefix } from '@weft/netaddr';
import { LeaseRouteSource, type LeaseStore, type RouteSource } from './support/internals.ts';
import { until } from './support/fake-node.ts';
import { meshRouteSource, nodeTransport, startNativeNode, withDirAndStore } from './support/native-node.ts';
import { dualStackConf, ipv6OnlyConf } from './support/net-confs.ts';

const DUAL = dualStackConf('native');
const ONLY6 = ipv6OnlyConf('native');
const NODES = [
  { name: 'a', ip: '192.0.2.1', ip6: '2001:db8::1' },
  { name: 'b', ip: '192.0.2.2', ip6: '2001:db8::2' },
  { name: 'c', ip: '192.0.2.3', ip6: '2001:db8::3' },
];
type Node = (typeof NODES)[number];

async function startNode(n: Node, dir: string, store: LeaseStore, routes: RouteSource, conf: object, extra: string[]) {
  const { agent, link } = await startNativeNode({ ...n, conf, dir, store, routes: () => routes, args: extra });
  const lease = agent.lease()!;
  const v4 = lease.subnet.prefixLen > 0 ? formatIpv4Prefix(lease.subnet) : null;
  return { agent, link, v4, v6: formatIpv6Prefix(lease.ipv6Subnet!) };
}
type Started = Awaited<ReturnType<typeof startNode>>;

const routesOf = (s: Started) => s.agent.status().routes.map((r) => r.subnet);
const v6Routes = (s: Started) => routesOf(s).filter((r) => r.includes(':'));

test('BGP dual stack, --max-peers 1: one IPv4 and one IPv6 route, the others wait; after a peer leaves, the other', () =>
  withDirAndStore('fx-limit6', async (dir, store) => {
    const bgp = new MemoryNetwork();
    const started: Started[] = [];
    try {
      for (const n of NODES) {
        const peers = NODES.filter((o) => o !== n).map((o) => o.ip);
        const routes = meshRouteSource(peers, nodeTransport(bgp, [n.ip, n.ip6]));
        started.push(await startNode(n, dir, store, routes, DUAL, n.name === 'a' ? ['--max-peers', '1'] : []));
      }
      const [a, b, c] = started as [Started, Started, Started];
      await until(
        () => a.agent.status().peerLimit?.waiting === 2,
        `2 waiting on a: ${JSON.stringify(a.agent.status().peerLimit)}`,
        10_000,
      );
      assert.equal(a.agent.status().peerLimit, { limit: 1, admitted: 1, waiting: 2 });
      assert.is(v6Routes(a).length, 1, `one IPv6 route only: ${routesOf(a)}`);
      assert.is(routesOf(a).length, 2, `one route of each family: ${routesOf(a)}`);
      assert.is(a.link.lines.filter((l) => l.includes(':')).length, 1, 'one IPv6 route programmed');
      assert.match(a.agent.notReady() ?? '', /2 peers left out: more than --max-peers=1/);
      assert.is(routesOf(b).length, 4, 'b has no limit: both subnets of a and c');
      await c.agent.stop();
      await until(
        () => routesOf(a).sort().join() === [b.v4!, b.v6].sort().join() && a.agent.notReady() === null,
        `a holds b's two routes: ${routesOf(a)}`,
        10_000,
      );
      assert.equal(a.agent.status().peerLimit, { limit: 1, admitted: 1, waiting: 0 });
      assert.not.ok(routesOf(a).includes(c.v6), "c's IPv6 route is gone");
    } finally {
      for (const s of started) await s.agent.stop();
    }
  }));

test('lease mode, IPv6 only, --max-peers 1: IPv6-only leases wait as well', () =>
  withDirAndStore('fx-limit6', async (dir, store) => {
    const started: Started[] = [];
    try {
      for (const n of NODES) {
        const extra = n.name === 'a' ? ['--max-peers', '1'] : [];
        started.push(await startNode(n, dir, store, new LeaseRouteSource(), ONLY6, extra));
      }
      const [a] = started as [Started];
      await until(
        () => a.agent.status().peerLimit?.waiting === 1,
        `1 waiting: ${JSON.stringify(a.agent.status().peerLimit)}`,
        10_000,
      );
      assert.equal(a.agent.status().peerLimit, { limit: 1, admitted: 1, waiting: 1 });
      assert.is(v6Routes(a).length, 1, `one IPv6 route: ${routesOf(a)}`);
      assert.match(a.agent.notReady() ?? '', /1 peers left out/);
    } finally {
      for (const s of started) await s.agent.stop();
    }
  }));

test.run();
