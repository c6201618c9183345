// `npm run soak -- [--minutes N] [--quiet-seconds S] [--name LAB]`: two labs side by side, brought up together,
// under traffic throughout: a three-node vxlan lab on a real etcd (10 s lease TTL) with pings in a ring between
// the pods and one TCP stream, and a two-node BGP lab (native, --route-sync bgp, `LAB-b`) peering a BIRD 2
// router with graceful restart on (bgp-fault.ts), its pods pinging the host behind BIRD. Issue 16's faults are
// injected in turn until the time is up: SIGKILL of an agent, BIRD restarted gracefully, etcd stopped past the
// renew margin, etcd restored from a snapshot, a node gone past its lease TTL (the others must drop its route),
// etcd wiped. After each it waits (bounded) for the lab it hit to be consistent again (labConsistency; for BGP,
// every agent's session back with nothing stale; for both, every node's routes, rules and links as at the start,
// none twice: soak-checks.ts) and prints one table row: packets lost in that lab, longest stall, time to recover,
// what the fault's own checks measured, consistent or what is not. Before each fault, whatever a failed one left
// dead is started again (noted under the table). Every 5 s it samples each agent's RSS and CPU (both labs; BGP
// agents as bgp-nN); a second table shows them over time and says whether memory stayed flat. Exit status 1 when
// anything was inconsistent. Fault code and probes: fault-inject.ts, bgp-fault.ts and faults.ts.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LabNode, LabPod } from '@weft/lab';
import { labUp, METRICS_PORT, type RunningLab } from 'weft/lab';
import {
  etcdOutage,
  etcdSnapshot,
  etcdWipe,
  etcdWipeAndRestore,
  killAndRestartAgent,
  nodeGonePastTtl,
  runAgentsAsInstalled,
  waitConsistent,
} from './fault-inject.ts';
import { PingProbe, StreamProbe, SubnetGuard, procUsage, subnetOf } from './faults.ts';
import { usageTable, type UsageSample } from './soak-usage.ts';
import { bgpLabDown, bgpLabUp, birdGracefulRestart, type BgpLab } from './bgp-fault.ts';
import { NetBaseline, repairLabs, routeDropped } from './soak-checks.ts';
import { faultSummary, faultTable, rowText, type SoakRow } from './soak-table.ts';

export const SOAK_TTL_S = 10;

export interface SoakResult {
  rows: SoakRow[];
  usage: UsageSample[];
  guardProblems: string[];
  /** What was started again before a fault because an earlier one left it dead. */
  repairs: string[];
  /** Why faults stopped before the time was up (the labs could not be repaired), or null. */
  stoppedEarly: string | null;
  table: string;
}

interface Ctx {
  run: RunningLab;
  bgp: BgpLab;
  snapshot: string;
  subnets: Map<string, string>;
  counter: number;
  baseline: NetBaseline;
}

/**
 * A lease-lab fault injects itself and returns notes for the row; the BGP lab's one fault is oneBgpFault
 * (second, so a 1-minute soak has it).
 */
type Fault =
  | { name: string; inject: (c: Ctx, start: number) => Promise<string[]> }
  | { name: typeof BIRD_FAULT; inject?: undefined };

const BIRD_FAULT = 'BIRD graceful restart';
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const FAULTS: Fault[] = [
  {
    name: 'kill -9 agent n2',
    inject: async (c) => {
      await killAndRestartAgent(c.run, c.run.lab.node('n2'), `agent-n2-${c.counter}`);
      return [];
    },
  },
  { name: BIRD_FAULT },
  {
    name: 'etcd stopped 7.5 s',
    inject: async (c) => {
      await etcdOutage(c.run, SOAK_TTL_S * 750, `etcd-${c.counter}`);
      return [`renew margin ${SOAK_TTL_S / 2} s`];
    },
  },
  {
    name: 'etcd restored from snapshot',
    inject: async (c) => {
      await etcdWipeAndRestore(c.run, c.snapshot, `etcd-${c.counter}`);
      return [];
    },
  },
  {
    name: 'n3 gone past its TTL',
    inject: async (c, start) => {
      const n3 = c.run.lab.node('n3');
      const subnet = c.subnets.get('n3')!;
      const others = c.run.lab.nodes.filter((n) => n !== n3);
      let dropped = 0;
      const label = `agent-n3-${c.counter}`;
      const expired = await nodeGonePastTtl(c.run, n3, subnet, SOAK_TTL_S * 4000, label, async () => {
        dropped = await routeDropped(others, subnet, start);
      });
      return [
        `key expired ${sec(expired)} after the kill`,
        `n1, n2 dropped its route ${sec(dropped)} after it`,
        'pings to and from n3 go unanswered while it is away',
      ];
    },
  },
  {
    name: 'etcd wiped (config only)',
    inject: async (c) => {
      await etcdWipe(c.run, `etcd-${c.counter}`);
      return [];
    },
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const firstLine = (e: unknown) => (e as Error).message.split('\n')[0]!;
/** The problem lines under the first line of waitConsistent's error. */
const problemLines = (e: unknown) =>
  (e as Error).message
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);

/** Runs the soak on lab `name` for `minutes` (faults keep starting until then; the last one is finished). */
export async function runSoak(opts: {
  name: string;
  minutes: number;
  quietSeconds?: number;
  log?: (m: string) => void;
}): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const quietMs = (opts.quietSeconds ?? 10) * 1000;
  const { run, bgp: b } = await labsUp(opts.name, log);
  const usage: UsageSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let guard: SubnetGuard | undefined;
  try {
    const scope = run.lab.scope;
    const budgetS = opts.minutes * 60 + 900;
    const pods = run.lab.nodes.map((n) => n.pods[0]!) as [LabPod, LabPod, LabPod];
    const pings = pods.map((p, i) => PingProbe.start(scope, p, pods[(i + 1) % 3]!.ip, `ping-${i + 1}`, budgetS));
    const stream = await StreamProbe.start(scope, pods[0], pods[1], 5201, 'stream', budgetS);
    const bgpPings = b.run.lab.nodes.map((n) =>
      PingProbe.start(b.run.lab.scope, n.pods[0]!, b.bird.host.ip, `ping-${n.name}-bird`, budgetS),
    );
    const baseline = await NetBaseline.take([...run.lab.nodes, ...b.run.lab.nodes]);
    const snapshot = join(scope.dir, 'etcd.snapshot');
    const ctx: Ctx = { run, bgp: b, snapshot, subnets: new Map(), counter: 0, baseline };
    for (const n of run.lab.nodes) ctx.subnets.set(n.name, subnetOf(run, n)!);
    await etcdSnapshot(run, ctx.snapshot);
    guard = new SubnetGuard(run);
    const t0 = Date.now();
    let sampling: Promise<unknown> = Promise.resolve();
    const sample = () => {
      sampling = Promise.all([sampleUsage(run, '', t0, usage), sampleUsage(b.run, 'bgp-', t0, usage)]);
    };
    sample();
    sampler = setInterval(() => void sampling.then(sample), 5000);
    const endAt = t0 + opts.minutes * 60_000;
    await sleep(quietMs);
    const probes = { pings, stream, bgpPings };
    const { rows, repairs, stoppedEarly } = await faultsUntil(ctx, endAt, quietMs, t0, probes, log);
    clearInterval(sampler);
    await sampling;
    sample();
    await sampling;
    const guardProblems = guard.stop();
    const table = `${faultTable(rows)}\n\n${faultSummary(rows)}\n\n${usageTable(usage)}`;
    return { rows, usage, guardProblems, repairs, stoppedEarly, table };
  } finally {
    clearInterval(sampler);
    guard?.stop();
    await Promise.all([run.lab.teardown(), bgpLabDown(b)]);
  }
}

interface Probes {
  pings: PingProbe[];
  stream: StreamProbe;
  bgpPings: PingProbe[];
}

/** Injects FAULTS in turn until `endAt`, repairing the labs before each; the rows, repairs and an early stop. */
async function faultsUntil(
  ctx: Ctx,
  endAt: number,
  quietMs: number,
  t0: number,
  probes: Probes,
  log: (m: string) => void,
): Promise<Pick<SoakResult, 'rows' | 'repairs' | 'stoppedEarly'>> {
  const rows: SoakRow[] = [];
  const repairs: string[] = [];
  while (Date.now() < endAt) {
    const tag = String(ctx.counter + 1);
    try {
      const fixed = await repairLabs(ctx.run, ctx.bgp, tag);
      if (fixed.length) repairs.push(`before fault ${tag}: ${fixed.join(', ')}`);
      if (fixed.length) log(`repaired before fault ${tag}: ${fixed.join(', ')}`);
    } catch (e) {
      const stoppedEarly = `the labs could not be repaired before fault ${tag}: ${firstLine(e)}`;
      log(stoppedEarly);
      return { rows, repairs, stoppedEarly };
    }
    const fault = FAULTS[ctx.counter % FAULTS.length]!;
    ctx.counter++;
    log(`fault ${ctx.counter}: ${fault.name}`);
    const row = fault.inject
      ? await oneFault(ctx, fault.name, fault.inject, t0, probes.pings, probes.stream)
      : await oneBgpFault(ctx, t0, probes.bgpPings);
    rows.push(row);
    log(`fault ${ctx.counter}: ${rowText(row)}`);
    if (Date.now() < endAt) await sleep(quietMs); // none after the last fault
  }
  return { rows, repairs, stoppedEarly: null };
}

/** The lease lab and the BGP lab, brought up at the same time; neither is left behind when one fails. */
async function labsUp(name: string, log: (m: string) => void): Promise<{ run: RunningLab; bgp: BgpLab }> {
  const [lease, bgp] = await Promise.allSettled([
    labUp(
      {
        name,
        nodes: 3,
        pods: 1,
        backend: 'vxlan',
        routeSync: 'lease',
        store: 'etcd',
        persistent: false,
        agentArgs: ['--subnet-lease-ttl', String(SOAK_TTL_S)],
      },
      (m) => log(`lease lab: ${m}`),
    ),
    bgpLabUp(`${name}-b`, (m) => log(`bgp lab: ${m}`)),
  ]);
  if (lease.status === 'fulfilled' && bgp.status === 'fulfilled') return { run: lease.value, bgp: bgp.value };
  if (lease.status === 'fulfilled') await lease.value.lab.teardown();
  if (bgp.status === 'fulfilled') await bgpLabDown(bgp.value);
  throw lease.status === 'rejected' ? lease.reason : (bgp as PromiseRejectedResult).reason;
}

/** BIRD restarted gracefully in the BGP lab: its pings, the kernel-route looks, recovery after BIRD is back. */
async function oneBgpFault(ctx: Ctx, t0: number, pings: PingProbe[]): Promise<SoakRow> {
  const start = Date.now();
  const problems: string[] = [];
  const row = { fault: BIRD_FAULT, at: (start - t0) / 1000, streamStallS: null, notes: [], problems };
  try {
    const f = await birdGracefulRestart(ctx.bgp);
    if (f.missing.length) problems.push(`kernel route to BIRD's subnet missing: ${f.missing.slice(0, 4).join(', ')}`);
    problems.push(...f.notRecovered);
    await sleep(1000);
    const windows = pings.map((p) => p.window(start - 1000, Date.now()));
    problems.push(...(await ctx.baseline.check(ctx.bgp.run.lab.nodes)));
    return {
      ...row,
      lastedS: (f.upAt - start) / 1000,
      recoverS: f.notRecovered.length ? null : (f.recoveredAt - f.upAt) / 1000,
      pingLost: windows.reduce((s, w) => s + w.lost, 0),
      pingSent: windows.reduce((s, w) => s + w.sent, 0),
      longestGapS: Math.max(...windows.map((w) => w.stallMs)) / 1000,
      routeLooks: { looks: f.looks * ctx.bgp.run.lab.nodes.length, missing: f.missing.length },
    };
  } catch (e) {
    problems.push(`fault did not complete: ${firstLine(e)}`);
    return { ...row, lastedS: (Date.now() - start) / 1000, recoverS: null, pingLost: 0, pingSent: 0, longestGapS: 0 };
  }
}

async function oneFault(
  ctx: Ctx,
  name: string,
  inject: (c: Ctx, start: number) => Promise<string[]>,
  t0: number,
  pings: PingProbe[],
  stream: StreamProbe,
): Promise<SoakRow> {
  const start = Date.now();
  const problems: string[] = [];
  let notes: string[] = [];
  await inject(ctx, start).then(
    (n) => (notes = n),
    (e) => problems.push(`fault did not complete: ${firstLine(e)}`),
  );
  const end = Date.now();
  if (!problems.length) await waitConsistent(ctx.run, 60_000).catch((e) => problems.push(...problemLines(e)));
  // Traffic counts only once every ping flows again (bounded): the window then covers the whole outage.
  const deadline = Date.now() + 30_000;
  while (pings.some((p) => p.lastReplyAt() < end) && Date.now() < deadline) await sleep(200);
  if (pings.some((p) => p.lastReplyAt() < end)) problems.push('some pings still unanswered 30 s after the fault');
  const recovered = Date.now();
  await sleep(1000);
  const windows = pings.map((p) => p.window(start - 1000, Date.now()));
  // When traffic came back, if it stopped for longer than a hiccup of a loaded machine (one ping's 1 s timeout).
  const longestGapMs = Math.max(...windows.map((w) => w.stallMs));
  const resumed = Math.max(...pings.map((p) => p.resumedAfter(start) ?? Number.POSITIVE_INFINITY));
  if (longestGapMs < 1000) notes.push('pings never stopped for 1 s');
  else if (Number.isFinite(resumed)) notes.push(`pings resumed ${sec(resumed)} after it began`);
  const recoverS = problems.length ? null : (recovered - end) / 1000;
  if (!problems.length) problems.push(...(await ctx.baseline.check(ctx.run.lab.nodes)));
  return {
    fault: name,
    at: (start - t0) / 1000,
    lastedS: (end - start) / 1000,
    recoverS,
    pingLost: windows.reduce((s, w) => s + w.lost, 0),
    pingSent: windows.reduce((s, w) => s + w.sent, 0),
    longestGapS: longestGapMs / 1000,
    streamStallS: stream.window(start - 1000, Date.now()).stallMs / 1000,
    notes,
    problems,
  };
}

/** Each running agent's RSS and CPU time (/proc), and its JS heap in use (/metrics, when it answers). */
async function sampleUsage(run: RunningLab, prefix: string, t0: number, out: UsageSample[]): Promise<void> {
  const url = `http://127.0.0.1:${METRICS_PORT}/metrics`;
  const one = async (node: LabNode) => {
    const proc = run.agents.get(node.name);
    const u = proc?.running ? procUsage(proc.pid) : null;
    if (!u) return;
    const t = (Date.now() - t0) / 1000;
    const r = await node.ns.exec(['curl', '-sf', '-m', '2', url], { allowFailure: true, timeoutMs: 5000 });
    const heap = /^weft_nodejs_heap_size_used_bytes (\d+)/m.exec(r.stdout)?.[1];
    const heapMb = heap ? { heapMb: Number(heap) / 2 ** 20 } : {};
    out.push({ t, node: `${prefix}${node.name}`, pid: proc!.pid, ...u, ...heapMb });
  };
  await Promise.all((run.lab.nodes as LabNode[]).map(one));
}

async function main(argv: string[]): Promise<number> {
  const num = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag}: expected a positive number, got ${argv[i + 1]}`);
    return v;
  };
  const minutes = num('--minutes', 10);
  const started = Date.now();
  const log = (m: string) => console.error(`[soak +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
  const name = argv.includes('--name') ? argv[argv.indexOf('--name') + 1]! : 'ft-soak';
  const loadAtStart = loadavg()[0]!;
  runAgentsAsInstalled(); // RSS and CPU of agents as installed (dist/, plain Node), not of tsx loading sources
  const r = await runSoak({ name, minutes, quietSeconds: num('--quiet-seconds', 10), log });
  const load = `load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`;
  console.log(`soak: ${minutes} min, ${r.rows.length} faults; ${load}\n\n${r.table}\n`);
  if (r.repairs.length) console.log(`repaired after a failed fault: ${r.repairs.join('; ')}`);
  if (r.stoppedEarly) console.log(`STOPPED EARLY: ${r.stoppedEarly}`);
  console.log(
    `subnet guard: ${r.guardProblems.length ? r.guardProblems.join('; ') : 'no two nodes ever held one subnet, no node moved'}`,
  );
  const bad = r.rows.filter((x) => x.problems.length).length + r.guardProblems.length + (r.stoppedEarly ? 1 : 0);
  return bad ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
