import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lab, canRunPrivileged, listLabNamespaces } from '../src/index.ts';
import { ipv4Add } from '../src/topology.ts';

test('ipv4Add carries across octets', () => {
  assert.is(ipv4Add('10.244.1.0', 1), '10.244.1.1');
  assert.is(ipv4Add('10.244.1.255', 2), '10.244.2.1');
  assert.is(ipv4Add('192.0.2.0', 266), '192.0.3.10');
});

if (canRunPrivileged('lab topology')) {
  test('two nodes on a bridge underlay, pods routed host-gw style, torn down afterwards', async () => {
    const lab = await Lab.create({ name: 't-topo', nodes: 2, underlayMtu: 1500 });
    try {
      const [n1, n2] = lab.nodes as [NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>];
      await lab.addPods(n1, '10.244.1.0/24', 2, 1500);
      await lab.addPods(n2, '10.244.2.0/24', 1, 1500);
      // host-gw by hand: what the native backend automates
      await n1.ns.ip(['route', 'add', '10.244.2.0/24', 'via', n2.underlayIp]);
      await n2.ns.ip(['route', 'add', '10.244.1.0/24', 'via', n1.underlayIp]);
      const from = n1.pods[1]!;
      const to = n2.pods[0]!;
      assert.is(from.ip, '10.244.1.3');
      const ping = await from.ns.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', to.ip]);
      assert.match(ping.stdout, /2 received/);
      assert.is(lab.member('n2p1').name, to.ns.name);
      const d = lab.describe() as { nodes: { pods: unknown[] }[] };
      assert.is(d.nodes[0]!.pods.length, 2);
    } finally {
      await lab.teardown();
    }
    assert.equal(await listLabNamespaces('t-topo'), []);
  });
}

test.run();
