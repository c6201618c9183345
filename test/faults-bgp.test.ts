// Issue 16's BGP fault: two `weft agent`s (native backend, --route-sync bgp) peer with a BIRD 2 router on their
// underlay (test/support/bird-peer.ts) that announces 198.51.100.0/24 with graceful restart on. BIRD is
// restarted gracefully (`birdc graceful restart`, then `bird -R`) while both nodes' pods ping the host behind it:
// the agents keep its route (stale, then refreshed) so forwarding continues throughout. Checked: the kernel route
// on each node is there at every look (five a second), the pings lose (almost) nothing, and the sessions come
// back Established. Figures are printed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp, waitFor } from 'weft/lab';
import { BIRD_IP, BIRD_SUBNET, BirdPeer } from './support/bird-peer.ts';
import { PingProbe, statusOf } from './support/faults.ts';

const started = Date.now();
const say = (m: string) => console.log(`[faults-bgp +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function kernelRoute(node: LabNode): Promise<string> {
  return (await node.ns.ip(['-4', 'route', 'show', BIRD_SUBNET])).stdout.trim();
}

if (canRunWith('BGP graceful restart with BIRD', ['ip', 'ping', 'bird', 'birdc', 'curl'])) {
  test('BIRD restarted gracefully: the agents keep forwarding to its routes throughout', async () => {
    const run = await labUp(
      {
        name: 'ft-bgp',
        nodes: 2,
        pods: 1,
        backend: 'native',
        routeSync: 'bgp',
        store: 'embedded',
        persistent: false,
        agentArgs: ['--bgp-peer', `${BIRD_IP},64512`],
      },
      say,
    );
    let bird: BirdPeer | null = null;
    try {
      bird = await BirdPeer.start(run);
      const nodes = run.lab.nodes;
      await waitFor(async () => (await bird!.established()) === nodes.length, 60_000, 'BIRD sessions Established');
      for (const n of nodes)
        await waitFor(
          async () => (await kernelRoute(n)).startsWith(`${BIRD_SUBNET} via ${BIRD_IP} dev eth0`),
          30_000,
          `${n.name} to route ${BIRD_SUBNET} via BIRD`,
        );
      say('BIRD peered with both agents; both route its subnet');
      const probes = nodes.map((n) =>
        PingProbe.start(run.lab.scope, n.pods[0]!, bird!.host.ip, `ping-${n.name}-bird`, 300),
      );
      await waitFor(() => probes.every((p) => p.replies().length > 5), 20_000, 'pings to BIRD`s host');

      // Look at the kernel routes five times a second while BIRD restarts.
      const missing: string[] = [];
      let looks = 0;
      let watching = true;
      const t0 = Date.now();
      const watcher = (async () => {
        while (watching) {
          looks++;
          for (const n of nodes) if (!(await kernelRoute(n))) missing.push(`${n.name} at ${sec(Date.now() - t0)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      await bird.gracefulStop();
      const down = Date.now();
      await new Promise((r) => setTimeout(r, 5000));
      await bird.startBird(true);
      await waitFor(async () => (await bird!.established()) === nodes.length, 60_000, 'sessions Established again');
      const back = Date.now();
      // End-of-RIB from the restarted BIRD ends the stale period; give it time, still watching.
      await new Promise((r) => setTimeout(r, 5000));
      watching = false;
      await watcher;
      const figures = probes.map((p) => p.window(t0 - 1000, Date.now()));
      say(
        `BIRD gone ${sec(back - down)} (stopped after ${sec(down - t0)}), Established again after ${sec(back - t0)}; ` +
          `kernel route looked at ${looks} times per node, missing ${missing.length}`,
      );
      nodes.forEach((n, i) =>
        say(
          `ping ${n.name}p1 -> ${bird!.host.ip}: lost ${figures[i]!.lost}/${figures[i]!.sent}, longest gap ${sec(figures[i]!.stallMs)}`,
        ),
      );
      assert.equal(missing, [], 'the route to BIRD`s subnet never left a node');
      for (const f of figures) assert.ok(f.sent > 50 && f.lost <= 3, `forwarding continued (${f.lost}/${f.sent} lost)`);
      for (const n of nodes) {
        const s = await statusOf(n);
        assert.ok(
          s?.routes.some((r) => r.subnet === BIRD_SUBNET && r.via === BIRD_IP),
          `${n.name} still routes ${BIRD_SUBNET} via BIRD after the restart`,
        );
      }
    } catch (e) {
      for (const [name, p] of run.agents) console.log(`--- agent ${name} log tail:\n${p.log().slice(-2500)}`);
      throw e;
    } finally {
      await bird?.stop();
      await run.lab.teardown();
    }
  });
}

test.run();
