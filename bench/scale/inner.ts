// One scale run, inside the bench's namespace (scale.bench.ts starts it with `ip netns exec`): a real etcd on the
// namespace's loopback, N nodes' leases written in flannel's layout, one real `weft agent` (vxlan, the CLI as
// installed), and its figures read from outside the agent: /metrics and /status over HTTP, RSS and CPU time
// from /proc/<pid>. Writes one JSON object (RunFigures) to --out.
//   node --import tsx bench/scale/inner.ts --size N --dir DIR --out FILE
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LabScope, type BackgroundProcess } from '@weft/lab';
import { flagValue } from '../lib/report.ts';
import { sampleCpu } from '../lib/proc-cpu.ts';
import { LeaseWriter, MAX_NODE, NETWORK, PREFIX, UNDERLAY_AGENT, subnetOf } from './leases.ts';

export interface RunFigures {
  size: number;
  /** Seconds from spawning the agent to a forwarding table holding every peer. */
  fullSeconds: number;
  fullCpuSeconds: number;
  rssFullMiB: number;
  /** RSS at the end of the rest (V8 has given back the start-up's heap by then). */
  rssIdleMiB: number;
  /**
   * CPU share over IDLE_SECONDS at the end of the rest (full table, nothing changing, nothing polling), of the
   * agent and every process it started (its command shell and the iptables commands that runs): proc-cpu.ts.
   */
  idleCpuPercent: number;
  /** The same, of the agent's own threads only. */
  idleCpuSelfPercent: number;
  /** The agent's threads scheduled onto a CPU per second over that window. */
  idleWakeupsPerSecond: number;
  /** Seconds from the last churn write to a table equal to the store's, and the churn's lease events. */
  churnSeconds: number;
  churnEvents: number;
  churnWriteSeconds: number;
  churnCpuSeconds: number;
  rssChurnMiB: number;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEFT = join(ROOT, 'agent', 'bin', 'weft.mjs');
const ETCD = 'http://127.0.0.1:2379';
const METRICS = 'http://127.0.0.1:9100';
const TICKS_PER_SECOND = 100;
/** At rest: RSS after 3 s (rss-full); CPU over IDLE_SECONDS after SETTLE_SECONDS more, and RSS then (rss-idle). */
const SETTLE_SECONDS = 15;
const IDLE_SECONDS = 15;
const TIMEOUT_MS = 300_000;
const say = (m: string) => console.log(`  [scale] ${m}`);

/** user + system CPU seconds of `pid` (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(path: string): Promise<string | null> {
  return fetch(`${METRICS}${path}`).then(
    (r) => (r.ok ? r.text() : null),
    () => null,
  );
}

/** Polls `check` every `everyMs` until it holds; the time it first held (performance.now()). */
async function until(what: string, everyMs: number, agent: BackgroundProcess, check: () => Promise<boolean>) {
  const deadline = performance.now() + TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (!agent.running) throw new Error(`agent exited while waiting for ${what}:\n${agent.log().slice(-3000)}`);
    if (await check()) return performance.now();
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}:\n${agent.log().slice(-3000)}`);
}

async function peersGauge(): Promise<number> {
  const text = (await get('/metrics')) ?? '';
  return Number(/^weft_peers (\d+)/m.exec(text)?.[1] ?? -1);
}

/** Heap and off-heap memory as the agent's metrics report them, for where the RSS goes. */
async function memoryBreakdown(): Promise<string> {
  const text = (await get('/metrics')) ?? '';
  const mib = (name: string) => (Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) / 2 ** 20).toFixed(1);
  return `heap used ${mib('weft_nodejs_heap_size_used_bytes')} of ${mib('weft_nodejs_heap_size_total_bytes')} MiB, external ${mib('weft_nodejs_external_memory_bytes')} MiB`;
}

async function tableEquals(expected: Set<string>): Promise<boolean> {
  const body = await get('/status');
  if (!body) return false;
  const routes = (JSON.parse(body) as { routes: { subnet: string }[] }).routes;
  return routes.length === expected.size && routes.every((r) => expected.has(r.subnet));
}

function startEtcd(scope: LabScope, data: string): BackgroundProcess {
  const peer = 'http://127.0.0.1:2380';
  return scope.spawn('etcd', null, [
    'etcd',
    '--name=scale',
    `--data-dir=${data}`,
    `--listen-client-urls=${ETCD}`,
    `--advertise-client-urls=${ETCD}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=scale=${peer}`,
  ]);
}

async function waitEtcd(etcd: BackgroundProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!etcd.running) throw new Error(`etcd exited:\n${etcd.log().slice(-2000)}`);
    if (
      await fetch(`${ETCD}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error('etcd did not become healthy');
}

const nodeFlags = (process.env.WEFT_SCALE_AGENT_NODE_OPTIONS ?? '').split(' ').filter(Boolean);

function agentArgv(dir: string): string[] {
  return [
    process.execPath,
    ...nodeFlags, // --agent-node-options (e.g. --cpu-prof), which NODE_OPTIONS does not take
    ...[WEFT, 'agent', '--etcd-endpoints', ETCD, '--etcd-prefix', PREFIX],
    ...['--iface', 'eth0', '--public-ip', UNDERLAY_AGENT, '--node-name', 'scale-agent'],
    ...['--subnet-file', join(dir, 'subnet.env'), '--metrics-port', '9100', '--ip-masq=false'],
    ...(process.env.WEFT_SCALE_AGENT_ARGS ?? '').split(' ').filter(Boolean), // --agent-args
  ];
}

type IdleFigures = Pick<RunFigures, 'idleCpuPercent' | 'idleCpuSelfPercent' | 'idleWakeupsPerSecond' | 'rssIdleMiB'>;

/** CPU over IDLE_SECONDS from schedstat's nanoseconds (/proc/PID/stat's 10 ms ticks: 0.067% per tick in 15 s). */
async function measureIdle(pid: number): Promise<IdleFigures> {
  const idle0 = sampleCpu(pid);
  await sleep(IDLE_SECONDS * 1000);
  const idle1 = sampleCpu(pid);
  const f: IdleFigures = {
    idleCpuPercent: ((idle1.tree - idle0.tree) / IDLE_SECONDS) * 100,
    idleCpuSelfPercent: ((idle1.self - idle0.self) / IDLE_SECONDS) * 100,
    idleWakeupsPerSecond: (idle1.wakeups - idle0.wakeups) / IDLE_SECONDS,
    rssIdleMiB: rssMiB(pid),
  };
  say(
    `after ${3 + SETTLE_SECONDS + IDLE_SECONDS} s at rest: RSS ${f.rssIdleMiB.toFixed(1)} MiB, ` +
      `CPU ${f.idleCpuPercent.toFixed(3)}% with its children (${f.idleCpuSelfPercent.toFixed(3)}% its own), ` +
      `${f.idleWakeupsPerSecond.toFixed(1)} wake-ups/s`,
  );
  return f;
}

async function measure(size: number, dir: string, writer: LeaseWriter, scope: LabScope): Promise<RunFigures> {
  const ids = Array.from({ length: size - 1 }, (_, k) => k + 1); // the agent is node number `size`
  let t = performance.now();
  await writer.putConfig();
  await writer.fill(ids);
  say(`${ids.length} leases written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  // The agent asks for the last subnet of the network again (as after a restart), outside every bench node's.
  writeFileSync(
    join(dir, 'subnet.env'),
    `FLANNEL_NETWORK=${NETWORK}\nFLANNEL_SUBNET=${subnetOf(MAX_NODE).replace('.0/', '.1/')}\n`,
  );
  const start = performance.now();
  const form = process.env.WEFT_SCALE_RUN === 'tsx' ? {} : { WEFT_RUN: 'dist' }; // what an installed node runs
  const agent = scope.spawn('agent', null, agentArgv(dir), { ...process.env, ...form });
  const full = await until('a full table', 100, agent, async () => (await peersGauge()) === ids.length);
  const fullCpuSeconds = cpuSeconds(agent.pid);
  say(`full table (${ids.length} peers) after ${((full - start) / 1000).toFixed(2)} s`);
  await sleep(3000);
  const rssFullMiB = rssMiB(agent.pid);
  say(`memory at rest: ${await memoryBreakdown()} (RSS ${rssFullMiB.toFixed(1)} MiB)`);
  await sleep(SETTLE_SECONDS * 1000); // V8's memory reducer gives back the start-up's heap, once
  const idle = await measureIdle(agent.pid);
  // Churn: 30% of the nodes leave and as many new ones join, written together.
  const n = Math.round(size * 0.3);
  const leaving = ids.slice(0, n);
  const joining = Array.from({ length: n }, (_, k) => size + k);
  const expected = new Set([...ids.slice(n), ...joining].map(subnetOf));
  const cpu0 = cpuSeconds(agent.pid);
  t = performance.now();
  await Promise.all([writer.remove(leaving), writer.put(joining)]);
  const lastWrite = performance.now();
  const done = await until('the churned table', 100, agent, () => tableEquals(expected));
  const figures: RunFigures = {
    size,
    fullSeconds: (full - start) / 1000,
    fullCpuSeconds,
    rssFullMiB,
    ...idle,
    churnSeconds: Math.max(0, done - lastWrite) / 1000,
    churnEvents: 2 * n,
    churnWriteSeconds: (lastWrite - t) / 1000,
    churnCpuSeconds: cpuSeconds(agent.pid) - cpu0,
    rssChurnMiB: rssMiB(agent.pid),
  };
  say(`churn of ${2 * n} lease events absorbed ${figures.churnSeconds.toFixed(2)} s after the last write`);
  await agent.stop(10_000);
  return figures;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const size = Number(flagValue(argv, '--size'));
  const dir = flagValue(argv, '--dir')!;
  const out = flagValue(argv, '--out')!;
  if (!(size >= 2 && size <= MAX_NODE / 1.3)) throw new Error(`--size ${size}: 2..${Math.floor(MAX_NODE / 1.3)}`);
  mkdirSync(dir, { recursive: true });
  const data = mkdtempSync('/dev/shm/weft-sc-scale-'); // etcd on tmpfs: the bench measures the agent, not the disk
  const scope = new LabScope('sc-scale-in', { dir: join(dir, 'procs') });
  const writer = new LeaseWriter(ETCD);
  try {
    await waitEtcd(startEtcd(scope, data));
    writeFileSync(out, JSON.stringify(await measure(size, dir, writer, scope)));
  } finally {
    await writer.close();
    await scope.cleanup();
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
