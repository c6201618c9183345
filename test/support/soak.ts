// `npm run soak -- [--minutes N] [--quiet-seconds S] [--name LAB]`: two labs side by side, brought up together,
// under traffic throughout: a three-node vxlan lab on a real etcd (10 s lease TTL) with pings in a ring between
// the pods and one TCP stream, and a two-node BGP lab (native, --route-sync bgp, `LAB-b`) peering a BIRD 2
// router with graceful restart on (bgp-fault.ts), its pods pinging the host behind BIRD. Issue 16's faults are
// injected in turn until the time is up: SIGKILL of an agent, BIRD restarted gracefully, etcd stopped past the
// renew margin, etcd restored from a snapshot, a node gone past its lease TTL, etcd wiped. After each it waits
// (bounded) for the lab it hit to be consistent again (labConsistency; for BGP, every agent's session back with
// nothing stale) and prints one table row: packets lost in that lab, longest stall, time to recover, for BIRD
// how often the kernel route was looked at and found, consistent or what is not. Every 5 s it samples each
// agent's RSS and CPU (both labs; BGP agents as bgp-nN); a second table shows them over time and says whether
// memory stayed flat. Exit status 1 when anything was inconsistent. Fault code and probes: fault-inject.ts,
// bgp-fault.ts and faults.ts.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LabNode, LabPod } from '@weft/lab';
import { labUp, type RunningLab } from 'weft/lab';
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

export const SOAK_TTL_S = 10;

export interface SoakRow {
  fault: string;
  /** Seconds since the soak's traffic started. */
  at: number;
  /** How long the fault itself lasted (agent away, etcd away), seconds. */
  lastedS: number;
  /** From the end of the fault until the lab was consistent again, seconds. */
  recoverS: number;
  pingLost: number;
  pingSent: number;
  longestGapS: number;
  /** null: no stream in the lab the fault hit. */
  streamStallS: number | null;
  /** BGP faults: looks at the nodes' kernel routes to BIRD's subnet, and how many found one missing. */
  routeLooks?: { looks: number; missing: number };
  /** Empty when consistent. */
  problems: string[];
}

export interface SoakResult {
  rows: SoakRow[];
  usage: UsageSample[];
  guardProblems: string[];
  table: string;
}

interface Ctx {
  run: RunningLab;
  bgp: BgpLab;
  snapshot: string;
  subnets: Map<string, string>;
  counter: number;
}

/** A lease-lab fault injects itself; the BGP lab's one fault is oneBgpFault (second, so a 1-minute soak has it). */
type Fault = { name: string; inject: (c: Ctx) => Promise<void> } | { name: typeof BIRD_FAULT; inject?: undefined };

const BIRD_FAULT = 'BIRD graceful restart';

const FAULTS: Fault[] = [
  {
    name: 'kill -9 agent n2',
    inject: (c) => killAndRestartAgent(c.run, c.run.lab.node('n2'), `agent-n2-${c.counter}`),
  },
  { name: BIRD_FAULT },
  { name: 'etcd stopped 7.5 s', inject: (c) => etcdOutage(c.run, SOAK_TTL_S * 750, `etcd-${c.counter}`) },
  { name: 'etcd restored from snapshot', inject: (c) => etcdWipeAndRestore(c.run, c.snapshot, `etcd-${c.counter}`) },
  {
    name: 'n3 gone past its TTL',
    inject: async (c) => {
      const n3 = c.run.lab.node('n3');
      await nodeGonePastTtl(c.run, n3, c.subnets.get('n3')!, SOAK_TTL_S * 4000, `agent-n3-${c.counter}`);
    },
  },
  { name: 'etcd wiped (config only)', inject: (c) => etcdWipe(c.run, `etcd-${c.counter}`) },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the soak on lab `name` for `minutes` (faults keep starting until then; the last one is finished). */
export async function runSoak(opts: {
  name: string;
  minutes: number;
  quietSeconds?: number;
  log?: (m: string) => void;
}): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const { run, bgp: b } = await labsUp(opts.name, log);
  const usage: UsageSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let guard: SubnetGuard | undefined;
  try {
    const scope = run.lab.scope;
    const budgetS = opts.minutes * 60 + 600;
    const pods = run.lab.nodes.map((n) => n.pods[0]!) as [LabPod, LabPod, LabPod];
    const pings = pods.map((p, i) => PingProbe.start(scope, p, pods[(i + 1) % 3]!.ip, `ping-${i + 1}`, budgetS));
    const stream = await StreamProbe.start(scope, pods[0], pods[1], 5201, 'stream', budgetS);
    const bgpPings = b.run.lab.nodes.map((n) =>
      PingProbe.start(b.run.lab.scope, n.pods[0]!, b.bird.host.ip, `ping-${n.name}-bird`, budgetS),
    );
    const ctx: Ctx = { run, bgp: b, snapshot: join(scope.dir, 'etcd.snapshot'), subnets: new Map(), counter: 0 };
    for (const n of run.lab.nodes) ctx.subnets.set(n.name, subnetOf(run, n)!);
    await etcdSnapshot(run, ctx.snapshot);
    guard = new SubnetGuard(run);
    const t0 = Date.now();
    const sample = () => {
      sampleUsage(run, '', t0, usage);
      sampleUsage(b.run, 'bgp-', t0, usage);
    };
    sample();
    sampler = setInterval(sample, 5000);
    const rows: SoakRow[] = [];
    const endAt = t0 + opts.minutes * 60_000;
    await sleep((opts.quietSeconds ?? 10) * 1000);
    while (Date.now() < endAt) {
      const fault = FAULTS[ctx.counter % FAULTS.length]!;
      ctx.counter++;
      log(`fault ${ctx.counter}: ${fault.name}`);
      const row = fault.inject
        ? await oneFault(ctx, fault.name, fault.inject, t0, pings, stream)
        : await oneBgpFault(ctx, t0, bgpPings);
      rows.push(row);
      log(`fault ${ctx.counter}: ${rowText(row)}`);
      if (Date.now() < endAt) await sleep((opts.quietSeconds ?? 10) * 1000); // none after the last fault
    }
    clearInterval(sampler);
    sample();
    const guardProblems = guard.stop();
    return { rows, usage, guardProblems, table: `${faultTable(rows)}\n\n${usageTable(usage)}` };
  } finally {
    clearInterval(sampler);
    guard?.stop();
    await Promise.all([run.lab.teardown(), bgpLabDown(b)]);
  }
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
  try {
    const f = await birdGracefulRestart(ctx.bgp);
    if (f.missing.length) problems.push(`kernel route to BIRD's subnet missing: ${f.missing.slice(0, 4).join(', ')}`);
    problems.push(...f.notRecovered);
    await sleep(1000);
    const windows = pings.map((p) => p.window(start - 1000, Date.now()));
    return {
      fault: BIRD_FAULT,
      at: (start - t0) / 1000,
      lastedS: (f.upAt - start) / 1000,
      recoverS: (f.recoveredAt - f.upAt) / 1000,
      pingLost: windows.reduce((s, w) => s + w.lost, 0),
      pingSent: windows.reduce((s, w) => s + w.sent, 0),
      longestGapS: Math.max(...windows.map((w) => w.stallMs)) / 1000,
      streamStallS: null,
      routeLooks: { looks: f.looks * ctx.bgp.run.lab.nodes.length, missing: f.missing.length },
      problems,
    };
  } catch (e) {
    const at = (start - t0) / 1000;
    const failed = [`fault did not complete: ${(e as Error).message.split('\n')[0]}`];
    return {
      fault: BIRD_FAULT,
      at,
      lastedS: 0,
      recoverS: 0,
      pingLost: 0,
      pingSent: 0,
      longestGapS: 0,
      streamStallS: null,
      problems: failed,
    };
  }
}

async function oneFault(
  ctx: Ctx,
  name: string,
  inject: (c: Ctx) => Promise<void>,
  t0: number,
  pings: PingProbe[],
  stream: StreamProbe,
): Promise<SoakRow> {
  const start = Date.now();
  let problems: string[] = [];
  await inject(ctx).catch((e: Error) => problems.push(`fault did not complete: ${e.message.split('\n')[0]}`));
  const end = Date.now();
  if (!problems.length)
    await waitConsistent(ctx.run, 60_000).catch((e: Error) => (problems = e.message.split('\n').slice(1)));
  // Traffic counts only once every ping flows again (bounded): the window then covers the whole outage.
  const deadline = Date.now() + 30_000;
  while (pings.some((p) => p.lastReplyAt() < end) && Date.now() < deadline) await sleep(200);
  const recovered = Date.now();
  await sleep(1000);
  const windows = pings.map((p) => p.window(start - 1000, Date.now()));
  return {
    fault: name,
    at: (start - t0) / 1000,
    lastedS: (end - start) / 1000,
    recoverS: (recovered - end) / 1000,
    pingLost: windows.reduce((s, w) => s + w.lost, 0),
    pingSent: windows.reduce((s, w) => s + w.sent, 0),
    longestGapS: Math.max(...windows.map((w) => w.stallMs)) / 1000,
    streamStallS: stream.window(start - 1000, Date.now()).stallMs / 1000,
    problems,
  };
}

function sampleUsage(run: RunningLab, prefix: string, t0: number, out: UsageSample[]): void {
  for (const node of run.lab.nodes as LabNode[]) {
    const proc = run.agents.get(node.name);
    const u = proc?.running ? procUsage(proc.pid) : null;
    if (u) out.push({ t: (Date.now() - t0) / 1000, node: `${prefix}${node.name}`, pid: proc!.pid, ...u });
  }
}

const f1 = (x: number) => x.toFixed(1);

function rowText(r: SoakRow): string {
  const state = r.problems.length ? `INCONSISTENT: ${r.problems.join('; ')}` : 'consistent';
  return `lasted ${f1(r.lastedS)} s, recovered ${f1(r.recoverS)} s later, pings lost ${r.pingLost}/${r.pingSent}, ${state}`;
}

/** The per-fault markdown table. */
export function faultTable(rows: readonly SoakRow[]): string {
  const head = [
    '| # | at (s) | fault | lasted (s) | recovered after (s) | pings lost | longest ping gap (s) | stream stall (s) | kernel route to BIRD | leases and routes |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const body = rows.map((r, i) => {
    const stall = r.streamStallS === null ? '-' : f1(r.streamStallS);
    const looks = r.routeLooks ? `${r.routeLooks.looks - r.routeLooks.missing}/${r.routeLooks.looks} looks` : '-';
    const state = r.problems.length ? `NO: ${r.problems.join('; ')}` : 'consistent';
    return `| ${i + 1} | ${f1(r.at)} | ${r.fault} | ${f1(r.lastedS)} | ${f1(r.recoverS)} | ${r.pingLost}/${r.pingSent} | ${f1(r.longestGapS)} | ${stall} | ${looks} | ${state} |`;
  });
  return [...head, ...body].join('\n');
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
  const log = (m: string) => console.error(`[soak +${f1((Date.now() - started) / 1000)}s] ${m}`);
  const name = argv.includes('--name') ? argv[argv.indexOf('--name') + 1]! : 'ft-soak';
  runAgentsAsInstalled(); // RSS and CPU of agents as installed (dist/, plain Node), not of tsx loading sources
  const r = await runSoak({ name, minutes, quietSeconds: num('--quiet-seconds', 10), log });
  console.log(`soak: ${minutes} min, ${r.rows.length} faults\n\n${r.table}\n`);
  console.log(
    `subnet guard: ${r.guardProblems.length ? r.guardProblems.join('; ') : 'no two nodes ever held one subnet, no node moved'}`,
  );
  const bad = r.rows.filter((x) => x.problems.length).length + r.guardProblems.length;
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
