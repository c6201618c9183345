// `npm run bench:tunnel -- [--json FILE] [--quick]`: weft's TUN <-> UDP forwarder (no encapsulation) against
// OpenVPN (UDP p2p, no cipher, no auth) and plain routing, on the same two-namespace topology in the same run.
//
// Topology: namespaces a and b joined by a veth (192.0.2.1 <-> 192.0.2.2, MTU 1500). For a tunnel case each
// namespace has a TUN (weft: flannel0, 10.244.N.1/24; OpenVPN: tun0, 10.8.0.N) and a forwarder process; iperf3
// runs from a to b through it. "plain" sends iperf3 straight over the veth (the floor: no userspace at all).
// Metrics: tcp1/tcp4 (iperf3 TCP, 1 and 4 streams, Gbit/s received), udp64 (iperf3 -u -l 64, datagrams
// received per second), cpu-per-gbit (CPU seconds of the forwarder processes, from /proc/PID/stat, per Gbit
// moved during the tcp1 run). With `--worker` this file is the forwarder process itself (see runWorker).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { LabScope, type BackgroundProcess, type Netns } from '@weft/lab';
import {
  PacketBatch, TCP_OFFLOADS, configureLink, forward, openTun, openUdp, splitSuperPacket, splitSuperPacketTs, type OnBatch,
} from '@weft/tunnel';
import { row, type Row } from './lib/report.ts';

/** The value after `--name` in argv. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Prints the rows as a markdown table and writes DESIGN.md's JSON report when `json` is given. */
function publish(bench: string, rows: Row[], json?: string): void {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));
  console.log('| case | metric | unit | median | min | max | runs |\n|---|---|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.case} | ${r.metric} | ${r.unit} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.runs.length} |`);
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), kernel: os.release(), node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
  if (json) writeFileSync(json, JSON.stringify({ bench, machine, rows }, null, 2) + '\n');
}

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const REPS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 2 : 5;
const TUN_MTU = 1472; // 1500 underlay - 20 IPv4 - 8 UDP, like flannel's udp backend

interface Variant {
  name: string;
  tso: boolean;
  gso: boolean;
}
const WEFT_VARIANTS: Variant[] = [
  { name: 'weft-tunnel offload-off', tso: false, gso: false },
  { name: 'weft-tunnel offload-on (tso+udp-gso/gro)', tso: true, gso: true },
  { name: 'weft-tunnel offload-on (udp-gso/gro only)', tso: false, gso: true },
  { name: 'weft-tunnel offload-on (tso only)', tso: true, gso: false },
];
/** Packets per batch for the forwarders (wireguard-go's IdealBatchSize): a TSO batch then holds ~3 super-packets. */
const BATCH = 128;
/** weft's TUN txqueuelen: the default 500 overflows whenever a forwarder is descheduled (each drop a TCP resend). */
const TXQUEUELEN = 5000;

/** The forwarder: TUN <-> UDP with no encapsulation, every packet to/from peer 0. */
async function runWorker(): Promise<void> {
  const me = Number(flagValue(argv, '--me'));
  const peer = flagValue(argv, '--peer')!;
  const tso = argv.includes('--tso');
  const gso = argv.includes('--gso');
  const batchSize = Number(flagValue(argv, '--batch') ?? BATCH);
  const tun = openTun({ name: 'flannel0', offloads: tso ? TCP_OFFLOADS : 0, batchSize });
  const txQueueLength = Number(flagValue(argv, '--txqueuelen') ?? TXQUEUELEN);
  await configureLink(tun.name, { mtu: TUN_MTU, txQueueLength, addresses: [`10.244.${me}.1/24`], routes: [`10.244.${3 - me}.0/24`] });
  const udp = openUdp({ address: `192.0.2.${me}`, port: 8285, gso, gro: gso, batchSize, sendBuffer: 8 << 20, receiveBuffer: 8 << 20 });
  udp.addPeer(0, peer, 8285);
  const toPeer: OnBatch = (_s, _o, _l, peers, n) => peers.fill(0, 0, n);
  const fromPeer: OnBatch = (_s, _o, _l, peers, n) => {
    for (let i = 0; i < n; i++) if (peers[i] !== 0) peers[i] = -1; // only the known peer
  };
  const out = forward({ from: tun, to: udp, onBatch: toPeer, batchSize });
  const back = forward({ from: udp, to: tun, onBatch: fromPeer, batchSize });
  console.log('ready');
  process.on('SIGTERM', () => {
    console.log(JSON.stringify({ out: out.counters, back: back.counters, tun: tun.stats(), udp: udp.stats() }));
    out.stop();
    back.stop();
    tun.close();
    udp.close();
    process.exit(0);
  });
}

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function waitForLog(p: BackgroundProcess, text: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!p.log().includes(text)) {
    if (!p.running || Date.now() > end) throw new Error(`${p.label} did not say "${text}":\n${p.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Measured {
  tcp1: number[];
  tcp4: number[];
  udp64: number[];
  cpu: number[];
}

/** One iperf3 client run; retried once, since a loaded 2-core machine occasionally loses a control connection. */
async function iperf(a: Netns, target: string, args: string[]): Promise<Record<string, any> | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await a.exec(['iperf3', '-c', target, '-t', String(SECONDS), '-J', ...args], { timeoutMs: (SECONDS + 20) * 1000, allowFailure: true });
    let j: Record<string, any> = {};
    try {
      j = JSON.parse(r.stdout || '{}');
    } catch {
      // not JSON: reported below
    }
    if (j.end && !j.error) return j;
    console.error(`iperf3 ${args.join(' ')} to ${target} failed (${j.error ?? r.stderr.trim()}); ${attempt ? 'skipping this run' : 'retrying'}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
  return null;
}

/** Runs tcp1, tcp4 and udp64 REPS times against `target` from a; cpu from the forwarders' PIDs. */
async function measure(a: Netns, target: string, forwarders: number[]): Promise<Measured> {
  const m: Measured = { tcp1: [], tcp4: [], udp64: [], cpu: [] };
  const cpu = (): number => forwarders.reduce((s, pid) => s + cpuSeconds(pid), 0);
  for (let rep = 0; rep < REPS; rep++) {
    const cpu0 = cpu();
    const t1 = await iperf(a, target, []);
    const cpu1 = cpu();
    if (t1) {
      const gbit1 = t1.end.sum_received.bits_per_second / 1e9;
      m.tcp1.push(gbit1);
      if (forwarders.length) m.cpu.push((cpu1 - cpu0) / (gbit1 * t1.end.sum_received.seconds));
    }
    const t4 = await iperf(a, target, ['-P', '4']);
    if (t4) m.tcp4.push(t4.end.sum_received.bits_per_second / 1e9);
    const u = await iperf(a, target, ['-u', '-l', '64', '-b', '1G']);
    if (u) m.udp64.push((u.end.sum.packets - u.end.sum.lost_packets) / u.end.sum.seconds);
  }
  return m;
}

function rowsOf(name: string, m: Measured): Row[] {
  const all: [string, string, number[]][] = [
    ['tcp1', 'Gbit/s', m.tcp1], ['tcp4', 'Gbit/s', m.tcp4], ['udp64', 'pps', m.udp64], ['cpu-per-gbit', 's', m.cpu],
  ];
  return all.filter(([, , runs]) => runs.length > 0).map(([metric, unit, runs]) => row(name, metric, unit, runs));
}

async function withIperfServer<T>(scope: LabScope, b: Netns, label: string, body: () => Promise<T>): Promise<T> {
  const server = scope.spawn(`iperf-${label}`, b, ['iperf3', '-s']);
  await new Promise((r) => setTimeout(r, 300));
  try {
    return await body();
  } finally {
    await server.stop();
  }
}

async function weftCase(scope: LabScope, a: Netns, b: Netns, v: Variant): Promise<Row[]> {
  const self = new URL(import.meta.url).pathname;
  const flags = [...(v.tso ? ['--tso'] : []), ...(v.gso ? ['--gso'] : [])];
  const label = v.name.replace(/[^a-z0-9]+/g, '-');
  const workers = [
    scope.spawn(`${label}-a`, a, [process.execPath, '--import', 'tsx', self, '--worker', '--me', '1', '--peer', '192.0.2.2', ...flags]),
    scope.spawn(`${label}-b`, b, [process.execPath, '--import', 'tsx', self, '--worker', '--me', '2', '--peer', '192.0.2.1', ...flags]),
  ];
  try {
    for (const w of workers) await waitForLog(w, 'ready');
    const m = await withIperfServer(scope, b, label, () => measure(a, '10.244.2.1', workers.map((w) => w.pid)));
    return rowsOf(v.name, m);
  } finally {
    for (const w of workers) await w.stop();
    console.error(`${v.name}: forwarder counters\n  ${workers.map((w) => w.log().trim().split('\n').pop()).join('\n  ')}`);
  }
}

/** OpenVPN exactly as /work/shared/peers/README.md's recipe runs it (UDP p2p, no cipher, no auth). */
async function openvpnCase(scope: LabScope, a: Netns, b: Netns): Promise<Row[]> {
  const vpn = (me: number, peer: number) => [
    'openvpn', '--dev', 'tun0', '--dev-type', 'tun', '--proto', 'udp', '--local', `192.0.2.${me}`, '--lport', '1194',
    '--remote', `192.0.2.${peer}`, '--rport', '1194', '--ifconfig', `10.8.0.${me}`, `10.8.0.${peer}`, '--cipher', 'none',
    '--auth', 'none', '--tun-mtu', String(TUN_MTU), '--mssfix', '0', '--disable-dco', '--verb', '3',
  ];
  const procs = [scope.spawn('openvpn-a', a, vpn(1, 2)), scope.spawn('openvpn-b', b, vpn(2, 1))];
  try {
    for (const p of procs) await waitForLog(p, 'Initialization Sequence Completed', 20_000);
    const m = await withIperfServer(scope, b, 'openvpn', () => measure(a, '10.8.0.2', procs.map((p) => p.pid)));
    return rowsOf('openvpn', m);
  } finally {
    for (const p of procs) await p.stop();
  }
}

/** A 64 KB TCPv4 super-packet with its virtio header, as a vnet_hdr TUN hands it (MSS 1420: 46 segments). */
function superPacket(): Uint8Array {
  const payload = 65_000 - 52;
  const p = new Uint8Array(10 + 52 + payload);
  const v = new DataView(p.buffer);
  p.set([1, 1], 0); // NEEDS_CSUM, GSO_TCPV4
  v.setUint16(2, 52, true);
  v.setUint16(4, TUN_MTU - 52, true);
  v.setUint16(6, 20, true);
  v.setUint16(8, 16, true);
  p.set([0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 244, 1, 2, 10, 244, 2, 2], 10);
  v.setUint16(12, 52 + payload);
  p[10 + 32] = 0x80; // TCP data offset: 32 bytes (timestamps)
  p[10 + 33] = 0x18;
  for (let i = 62; i < p.length; i++) p[i] = i * 7;
  return p;
}

/** Microseconds per 64 KB super-packet for the native and the TypeScript split (why segmentation is native). */
function splitRows(): Row[] {
  const pkt = superPacket();
  const batch = new PacketBatch(64);
  const iterations = QUICK ? 500 : 3000;
  const time = (split: typeof splitSuperPacket): number => {
    for (let i = 0; i < 50; i++) split(pkt, batch, 80); // warm up (and JIT the TypeScript one)
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) split(pkt, batch, 80);
    return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
  };
  const runs = { native: [] as number[], ts: [] as number[] };
  for (let r = 0; r < REPS; r++) {
    runs.native.push(time(splitSuperPacket));
    runs.ts.push(time(splitSuperPacketTs));
  }
  return [row('split native', 'split64k', 'us', runs.native), row('split typescript', 'split64k', 'us', runs.ts)];
}

async function main(): Promise<void> {
  const scope = new LabScope('tun-bench');
  const rows: Row[] = [];
  try {
    const a = await scope.netns('a');
    const b = await scope.netns('b');
    await scope.veth(a, 'eth0', b, 'eth0', 1500);
    await a.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await b.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    const variants = QUICK ? WEFT_VARIANTS.slice(0, 2) : WEFT_VARIANTS;
    for (const v of variants) rows.push(...(await weftCase(scope, a, b, v)));
    rows.push(...(await openvpnCase(scope, a, b)));
    rows.push(...rowsOf('plain', await withIperfServer(scope, b, 'plain', () => measure(a, '192.0.2.2', []))));
  } finally {
    await scope.cleanup();
  }
  rows.push(...splitRows());
  publish('tunnel', rows, flagValue(argv, '--json'));
  const med = (c: string, m: string) => rows.find((r) => r.case === c && r.metric === m)?.median ?? NaN;
  const ovpn = med('openvpn', 'tcp1');
  const plain = med('plain', 'tcp1');
  console.log(`\noffload-off tcp1 / openvpn tcp1 = ${(med(WEFT_VARIANTS[0]!.name, 'tcp1') / ovpn).toFixed(2)} (target >= 2)`);
  console.log(`offload-on tcp1 / plain tcp1 = ${(med(WEFT_VARIANTS[1]!.name, 'tcp1') / plain).toFixed(2)} (target >= 0.5)`);
}

await (argv.includes('--worker') ? runWorker() : main());
