// Issue 16's BGP fault: two `weft agent`s (native backend, --route-sync bgp) peer with a BIRD 2 router on their
// underlay (test/support/bird-peer.ts) that announces 198.51.100.0/24 with graceful restart on. BIRD is
// restarted gracefully (`birdc graceful restart`, then `bird -R`) while both nodes' pods ping the host behind it:
// the agents keep its route (stale, then refreshed) so forwarding continues throughout. Checked: the kernel route
// on each node is there at every look (five a second), the pings lose (almost) nothing, and the sessions come
// back Established with nothing left stale. Figures are printed. Lab and fault: support/bgp-fault.ts (the soak
// runs the same fault).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { BIRD_IP, BIRD_SUBNET } from './support/bird-peer.ts';
import { bgpLabDown, bgpLabUp, birdGracefulRestart, type BgpLab } from './support/bgp-fault.ts';
import { runAgentsAsInstalled } from './support/fault-inject.ts';
import { PingProbe, statusOf } from './support/faults.ts';

const started = Date.now();
const say = (m: string) => console.log(`[faults-bgp +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (canRunWith('BGP graceful restart with BIRD', ['ip', 'ping', 'bird', 'birdc', 'curl'])) {
  test('BIRD restarted gracefully: the agents keep forwarding to its routes throughout', async () => {
    runAgentsAsInstalled(); // compiled dist/, plain Node, as faults-lease: agents start in seconds, not tens
    const l: BgpLab = await bgpLabUp('ft-bgp', say);
    const { run, bird } = l;
    try {
      const nodes = run.lab.nodes;
      const probes = nodes.map((n) =>
        PingProbe.start(run.lab.scope, n.pods[0]!, bird.host.ip, `ping-${n.name}-bird`, 300),
      );
      await waitFor(() => probes.every((p) => p.replies().length > 5), 20_000, 'pings to BIRD`s host');
      const t0 = Date.now();
      const f = await birdGracefulRestart(l);
      const figures = probes.map((p) => p.window(t0 - 1000, Date.now()));
      say(
        `BIRD gone ${sec(f.upAt - f.downAt)} (stopped after ${sec(f.downAt - t0)}), Established again after ` +
          `${sec(f.establishedAt - t0)}, agents recovered (nothing stale) after ${sec(f.recoveredAt - t0)}; ` +
          `kernel route looked at ${f.looks} times per node, missing ${f.missing.length}`,
      );
      nodes.forEach((n, i) =>
        say(
          `ping ${n.name}p1 -> ${bird.host.ip}: lost ${figures[i]!.lost}/${figures[i]!.sent}, longest gap ${sec(figures[i]!.stallMs)}`,
        ),
      );
      assert.equal(f.missing, [], 'the route to BIRD`s subnet never left a node');
      assert.equal(f.notRecovered, [], 'every agent recovered: session Established, nothing stale');
      for (const w of figures) assert.ok(w.sent > 50 && w.lost <= 3, `forwarding continued (${w.lost}/${w.sent} lost)`);
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
      await bgpLabDown(l);
    }
  });
}

test.run();
