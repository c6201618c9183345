// Idle: what a `weft agent` with nothing happening costs, the agent together with every process it starts (its
// command shell and the iptables commands; bench/lib/proc-cpu.ts), in its own namespace with a real etcd.
//   node --import tsx bench/idle.bench.ts [--rounds N] [--window S] [--settle S] [--peers N] [--json FILE]
//                                         [--cases vxlan-etcd,udp-etcd,vxlan-embedded,udp-embedded]
//                                         [--prof DIR]  (the agent runs with --cpu-prof, profiles written to DIR)
// Each case starts a fresh agent (vxlan or udp backend; etcd or the embedded store) with --peers leases, waits for
// its subnet file and --settle seconds (default 30: V8's memory reducer has run by then), then measures --window
// seconds: CPU % with its children, its own CPU %, wake-ups per second (its threads scheduled onto a CPU) and RSS.
// Each case runs with the nf_tables generation (the default) and with WEFT_NFT_GENERATION=off (every resync reads
// the rules back), the two alternating round by round so both see the same machine; the ratio row compares them.
// Needs root, iproute2, iptables and etcd.
// npm run bench:idle -- [flags] runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith, type BackgroundProcess, type Netns } from '@weft/lab';
import { sampleCpu } from './lib/proc-cpu.ts';
import { flagValue, parseBenchArgs, publish, row, type Row } from './lib/report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEFT = join(ROOT, 'agent', 'bin', 'weft.mjs');
const ETCD = 'http://127.0.0.1:2379';
const PREFIX = '/coreos.com/network';
const NETWORK = '10.244.0.0/16';
const AGENT_IP = '192.0.2.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  backend: 'vxlan' | 'udp';
  store: 'etcd' | 'embedded';
}

interface Sample {
  cpuPercent: number;
  selfPercent: number;
  wakeupsPerSecond: number;
  rssMiB: number;
}

const netConf = (backend: string) => JSON.stringify({ Network: NETWORK, SubnetLen: 24, Backend: { Type: backend } });

/** Peer leases 10.244.1.0/24 ... in flannel's layout, written with etcdctl inside the namespace. */
async function writeLeases(ns: Netns, c: Case, peers: number): Promise<void> {
  const lines = [`put ${PREFIX}/config '${netConf(c.backend)}'`];
  for (let i = 1; i <= peers; i++) {
    const data = c.backend === 'vxlan' ? { VNI: 1, VtepMAC: `0a:58:00:00:00:${i.toString(16).padStart(2, '0')}` } : {};
    const attrs = JSON.stringify({ PublicIP: `192.0.2.${100 + i}`, BackendType: c.backend, BackendData: data });
    lines.push(`put ${PREFIX}/subnets/10.244.${i}.0-24 '${attrs}'`);
  }
  for (const l of lines) await ns.exec(['sh', '-c', `etcdctl --endpoints=${ETCD} ${l} >/dev/null`]);
}

function agentArgv(c: Case, dir: string, prof: string | undefined): string[] {
  const store =
    c.store === 'etcd'
      ? ['--etcd-endpoints', ETCD, '--etcd-prefix', PREFIX]
      : ['--store', `embedded:${join(dir, 'leases.db')}`, '--net-config-path', join(dir, 'net-conf.json')];
  return [
    process.execPath,
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    ...[WEFT, 'agent', ...store, '--iface', 'eth0', '--public-ip', AGENT_IP, '--node-name', 'idle-agent'],
    ...['--subnet-file', join(dir, 'subnet.env'), '--metrics-port', '9100', '--ip-masq=false'],
  ];
}

async function waitFor(what: string, agent: BackgroundProcess, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (!agent.running) throw new Error(`agent exited before ${what}:\n${agent.log().slice(-2000)}`);
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`no ${what} after 30 s:\n${agent.log().slice(-2000)}`);
}

/** One agent's idle window. */
async function measure(scope: LabScope, ns: Netns, c: Case, generation: boolean, argv: string[]): Promise<Sample> {
  const dir = mkdtempSync(join(scope.dir, 'agent-'));
  writeFileSync(join(dir, 'net-conf.json'), netConf(c.backend));
  const env = { ...process.env, WEFT_RUN: 'dist', WEFT_NFT_GENERATION: generation ? 'on' : 'off' };
  const agent = scope.spawn(
    `agent-${c.backend}-${c.store}-${generation}`,
    ns,
    agentArgv(c, dir, flagValue(argv, '--prof')),
    env,
  );
  try {
    await waitFor('a subnet file', agent, () => existsSync(join(dir, 'subnet.env')));
    await sleep(Number(flagValue(argv, '--settle') ?? 30) * 1000);
    const window = Number(flagValue(argv, '--window') ?? 20);
    const a = sampleCpu(agent.pid);
    await sleep(window * 1000);
    const b = sampleCpu(agent.pid);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'));
    return {
      cpuPercent: ((b.tree - a.tree) / window) * 100,
      selfPercent: ((b.self - a.self) / window) * 100,
      wakeupsPerSecond: (b.wakeups - a.wakeups) / window,
      rssMiB: Number(rss?.[1]) / 1024,
    };
  } finally {
    await agent.stop(10_000);
    if (c.store === 'embedded') rmSync(dir, { recursive: true, force: true });
  }
}

/** What each idle window reports: metric, unit and the figure of one sample. */
const METRICS: [string, string, (s: Sample) => number][] = [
  ['idle-cpu', '%', (s) => s.cpuPercent],
  ['idle-cpu-self', '%', (s) => s.selfPercent],
  ['wakeups', '1/s', (s) => s.wakeupsPerSecond],
  ['rss', 'MiB', (s) => s.rssMiB],
];

/** Every metric of the generation and read-back windows (case `name/generation`, `name/read-back`), then the ratio. */
function rowsOf(name: string, on: Sample[], off: Sample[]): Row[] {
  const windows = [
    ['generation', on],
    ['read-back', off],
  ] as const;
  return [
    ...windows.flatMap(([label, samples]) =>
      METRICS.map(([metric, unit, f]) => row(`${name}/${label}`, metric, unit, samples.map(f))),
    ),
    row(
      name,
      'cpu-ratio',
      'x',
      on.map((x, i) => x.cpuPercent / off[i]!.cpuPercent),
    ),
  ];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { json } = parseBenchArgs(argv);
  if (!canRunWith('idle bench', ['ip', 'etcd', 'etcdctl', 'iptables'])) return;
  const rounds = Number(flagValue(argv, '--rounds') ?? 3);
  const peers = Number(flagValue(argv, '--peers') ?? 20);
  const cases = (flagValue(argv, '--cases') ?? 'vxlan-etcd,udp-etcd,vxlan-embedded,udp-embedded').split(',');
  // the agent runs from dist/ as an installed node runs it: compiled first
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const scope = new LabScope('idle-bench');
  const data = mkdtempSync('/dev/shm/weft-idle-bench-');
  const rows: Row[] = [];
  try {
    const ns = await scope.netns('a');
    await scope.veth(ns, 'eth0', await scope.netns('b'), 'eth0');
    await ns.ip(['addr', 'add', `${AGENT_IP}/24`, 'dev', 'eth0']);
    await ns.ip(['link', 'set', 'lo', 'up']);
    const peer = 'http://127.0.0.1:2380';
    scope.spawn('etcd', ns, [
      'etcd',
      '--name=idle',
      `--data-dir=${data}`,
      `--listen-client-urls=${ETCD}`,
      `--advertise-client-urls=${ETCD}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=idle=${peer}`,
    ]);
    await sleep(2000);
    for (const name of cases) {
      const [backend, store] = name.split('-') as [Case['backend'], Case['store']];
      const c = { backend, store };
      await ns.exec(['etcdctl', `--endpoints=${ETCD}`, 'del', '--prefix', PREFIX]);
      await writeLeases(ns, c, peers);
      const on: Sample[] = [];
      const off: Sample[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const generation of r % 2 ? [false, true] : [true, false]) {
          const s = await measure(scope, ns, c, generation, argv);
          (generation ? on : off).push(s);
          console.log(
            `  [idle] ${name} generation=${generation}: ${s.cpuPercent.toFixed(3)}% (own ${s.selfPercent.toFixed(3)}%), ${s.wakeupsPerSecond.toFixed(1)} wake-ups/s, ${s.rssMiB.toFixed(1)} MiB`,
          );
        }
      }
      rows.push(...rowsOf(name, on, off));
    }
  } finally {
    await scope.cleanup();
    rmSync(data, { recursive: true, force: true });
  }
  publish('idle', rows, json);
}

await main();
