// vxlan with DirectRouting on two L2 segments joined by a router (Calico's CrossSubnet):
//
//   segment A (bridge in ulA): a1 192.0.2.11/24, a2 192.0.2.12/24, router 192.0.2.1
//   segment B (bridge in ulB): b1 198.51.100.11/24, router 198.51.100.1
//   the router forwards between the segments and knows nothing of 10.244/16
//
// a1 and a2 route each other's pod subnets natively (kernel route via the peer's underlay address); both reach
// b1 only through the tunnel, which the router can carry because it sees underlay addresses alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { httpGetIn } from 'weft/lab';
import {
  METRICS_PORT,
  addPod,
  startAgentNode,
  statusRoutes,
  writeNetConf,
  type AgentNode,
} from './support/flannel-nodes.ts';

/** A segment: a bridge in its own namespace, each node's eth0 on it, a default route via the router. */
async function segment(
  scope: LabScope,
  name: string,
  router: Netns,
  routerIp: string,
  nodes: [Netns, string][],
): Promise<void> {
  const ul = await scope.netns(name);
  await ul.ipBatch(['link add br0 type bridge', 'link set br0 up']);
  await scope.veth(router, name, ul, 'r');
  await ul.ip(['link', 'set', 'r', 'master', 'br0']);
  await router.ip(['addr', 'add', `${routerIp}/24`, 'dev', name]);
  for (const [i, [ns, ip]] of nodes.entries()) {
    await scope.veth(ns, 'eth0', ul, `p${i}`);
    await ul.ip(['link', 'set', `p${i}`, 'master', 'br0']);
    await ns.ipBatch([`addr add ${ip}/24 dev eth0`, `route add default via ${routerIp}`]);
    await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }
}

async function pings(from: Netns, to: string, n = 3): Promise<number> {
  const r = await from.exec(['ping', '-n', '-q', '-c', String(n), '-i', '0.2', '-W', '1', '-w', '6', to], {
    allowFailure: true,
    timeoutMs: 15_000,
  });
  return Number(/ (\d+) received/.exec(r.stdout)?.[1] ?? 0);
}

async function txPackets(node: AgentNode): Promise<number> {
  const body = await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
  return (JSON.parse(body!) as { counters: Record<string, number> }).counters.tx_packets ?? -1;
}

async function kernelRoute(ns: Netns, subnet: string): Promise<string> {
  return (await ns.ip(['route', 'show', subnet])).stdout.trim();
}

if (canRunWith('vxlan DirectRouting across two segments', ['ip', 'ping'])) {
  test('DirectRouting: kernel routes on the same segment, the tunnel across the router, traffic both ways', async () => {
    const scope = new LabScope('h8-dr');
    try {
      const [router, a1ns, a2ns, b1ns] = [
        await scope.netns('r'),
        await scope.netns('a1'),
        await scope.netns('a2'),
        await scope.netns('b1'),
      ];
      await router.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await segment(scope, 'ulA', router, '192.0.2.1', [
        [a1ns, '192.0.2.11'],
        [a2ns, '192.0.2.12'],
      ]);
      await segment(scope, 'ulB', router, '198.51.100.1', [[b1ns, '198.51.100.11']]);
      const conf = writeNetConf(scope, {
        Network: '10.244.0.0/16',
        Backend: { Type: 'vxlan', DirectRouting: true, MTU: 1400 },
        EnableIPv6: false,
      });
      const a1 = await startAgentNode(scope, 'a1', a1ns, conf, '192.0.2.11');
      const a2 = await startAgentNode(scope, 'a2', a2ns, conf, '192.0.2.12');
      const b1 = await startAgentNode(scope, 'b1', b1ns, conf, '198.51.100.11');
      const nodes = [a1, a2, b1];
      for (const field of ['Backend.MTU']) {
        assert.match(
          a1.proc.log(),
          new RegExp(`"level":40[^\\n]*"field":"${field}"`),
          `the unimplemented ${field} is a warning at start`,
        );
      }
      for (const n of nodes) {
        const deadline = Date.now() + 30_000;
        while ((await statusRoutes(n)).length < 2 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 200));
        assert.is((await statusRoutes(n)).length, 2, `${n.name} knows both peers`);
      }
      assert.match(await kernelRoute(a1ns, a2.subnet), /via 192\.0\.2\.12 dev eth0/, 'a1 -> a2 natively');
      assert.match(await kernelRoute(a2ns, a1.subnet), /via 192\.0\.2\.11 dev eth0/, 'a2 -> a1 natively');
      for (const [ns, peer] of [
        [a1ns, b1],
        [a2ns, b1],
        [b1ns, a1],
        [b1ns, a2],
      ] as const) {
        assert.is(await kernelRoute(ns, peer.subnet), '', `no kernel route to ${peer.name}: the tunnel carries it`);
      }
      const viaTunnel = (await statusRoutes(a1)).find((r) => r.subnet === b1.subnet);
      assert.is(viaTunnel?.via, '198.51.100.11');
      assert.ok(viaTunnel?.vtepMac, 'the tunnel peer has a VTEP MAC');
      assert.not.ok((await statusRoutes(a1)).find((r) => r.subnet === a2.subnet)?.vtepMac, 'the direct peer has none');

      const pods = await Promise.all(nodes.map((n) => addPod(scope, n)));
      const [pa1, pa2, pb1] = pods as [(typeof pods)[0], (typeof pods)[0], (typeof pods)[0]];
      const before = await txPackets(a1);
      assert.is(await pings(pa1.ns, pa2.ip), 3, 'a1 pod -> a2 pod');
      assert.is(await pings(pa2.ns, pa1.ip), 3, 'a2 pod -> a1 pod');
      assert.is(await txPackets(a1), before, 'same-segment traffic never entered the tunnel');
      for (const [from, to, what] of [
        [pa1, pb1, 'a1->b1'],
        [pb1, pa1, 'b1->a1'],
        [pa2, pb1, 'a2->b1'],
        [pb1, pa2, 'b1->a2'],
      ] as const) {
        assert.is(await pings(from.ns, to.ip), 3, `${what} through the tunnel`);
      }
      assert.ok((await txPackets(a1)) >= before + 3, "cross-segment traffic went through a1's tunnel");
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
