// weft agents (native backend, --route-sync bgp, dual stack) peering with a real FRR bgpd (support/frr-router.ts)
// as their route reflector, without a node-to-node mesh: n1 over an IPv4 session that carries IPv6 unicast (as
// Calico peers), n2 over an IPv6 session that carries IPv4 unicast too (FRR activates IPv4 on every neighbour by
// default). Checked: both families negotiated on both sessions; each node's routes of both families reach the
// other through FRR as kernel routes via next hops of their own family; FRR's network reaches both nodes' kernels
// and FRR's kernel has both nodes' subnets; pods ping each other and into FRR's network over both families.
// Graceful restart: n2's agent killed (SIGKILL) and started again, then FRR's bgpd killed and started again, each
// under a bounded ping loop between the pods over both families; the lost pings are counted and must stay at a
// couple (without graceful restart the routes go for seconds: tens of pings).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode, type LabPod } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { FRR4, FRR6, FRR_HOST4, FRR_HOST6, FRR_NET4, FRR_NET6, type FrrRouter } from './support/frr-router.ts';
import { labUpWithFrr, withFrrLab } from './support/frr-lab.ts';
import { assertPingsBothWays, kernelRoute, pingAll } from './support/dual-stack.ts';
import { restartAgent } from './support/agent-lab.ts';
import { pingLoop, routeVia, sessionOf, waitKernelRoutes } from './support/bgp-lab-checks.ts';
import { twoNodeLab } from './support/two-node-lab.ts';

const t0 = Date.now();
const say = (m: string) => console.log(`[frr-dual-stack +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
/** Pings in one bounded loop (100 at 0.1 s: about 10 s). */
const LOOP = 100;
/** Lost pings allowed across a restart: a reordering or one slow reply, not an outage (one is ~10 lost per s). */
const MAX_LOST = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** n1 peers with FRR over IPv4, n2 over IPv6. */
const frrAddressFor = (n: LabNode) => (n.name === 'n1' ? FRR4 : FRR6);
const sessionAddress = (n: LabNode) => (n.name === 'n1' ? n.underlayIp : n.underlayIp6!);

/** Two dual-stack native BGP nodes without a mesh, FRR (a graceful-restart speaker) their route reflector. */
const startLab = () =>
  labUpWithFrr(
    twoNodeLab({
      name: 'fx-frr2',
      backend: 'native',
      routeSync: 'bgp',
      families: 'dual-stack',
      bgpMesh: false,
      nodeArgs: (n) => ['--route-reflector', frrAddressFor(n)],
    }),
    (lab) => ({
      neighbors: lab.nodes.map(sessionAddress),
      ipv6: true,
      ipv4OnIpv6Sessions: true,
      gracefulRestart: true,
    }),
    say,
  );

/** Both families' routes through FRR in every kernel, both families on each session. */
async function checkRoutes(frr: FrrRouter, n1: LabNode, n2: LabNode): Promise<void> {
  for (const n of [n1, n2]) {
    const other = n === n1 ? n2 : n1;
    await waitKernelRoutes(
      n,
      [
        [other.subnet!, other.underlayIp],
        [other.subnet6!, other.underlayIp6!],
        [FRR_NET4, FRR4],
        [FRR_NET6, FRR6],
      ],
      30_000,
    );
    const s = await sessionOf(n, frrAddressFor(n));
    assert.equal(s?.families, ['ipv4', 'ipv6'], `${n.name}: the session to FRR carries both families`);
    for (const [subnet, via] of [
      [n.subnet!, n.underlayIp],
      [n.subnet6!, n.underlayIp6!],
    ] as const)
      await waitFor(() => frr.kernelRouteVia(subnet, via), 20_000, `FRR kernel: ${subnet} via ${via}`);
  }
}

/** Pings from `from` to `to` over both families in loops while `fault` runs; asserts on the losses. */
async function lossAcross(what: string, from: LabPod, to: LabPod, fault: () => Promise<void>): Promise<void> {
  const loss = Promise.all([pingLoop(from, to.ip, LOOP), pingLoop(from, to.ip6!, LOOP)]);
  await sleep(1500);
  await fault();
  const [l4, l6] = await loss;
  say(`${what}: lost ${l4.lost}/${l4.sent} IPv4, ${l6.lost}/${l6.sent} IPv6 pings`);
  assert.ok(l4.lost <= MAX_LOST && l6.lost <= MAX_LOST, `pings lost across ${what}: ${l4.lost}, ${l6.lost}`);
}

if (
  canRunWith('weft agents with FRR, dual stack', [
    'ip',
    'ping',
    'vtysh',
    '/usr/lib/frr/bgpd',
    '/usr/lib/frr/zebra',
    '/usr/lib/cni/bridge',
  ])
) {
  test('native + BGP dual stack through FRR: both session families, kernel routes, pings, graceful restarts', async () => {
    const lab = await startLab();
    const { run, frr } = lab;
    const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
    const neighbors = [n1, n2].map(sessionAddress);
    const bothUp = async () => (await frr.established(neighbors)).length === 2;
    await withFrrLab(lab, async () => {
      await waitFor(bothUp, 60_000, 'FRR: both Established');
      await checkRoutes(frr, n1, n2);
      say('routes of both families through FRR in every kernel');
      const [p1, p2] = [n1.pods[0]!, n2.pods[0]!];
      await assertPingsBothWays(p1, p2, (to) => [to.ip, to.ip6!, FRR_HOST4, FRR_HOST6]);
      say('pods ping each other and FRR over both families');

      // n2's agent killed and started again: FRR (a GR helper by default) keeps n2's routes meanwhile.
      await lossAcross('the agent restart', p1, p2, async () => {
        const killed = run.agents.get(n2.name)!;
        killed.child.kill('SIGKILL');
        await killed.exited;
        await restartAgent(run, n2, 'agent-n2-restarted');
      });
      await waitFor(bothUp, 30_000, 'n2 back with FRR');
      const gr = (await frr.neighbor(sessionAddress(n2)))?.gracefulRestartInfo;
      assert.is(gr?.ipv6Unicast?.endOfRibStatus?.endOfRibRecv, true, "FRR got the restarted agent's End-of-RIB");

      // FRR's bgpd killed and started again (GR on, forwarding preserved): the agents keep its routes as stale.
      await lossAcross("FRR's restart", p2, p1, async () => {
        await frr.killBgpd();
        await waitFor(async () => (await sessionOf(n1, FRR4))?.state !== 'Established', 10_000, 'n1 sees FRR gone');
        assert.match(await kernelRoute(n1, n2.subnet!), routeVia(n2.underlayIp), 'n1 kept the stale route to n2');
        await frr.startBgpd();
      });
      await waitFor(bothUp, 60_000, 'FRR re-established');
      await checkRoutes(frr, n1, n2);
      for (const ip of [p2.ip, p2.ip6!, FRR_HOST6]) assert.ok(await pingAll(p1, ip), `after: ${p1.name} -> ${ip}`);
    });
  });
}

test.run();
