// Calico-style native routing with both families, on real namespaces: two `weft agent`s (native backend, --route-sync
// bgp, dual stack) in an iBGP mesh over IPv4 sessions that carry IPv6 unicast (as Calico peers), plus a BIRD 2 router
// (support/bird-dual.ts) with an IPv4 session per node that offers IPv4 only and an IPv6 session per node that offers
// IPv6 only. Checked: every session's negotiated families, the learned routes of each family as kernel routes via a
// next hop of their own family (and the agents' subnets in BIRD), pings and 50 MB checksummed per family between pods
// on different nodes, and the IPv4-only sessions staying up through several keepalive intervals with their routes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp, waitFor } from 'weft/lab';
import { BIRD4, BIRD6, BIRD_NET4, BIRD_NET6, DualStackBird } from './support/bird-dual.ts';
import { assertPingsBothWays, kernelRoute, transferChecked } from './support/dual-stack.ts';
import { mustStatus } from './support/agent-lab.ts';
import { routeVia } from './support/bgp-lab-checks.ts';
import { twoNodeLab } from './support/two-node-lab.ts';

const t0 = Date.now();
const say = (m: string) => console.log(`[dual-stack-bgp +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

interface Session {
  address: string;
  state: string;
  uptimeSeconds: number;
  families: string[];
  prefixesReceived: number;
}

async function sessions(node: LabNode): Promise<Map<string, Session>> {
  const s = (await mustStatus(node)) as unknown as { bgp?: Session[] };
  return new Map((s.bgp ?? []).map((p) => [p.address, p]));
}

if (canRunWith('dual-stack native BGP lab with BIRD', ['ip', 'ping', 'bird', 'birdc', '/usr/lib/cni/bridge'])) {
  test('native + BGP dual stack: IPv6 over IPv4 sessions and IPv6 sessions, BIRD IPv4-only sessions stay up', async () => {
    const run = await labUp(
      twoNodeLab({
        name: 'v6n-bgp',
        backend: 'native',
        routeSync: 'bgp',
        families: 'dual-stack',
        agentArgs: ['--bgp-peer', `${BIRD4},64512`, '--bgp-peer', `${BIRD6},64512`],
      }),
      say,
    );
    let bird: DualStackBird | null = null;
    try {
      const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
      bird = await DualStackBird.start(run);
      await waitFor(async () => (await bird!.established()).length === 4, 60_000, 'BIRD: 4 sessions Established');
      say('BIRD: both sessions with both nodes Established');
      for (const n of [n1, n2]) {
        const other = n === n1 ? n2 : n1;
        await waitFor(
          async () => routeVia(BIRD6).test(await kernelRoute(n, BIRD_NET6)),
          30_000,
          `${n.name}: ${BIRD_NET6} via BIRD`,
        );
        assert.match(
          await kernelRoute(n, BIRD_NET4),
          routeVia(BIRD4),
          `${n.name}: IPv4 route from the IPv4-only session`,
        );
        assert.match(
          await kernelRoute(n, other.subnet6!),
          routeVia(other.underlayIp6!),
          'mesh: IPv6 via IPv6 next hop',
        );
        assert.match(await kernelRoute(n, other.subnet!), routeVia(other.underlayIp), 'mesh: IPv4 via IPv4 next hop');
        const s = await sessions(n);
        assert.equal(s.get(BIRD4)?.families, ['ipv4'], 'the IPv4-only session negotiated IPv4 alone');
        assert.equal(s.get(BIRD6)?.families, ['ipv6'], 'the IPv6 session negotiated IPv6 alone');
        assert.equal(s.get(other.underlayIp)?.families, ['ipv4', 'ipv6'], 'the mesh session carries both');
        assert.match(await bird.routesFrom(`${n.name}v4`), new RegExp(n.subnet!.replace(/\./g, '\\.')));
        const v6 = await bird.routesFrom(`${n.name}v6`);
        assert.ok(v6.includes(n.subnet6!) && v6.includes(n.underlayIp6!), `BIRD has ${n.subnet6} via ${n.underlayIp6}`);
      }
      say('routes of both families in the kernels and in BIRD');
      const [p1, p2] = [n1.pods[0]!, n2.pods[0]!];
      await assertPingsBothWays(p1, p2, (to) => [to.ip, to.ip6!]);
      await transferChecked(p1, p2, p2.ip, 15201);
      await transferChecked(p2, p1, p1.ip6!, 15202);
      say('pings and 50 MB per family checked');
      // The IPv4-only sessions: still the same sessions (no reset) after more than four keepalive intervals.
      const before = await sessions(n1);
      await new Promise((r) => setTimeout(r, 13_000));
      for (const n of [n1, n2]) {
        const now = (await sessions(n)).get(BIRD4)!;
        assert.is(now.state, 'Established', `${n.name}: the IPv4-only session is up`);
        if (n === n1) assert.ok(now.uptimeSeconds >= before.get(BIRD4)!.uptimeSeconds + 12, 'and was never reset');
        assert.ok(now.prefixesReceived >= 1, 'routes still flow on it');
        assert.match(await kernelRoute(n, BIRD_NET4), routeVia(BIRD4));
      }
      assert.equal((await bird.established()).sort(), ['n1v4', 'n1v6', 'n2v4', 'n2v6']);
      const log = await bird.birdc(['show', 'protocols', 'all', 'n1v4']);
      assert.not.match(log, /Last error/, 'BIRD saw no error on the IPv4-only session');
    } finally {
      await bird?.stop();
      await run.lab.teardown();
    }
  });
}

test.run();
