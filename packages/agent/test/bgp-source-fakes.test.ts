// The BGP route source in @weft/agent, root-free: real agents (startAgent) whose speakers peer over route-sync's
// in-memory transport. vxlan: routes and VTEP MACs come only from BGP and carry a packet end to end; native: the
// learned routes become the `ip route` lines an operator would type, recorded by the fake link programmer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNetwork } from '@weft/route-sync';
import { ChannelNetwork } from '@weft/tunnel';
import { MemoryLeaseStore, vtepMacFor } from './support/internals.ts';
import { startFakeNode, until, type FakeNode } from './support/fake-node.ts';
import { meshRouteSource } from './support/native-node.ts';

const NODES = [
  { name: 'a', publicIp: '192.0.2.1', subnet: '10.244.1.0/24' },
  { name: 'b', publicIp: '192.0.2.2', subnet: '10.244.2.0/24' },
];

async function bgpPair(
  backend: 'vxlan' | 'native',
  fn: (a: FakeNode, b: FakeNode, store: MemoryLeaseStore) => Promise<void>,
): Promise<void> {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  await store.putConfig(JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 24, Backend: { Type: backend } }));
  const dir = mkdtempSync(join(tmpdir(), 'weft-bgp-fakes-'));
  const bgp = new MemoryNetwork();
  const net = new ChannelNetwork();
  const nodes: FakeNode[] = [];
  try {
    for (const n of NODES) {
      const peers = NODES.filter((p) => p !== n).map((p) => p.publicIp);
      const routes = meshRouteSource(peers, bgp.transport(n.publicIp));
      nodes.push(await startFakeNode({ ...n, net, store, dir, routes }));
    }
    await fn(nodes[0]!, nodes[1]!, store);
  } finally {
    for (const n of nodes) await n.agent.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const routesOf = (n: FakeNode) =>
  n.agent.network.status().routes.map((r) => `${r.subnet} via ${r.via} ${r.vtepMac ?? ''}`.trim());

test("vxlan with BGP: each agent learns the other's subnet and VTEP MAC from BGP, and a packet crosses", () =>
  bgpPair('vxlan', async (a, b) => {
    await until(() => routesOf(a).length === 1 && routesOf(b).length === 1, 'routes over BGP', 10_000);
    assert.equal(routesOf(a), [`10.244.2.0/24 via 192.0.2.2 ${vtepMacFor('b')}`]);
    assert.equal(routesOf(b), [`10.244.1.0/24 via 192.0.2.1 ${vtepMacFor('a')}`]);
    assert.is(a.agent.status().routeSync, 'bgp');
    // IPv4 (20: total length 28, DF, TTL 64, UDP, checksum 0x21d9) 10.244.1.5 -> 10.244.2.5; UDP 0 -> 0, length 8.
    const packet = Buffer.from('4500001c00074000401121d90af401050af40205' + '0000000000080000', 'hex');
    a.tun.inject(packet);
    const got: Uint8Array[] = [];
    await until(() => (got.push(...b.tun.take()), got.length > 0), 'the packet at B');
    assert.is(Buffer.from(got[0]!).toString('hex'), packet.toString('hex'), 'vxlan keeps the inner packet as it was');
  }));

test('native with BGP: learned routes are programmed as ip route lines, withdrawn when the peer stops', () =>
  bgpPair('native', async (a, b, store) => {
    await until(() => a.link.lines.length > 0 && b.link.lines.length > 0, 'a route from BGP on each', 10_000);
    assert.equal(a.link.lines, ['route replace 10.244.2.0/24 via 192.0.2.2 dev eth0 proto static']);
    // flanneld's host-gw skips leases of another BackendType: the native backend's lease carries flannel's name.
    const types = (await store.listLeases()).leases.map((l) => l.attrs.BackendType);
    assert.equal(types, ['host-gw', 'host-gw']);
    await b.agent.stop();
    await until(() => a.link.lines.length > 1, 'the withdrawal', 10_000);
    assert.equal(a.link.lines.slice(1), ['route del 10.244.2.0/24']);
    assert.equal(
      b.link.lines,
      ['route replace 10.244.1.0/24 via 192.0.2.1 dev eth0 proto static', 'route del 10.244.1.0/24'],
      'b removed what it added',
    );
  }));

test.run();
