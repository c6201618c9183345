// Scale: one real `weft agent` (vxlan) against a real etcd holding N nodes' leases in flannel's layout.
//   npm run bench:scale -- [--sizes 1000,5000,20000] [--runs N] [--quick] [--json FILE] [--svg FILE]
//                          [--agent-node-options '--cpu-prof --cpu-prof-dir=DIR'] [--agent-args '--flag=value ...']
//                          [--run dist|tsx]  (dist, the default: built first and run as an installed node runs it)
// Per size (in a fresh namespace `wl-sc-scale-a` each run; bench/scale/inner.ts does the work inside it):
// - full-table: seconds from starting the agent to a forwarding table with all N-1 peers (polled on /metrics);
// - churn: 30% of the nodes leave and as many join (2 x 0.3 N lease events, written together, 64 in flight):
//   seconds from the last write until /status lists exactly the store's peers;
// - rss-full (3 s after the full table), rss-idle (30 s later), rss-churn (MiB); cpu-start / cpu-churn
//   (CPU-seconds of the agent); idle-cpu (% over the last 15 s of that rest: full table, nothing polling; the
//   agent with the commands it runs, bench/lib/proc-cpu.ts), idle-cpu-self (its own threads), idle-wakeups (1/s);
// - lookup: ns per forwarding-table lookup with N-1 /24 routes (in this process, random destinations that hit).
// Targets (issue 16): 5,000 nodes full table <= 10 s, churn <= 5 s after the last write, RSS <= 150 MB.
// Needs root, etcd and iproute2. The cluster network is 10.0.0.0/9 (20,000 /24 subnets do not fit a /16), the
// underlay 10.200.0.0/16 on a veth to a second namespace, all inside the bench's own namespace: no packet leaves it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith } from '@weft/lab';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { Fib } from '../packages/agent/src/fib.ts';
import { barChart } from './compare/svg.ts';
import { flagValue, parseBenchArgs, publish, row, type Row } from './lib/report.ts';
import type { RunFigures } from './scale/inner.ts';
import { UNDERLAY_AGENT, subnetOf } from './scale/leases.ts';

const INNER = fileURLToPath(new URL('./scale/inner.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const LOOKUPS = 2_000_000;

/** ns per Fib lookup with `routes` /24 routes: the median of 5 timed passes over random hitting destinations. */
function lookupNs(routes: number): number[] {
  const fib = new Fib();
  for (let i = 1; i <= routes; i++) fib.set(tryParseIpv4Prefix(subnetOf(i))!, i);
  const dst = new Uint32Array(4096);
  for (let k = 0; k < dst.length; k++) {
    const i = 1 + Math.floor(Math.random() * routes);
    dst[k] = ((10 << 24) | (i << 8) | (k & 255)) >>> 0;
  }
  let sink = 0;
  for (let k = 0; k < 200_000; k++) sink += fib.lookup(dst[k & 4095]!); // warm up the JIT
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let k = 0; k < LOOKUPS; k++) sink += fib.lookup(dst[k & 4095]!);
    runs.push(((performance.now() - t) * 1e6) / LOOKUPS);
  }
  if (sink < 0) throw new Error('a lookup missed'); // every destination is routed (and the loop is not dead code)
  return runs;
}

/** Compiles dist/ (what `npm ci` leaves on a node, run with WEFT_RUN=dist: plain Node, no tsx loader). */
function buildDist(): void {
  console.log('building dist/ (tsc -b tsconfig.build.json) so the agent runs as installed');
  const r = spawnSync(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) console.log('tsc reported errors (above); the agent runs from the dist/ that was emitted');
}

/** Runs inner.ts for `size` nodes in a fresh namespace; its figures. */
async function oneRun(size: number, agent: { nodeOptions?: string; args?: string; run: string }): Promise<RunFigures> {
  const scope = new LabScope('sc-scale');
  try {
    const ns = await scope.netns('a');
    await scope.veth(ns, 'eth0', await scope.netns('b'), 'eth0'); // an underlay link (no dummy module here)
    await ns.ip(['addr', 'add', `${UNDERLAY_AGENT}/16`, 'dev', 'eth0']);
    const out = join(scope.dir, 'figures.json');
    const argv = ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', INNER];
    const child = spawn('ip', [...argv, '--size', String(size), '--dir', scope.dir, '--out', out], {
      stdio: 'inherit',
      env: {
        ...process.env,
        WEFT_SCALE_AGENT_NODE_OPTIONS: agent.nodeOptions ?? '',
        WEFT_SCALE_AGENT_ARGS: agent.args ?? '',
        WEFT_SCALE_RUN: agent.run,
      },
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`scale run of ${size} nodes failed (exit ${code}); logs in ${scope.dir}`);
    return JSON.parse(readFileSync(out, 'utf8')) as RunFigures;
  } finally {
    await scope.cleanup();
  }
}

/** Metric, unit and figure of each row per size (lookup is measured here, not by the run). */
const METRICS: [string, string, (r: RunFigures) => number][] = [
  ['full-table', 's', (r) => r.fullSeconds],
  ['churn', 's', (r) => r.churnSeconds],
  ['churn-events', 'leases', (r) => r.churnEvents],
  ['rss-full', 'MiB', (r) => r.rssFullMiB],
  ['rss-idle', 'MiB', (r) => r.rssIdleMiB],
  ['rss-churn', 'MiB', (r) => r.rssChurnMiB],
  ['cpu-start', 'cpu-s', (r) => r.fullCpuSeconds],
  ['cpu-churn', 'cpu-s', (r) => r.churnCpuSeconds],
  ['idle-cpu', '%', (r) => r.idleCpuPercent],
  ['idle-cpu-self', '%', (r) => r.idleCpuSelfPercent],
  ['idle-wakeups', '1/s', (r) => r.idleWakeupsPerSecond],
];

function rowsOf(size: number, runs: RunFigures[], lookups: number[]): Row[] {
  const c = `${size}-nodes`;
  return [...METRICS.map(([metric, unit, f]) => row(c, metric, unit, runs.map(f))), row(c, 'lookup', 'ns', lookups)];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { json, quick } = parseBenchArgs(argv);
  const sizes = (flagValue(argv, '--sizes') ?? (quick ? '1000' : '1000,5000,20000')).split(',').map(Number);
  const runsPer = Number(flagValue(argv, '--runs') ?? 1);
  if (!canRunWith('scale bench', ['ip', 'etcd'])) return;
  const run = flagValue(argv, '--run') ?? 'dist';
  if (run === 'dist') buildDist();
  const rows: Row[] = [];
  for (const size of sizes) {
    const runs: RunFigures[] = [];
    for (let r = 0; r < runsPer; r++) {
      console.log(`== ${size} nodes, run ${r + 1}/${runsPer}`);
      runs.push(
        await oneRun(size, {
          nodeOptions: flagValue(argv, '--agent-node-options'),
          args: flagValue(argv, '--agent-args'),
          run,
        }),
      );
    }
    rows.push(...rowsOf(size, runs, lookupNs(size - 1)));
  }
  publish('scale', rows, json);
  const svg = flagValue(argv, '--svg');
  if (svg) {
    const charted = new Set(['full-table', 'churn', 'rss-full', 'cpu-start', 'idle-cpu', 'lookup']);
    const chart = barChart(
      `weft agent at scale, real etcd (runs per size: ${runsPer})`,
      rows.filter((r) => charted.has(r.metric)),
    );
    writeFileSync(svg, chart.replaceAll('higher is better', 'lower is better')); // every charted metric is a cost
    console.log(`wrote ${svg}`);
  }
}

await main();
