// The live part of `npm run docs`: one two-node lab per lesson, its agents' state, the kernel routes, one traced
// ping (with the agents' pcapng captures, or a tcpdump on eth0 for native), and for BGP a capture of sessions
// coming up. Each lab is torn down before this returns, also when a step fails.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  labUp,
  describeLab,
  httpGetIn,
  agentArgs,
  weftArgv,
  waitFor,
  METRICS_PORT,
  type BackendType,
  type LabOptions,
  type RouteSync,
  type RunningLab,
} from 'weft/lab';
import { Explainer, readCapture, type ExplainedPacket } from '@weft/explain';
import type { Netns } from '@weft/lab';
import { trace, type TraceLab, type TraceResult } from 'weft/trace';
import { NamespaceCapture } from 'weft/trace-capture';

export interface AgentStatus {
  node: string;
  mtu: number;
  lease: { subnet: string; publicIp: string; vtepMac?: string } | null;
  routes: { subnet: string; via: string; vtepMac?: string }[];
  counters: Record<string, number>;
  bgp?: { address: string; as: number; state: string; prefixesReceived: number; prefixesSent: number }[];
}

export interface LessonCapture {
  lab: TraceLab;
  statuses: AgentStatus[];
  /** `ip route` in each node namespace, by node name. */
  kernelRoutes: Record<string, string>;
  trace: TraceResult;
  /** BGP messages seen on n1's eth0 while n2's agent restarted (bgp labs only). */
  bgp?: ExplainedPacket[];
}

export async function agentStatus(ns: Netns): Promise<AgentStatus> {
  const body = await httpGetIn(ns, `http://127.0.0.1:${METRICS_PORT}/status`);
  if (!body) throw new Error(`no /status from the agent in ${ns.name}`);
  return JSON.parse(body) as AgentStatus;
}

/**
 * Runs `record` on a lab brought up with `options` (its agents capturing into `pcapDir`, except native), with a fresh
 * scratch directory `dir` holding `pcapDir`; then tears the lab down and removes its files and `dir`, also on failure.
 */
export async function withLessonLab<T>(
  options: LabOptions,
  log: (m: string) => void,
  record: (run: RunningLab, dir: string, pcapDir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `weft-${options.name}-`));
  const pcapDir = join(dir, 'pcap');
  mkdirSync(pcapDir);
  let run: RunningLab | undefined;
  try {
    run = await labUp({ ...options, pcapDir: options.backend === 'native' ? undefined : pcapDir }, log);
    return await record(run, dir, pcapDir);
  } finally {
    await run?.lab.teardown();
    if (run) rmSync(run.lab.scope.dir, { recursive: true, force: true }); // agent logs and leases of a finished lab
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Brings a lab up, records what the lesson shows, tears it down. */
export async function captureLesson(
  name: string,
  backend: BackendType,
  routeSync: RouteSync,
  log: (m: string) => void,
): Promise<LessonCapture> {
  const options: LabOptions = { name, nodes: 2, pods: 1, backend, routeSync, store: 'embedded' };
  return withLessonLab(options, log, async (run, dir, pcapDir) => {
    const lab = describeLab(run) as TraceLab;
    const bgp = routeSync === 'bgp' ? await captureBgp(run, dir, log) : undefined;
    const kernelRoutes: Record<string, string> = {};
    for (const n of run.lab.nodes) kernelRoutes[n.name] = (await n.ns.ip(['route'])).stdout.trim();
    log(`${name}: tracing a ping n1p1 -> n2p1`);
    const traced = await trace(lab, 'n1p1', 'n2p1', { pcapDir, underlayDir: dir });
    if (!traced.replied) throw new Error(`${name}: the traced ping got no reply:\n${traced.lines.join('\n')}`);
    const statuses = await Promise.all(run.lab.nodes.map((n) => agentStatus(n.ns)));
    return { lab, statuses, kernelRoutes, trace: traced, bgp };
  });
}

/**
 * Sessions are up before labUp returns, so to see OPEN, KEEPALIVE and UPDATE the lesson restarts n2's agent while
 * tcpdump listens on n1's eth0: n2 stops (NOTIFICATION Cease), comes back, and the session is set up again.
 */
async function captureBgp(run: RunningLab, dir: string, log: (m: string) => void): Promise<ExplainedPacket[]> {
  const [n1, n2] = run.lab.nodes as [RunningLab['lab']['nodes'][number], RunningLab['lab']['nodes'][number]];
  const cap = new NamespaceCapture(n1.ns.name, 'eth0', 'tcp port 179', join(dir, 'bgp.pcap'));
  try {
    await cap.ready;
    log('bgp: restarting the agent on n2 while tcpdump listens on n1 eth0');
    await run.agents.get(n2.name)!.stop();
    run.agents.set(n2.name, run.lab.scope.spawn(`agent-${n2.name}-again`, n2.ns, weftArgv(...agentArgs(run, n2))));
    const established = async (ns: Netns, peer: string) =>
      (await agentStatus(ns).catch(() => null))?.bgp?.find((s) => s.address === peer)?.state === 'Established';
    await waitFor(
      async () => (await established(n1.ns, n2.underlayIp)) && (await established(n2.ns, n1.underlayIp)),
      40_000,
      'the n1-n2 BGP session to come back',
    );
    await waitFor(
      async () => ((await agentStatus(n1.ns)).bgp?.[0]?.prefixesReceived ?? 0) > 0,
      10_000,
      'n1 to receive n2 prefix again',
    );
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await cap.stop();
  }
  const ex = new Explainer();
  return readCapture(readFileSync(cap.file))
    .map((p, i) => ex.explain(p.data, { ...p, number: i + 1 }))
    .filter((p) => p.some((l) => l.name === 'bgp'));
}
