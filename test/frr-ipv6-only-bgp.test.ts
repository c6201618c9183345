// IPv6-only weft nodes with BGP (native backend, EnableIPv4 false), against a real FRR bgpd as their route
// reflector over IPv6 sessions, without a node-to-node mesh. FRR stays at its defaults, so it offers IPv4 unicast
// too; the agents offer IPv6 unicast alone and the sessions carry only that. There is no IPv4 address to take a
// router ID from: each agent takes the SHA-256 hash of its node name (calico/node's CALICO_ROUTER_ID=hash), which
// FRR sees as the neighbour's router ID. Checked: each node's IPv6 subnet reaches the other through FRR as a kernel
// route via its IPv6 address, FRR's IPv6 network reaches both, FRR installs both subnets, pods ping each other and
// FRR over IPv6, and no IPv4 route is learned or advertised.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { FRR6, FRR_HOST6, FRR_NET4, FRR_NET6 } from './support/frr-router.ts';
import { labUpWithFrr, withFrrLab } from './support/frr-lab.ts';
import { assertPingsBothWays, kernelRoute } from './support/dual-stack.ts';
import { sessionOf, waitKernelRoutes } from './support/bgp-lab-checks.ts';
import { twoNodeLab } from './support/two-node-lab.ts';

const t0 = Date.now();
const say = (m: string) => console.log(`[frr-ipv6-only +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

/** The router ID an IPv6-only node derives: SHA-256 of its name, first 4 bytes, a first octet above 223 less 32. */
function expectedRouterId(nodeName: string): string {
  const h = createHash('sha256').update(nodeName).digest();
  return [h[0]! > 223 ? h[0]! - 32 : h[0]!, h[1], h[2], h[3]].join('.');
}

/** Two IPv6-only native BGP nodes without a mesh, FRR (at its defaults, IPv4 offered too) their route reflector. */
const startLab = () =>
  labUpWithFrr(
    twoNodeLab({
      name: 'fx-frr6',
      backend: 'native',
      routeSync: 'bgp',
      families: 'ipv6-only',
      bgpMesh: false,
      agentArgs: ['--route-reflector', FRR6],
    }),
    (lab) => ({ neighbors: lab.nodes.map((n) => n.underlayIp6!), ipv6: true, ipv4OnIpv6Sessions: true }),
    say,
  );

if (canRunWith('IPv6-only weft agents with FRR', ['ip', 'ping', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/cni/bridge'])) {
  test('IPv6-only native + BGP through FRR: hash router IDs, IPv6 unicast alone, kernel routes, pings', async () => {
    const lab = await startLab();
    const { run, frr } = lab;
    const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
    const neighbors = [n1.underlayIp6!, n2.underlayIp6!];
    await withFrrLab(lab, async () => {
      await waitFor(async () => (await frr.established(neighbors)).length === 2, 60_000, 'FRR: both Established');
      for (const n of [n1, n2]) {
        const other = n === n1 ? n2 : n1;
        await waitKernelRoutes(
          n,
          [
            [other.subnet6!, other.underlayIp6!],
            [FRR_NET6, FRR6],
          ],
          30_000,
        );
        const nb = (await frr.neighbor(n.underlayIp6!)) as { remoteRouterId?: string } | null;
        assert.is(nb?.remoteRouterId, expectedRouterId(n.name), `${n.name}: router ID from the node name's hash`);
        assert.match(run.agents.get(n.name)!.log(), /"routerIdFrom":"node-name-hash"/, 'the log says where from');
        assert.equal((await sessionOf(n, FRR6))?.families, ['ipv6'], 'IPv6 unicast alone, though FRR offers IPv4');
        assert.is(await kernelRoute(n, FRR_NET4), '', 'no IPv4 route learned');
        await waitFor(
          () => frr.kernelRouteVia(n.subnet6!, n.underlayIp6!),
          20_000,
          `FRR kernel: ${n.subnet6} via ${n.underlayIp6}`,
        );
      }
      const v4 = await frr.vtysh('bgpd', 'show bgp ipv4 unicast json');
      assert.not.match(v4, /10\.244\.|0\.0\.0\.0\/0/, 'FRR has no IPv4 route from the agents');
      say('IPv6 routes through FRR in every kernel');
      await assertPingsBothWays(n1.pods[0]!, n2.pods[0]!, (to) => [to.ip6!, FRR_HOST6]);
      say('pods ping each other and FRR over IPv6');
    });
  });
}

test.run();
