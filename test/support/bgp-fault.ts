// Issue 16's BGP fault, shared by test/faults-bgp.test.ts and the soak: a lab whose agents run the native backend
// with --route-sync bgp (embedded store) and peer a BIRD 2 router (bird-peer.ts, graceful restart on) announcing
// 198.51.100.0/24, and the fault itself: BIRD restarted gracefully (`birdc graceful restart`, then `bird -R`)
// while a watcher looks at every node's kernel route to BIRD's subnet five times a second. Recovery is read from
// the agents' own /status (the session to BIRD Established again, BIRD's prefix received and none left stale:
// the restarted BIRD's End-of-RIB ended the stale period) instead of sleeping for a fixed time.
import type { LabNode } from '@weft/lab';
import { labUp, waitFor, type RunningLab } from 'weft/lab';
import { BIRD_IP, BIRD_SUBNET, BirdPeer } from './bird-peer.ts';
import type { AgentStatusJson } from './agent-lab.ts';
import { statusOf } from './faults.ts';

/** The part of /status's `bgp` entries (one per peer) read here. */
interface BgpPeerStatus {
  address: string;
  state: string;
  prefixesStale: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BgpLab {
  run: RunningLab;
  bird: BirdPeer;
}

/** The kernel's route to BIRD's subnet in `node`'s namespace (`ip -4 route show`), empty when there is none. */
export async function kernelRoute(node: LabNode): Promise<string> {
  return (await node.ns.ip(['-4', 'route', 'show', BIRD_SUBNET])).stdout.trim();
}

/**
 * Brings up `nodes` agents (native, BGP, embedded store, one pod each) and BIRD, and waits until every session to
 * BIRD is Established and every node's kernel routes BIRD's subnet via BIRD. Tears everything down on failure;
 * otherwise the caller ends it with bgpLabDown.
 */
export async function bgpLabUp(name: string, log: (m: string) => void, nodes = 2): Promise<BgpLab> {
  const run = await labUp(
    {
      name,
      nodes,
      pods: 1,
      backend: 'native',
      routeSync: 'bgp',
      store: 'embedded',
      persistent: false,
      agentArgs: ['--bgp-peer', `${BIRD_IP},64512`],
    },
    log,
  );
  let bird: BirdPeer | null = null;
  try {
    bird = await BirdPeer.start(run);
    const b = bird;
    await waitFor(async () => (await b.established()) === nodes, 60_000, 'BIRD sessions Established');
    for (const n of run.lab.nodes)
      await waitFor(
        async () => (await kernelRoute(n)).startsWith(`${BIRD_SUBNET} via ${BIRD_IP} dev eth0`),
        30_000,
        `${n.name} to route ${BIRD_SUBNET} via BIRD`,
      );
    log(`BIRD peered with ${nodes} agents; every node routes ${BIRD_SUBNET} via BIRD`);
    return { run, bird };
  } catch (e) {
    await bird?.stop();
    await run.lab.teardown();
    throw e;
  }
}

/** Stops BIRD (by its PID) and tears the lab down. */
export async function bgpLabDown(l: BgpLab): Promise<void> {
  try {
    await l.bird.stop();
  } finally {
    await l.run.lab.teardown();
  }
}

/**
 * What is not yet back after a BIRD restart, per node (empty when recovered): the agent's session to BIRD not
 * Established, BIRD's prefix not received, prefixes still stale, or /status not routing BIRD's subnet via BIRD.
 */
export async function bgpNotRecovered(run: RunningLab): Promise<string[]> {
  const out: string[] = [];
  for (const n of run.lab.nodes) {
    const s = (await statusOf(n)) as (AgentStatusJson & { bgp?: BgpPeerStatus[] }) | null;
    const peer = s?.bgp?.find((p) => p.address === BIRD_IP);
    if (!s || !peer) out.push(`${n.name}: no /status for its session to BIRD`);
    else if (peer.state !== 'Established') out.push(`${n.name}: session to BIRD ${peer.state}`);
    else if (peer.prefixesStale > 0) out.push(`${n.name}: ${peer.prefixesStale} prefixes from BIRD still stale`);
    else if (!s.routes.some((r) => r.subnet === BIRD_SUBNET && r.via === BIRD_IP))
      out.push(`${n.name}: /status does not route ${BIRD_SUBNET} via BIRD`);
  }
  return out;
}

export interface BirdRestartFigures {
  /** When BIRD had exited, and when it was started again (ms since the epoch). */
  downAt: number;
  upAt: number;
  /** When every BIRD session was Established again, and when every agent had recovered (bgpNotRecovered). */
  establishedAt: number;
  recoveredAt: number;
  /** Looks at the kernel routes (each covers every node), and the looks that found a node without the route. */
  looks: number;
  missing: string[];
  /** Why recovery did not complete in time (empty when it did). */
  notRecovered: string[];
}

/**
 * The fault: BIRD restarted gracefully, gone for `downMs`; resolves once every agent has recovered (or after
 * `recoverTimeoutMs`, listing what had not), watching the kernel routes from before the stop to the end.
 */
export async function birdGracefulRestart(
  l: BgpLab,
  downMs = 5000,
  recoverTimeoutMs = 60_000,
): Promise<BirdRestartFigures> {
  const { run, bird } = l;
  const nodes = run.lab.nodes;
  const t0 = Date.now();
  const missing: string[] = [];
  let looks = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      looks++;
      for (const n of nodes)
        if (!(await kernelRoute(n))) missing.push(`${n.name} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await sleep(200);
    }
  })();
  let figures: BirdRestartFigures;
  try {
    await bird.gracefulStop();
    const downAt = Date.now();
    await sleep(downMs);
    const upAt = Date.now();
    await bird.startBird(true);
    await waitFor(async () => (await bird.established()) === nodes.length, 60_000, 'sessions Established again');
    const establishedAt = Date.now();
    let notRecovered: string[] = [];
    await waitFor(
      async () => (notRecovered = await bgpNotRecovered(run)).length === 0,
      recoverTimeoutMs,
      'the agents to recover',
    ).catch(() => {});
    figures = { downAt, upAt, establishedAt, recoveredAt: Date.now(), looks: 0, missing, notRecovered };
  } finally {
    watching = false;
    await watcher;
  }
  figures.looks = looks;
  return figures;
}
