// `npm run bench:tunnel -- [--json FILE] [--quick]`: weft's TUN <-> UDP forwarder (no encapsulation) against
// OpenVPN (UDP p2p, no cipher, no auth) and plain routing, on the same two-namespace topology in the same run.
//
// Topology: namespaces a and b joined by a veth (192.0.2.1 <-> 192.0.2.2, MTU 1500). For a tunnel case each
// namespace has a TUN (weft: flannel0, 10.244.N.1/24; OpenVPN: tun0, 10.8.0.N) and a forwarder process; iperf3
// runs from a to b through it. "plain" sends iperf3 straight over the veth (the floor: no userspace at all).
// Metrics: tcp1/tcp4 (iperf3 TCP, 1 and 4 streams, Gbit/s received), udp64 (iperf3 -u -l 64, datagrams
// received per second), cpu-per-gbit (CPU seconds of the forwarder processes, from /proc/PID/stat, per Gbit
// moved during the tcp1 run). With `--worker` this file is the forwarder process itself (see runWorker).
import { readFileSync } from 'node:fs';
import { LabScope, type BackgroundProcess, type Netns } from '@weft/lab';
import { PacketBatch, TCP_OFFLOADS, configureLink, forward, openTun, openUdp, type OnBatch } from '@weft/tunnel';
import { splitSuperPacket, splitSuperPacketTs } from '@weft/tunnel/bench';
import { flagValue, medianOf, publish, row, type Row } from './lib/report.ts';
import { iperf3, type Iperf3Report } from './lib/iperf.ts';
import { OPENVPN_FAST, openvpnArgv } from './lib/openvpn.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const REPS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 2 : 5;
const TUN_MTU = 1472; // 1500 underlay - 20 IPv4 - 8 UDP, like flannel's udp backend
/** `--cases a,b`: run only the cases whose names contain one of these words (e.g. `offload-off,openvpn`). */
const CASES = flagValue(argv, '--cases')?.split(',').filter(Boolean);
const wanted = (name: string): boolean => !CASES || CASES.some((c) => name.includes(c));

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
  await configureLink(tun.name, {
    mtu: TUN_MTU,
    txQueueLength,
    addresses: [`10.244.${me}.1/24`],
    routes: [`10.244.${3 - me}.0/24`],
  });
  const udp = openUdp({
    address: `192.0.2.${me}`,
    port: 8285,
    gso,
    gro: gso,
    batchSize,
    sendBuffer: 8 << 20,
    receiveBuffer: 8 << 20,
  });
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

async function waitForLog(p: BackgroundProcess, text: string, ms: number): Promise<void> {
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
async function iperf(a: Netns, target: string, args: string[]): Promise<Iperf3Report | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await iperf3(a, target, SECONDS, args);
    } catch (e) {
      console.error(`${(e as Error).message}; ${attempt ? 'skipping this run' : 'retrying'}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
  return null;
}

/** One round of tcp1, tcp4 and udp64 against `target` from a, added to `m`; CPU from the forwarders' PIDs. */
async function measureOnce(a: Netns, target: string, forwarders: number[], m: Measured): Promise<void> {
  const cpu = (): number => forwarders.reduce((s, pid) => s + cpuSeconds(pid), 0);
  const cpu0 = cpu();
  const t1 = await iperf(a, target, []);
  const cpu1 = cpu();
  const received = t1?.end.sum_received;
  if (received) {
    const gbit1 = received.bits_per_second / 1e9;
    m.tcp1.push(gbit1);
    if (forwarders.length) m.cpu.push((cpu1 - cpu0) / (gbit1 * received.seconds));
  }
  const t4 = (await iperf(a, target, ['-P', '4']))?.end.sum_received;
  if (t4) m.tcp4.push(t4.bits_per_second / 1e9);
  const u = (await iperf(a, target, ['-u', '-l', '64', '-b', '1G']))?.end.sum;
  if (u) m.udp64.push((u.packets - u.lost_packets) / u.seconds);
}

function rowsOf(name: string, m: Measured): Row[] {
  const all: [string, string, number[]][] = [
    ['tcp1', 'Gbit/s', m.tcp1],
    ['tcp4', 'Gbit/s', m.tcp4],
    ['udp64', 'pps', m.udp64],
    ['cpu-per-gbit', 's', m.cpu],
  ];
  return all.filter(([, , runs]) => runs.length > 0).map(([metric, unit, runs]) => row(name, metric, unit, runs));
}

/** A tunnel (or none) set up between a and b: where iperf3 aims, whose CPU counts, and how to take it down. */
interface Running {
  target: string;
  forwarders: BackgroundProcess[];
  stop(): Promise<void>;
}

interface Case {
  name: string;
  start(rep: number): Promise<Running>;
}

/** Stops the processes; the last words of each (a weft forwarder prints its counters) go to stderr. */
async function stopAll(name: string, procs: BackgroundProcess[], showLog: boolean): Promise<void> {
  for (const p of procs) await p.stop();
  if (showLog)
    console.error(`${name}: forwarder counters\n  ${procs.map((p) => p.log().trim().split('\n').pop()).join('\n  ')}`);
}

/**
 * Waits until each forwarder has logged `ready`, then hands them over as a Running case. A start that fails
 * throws, which ends the benchmark; the scope's cleanup stops whatever was spawned.
 */
async function whenReady(
  name: string,
  target: string,
  forwarders: BackgroundProcess[],
  ready: string,
  ms: number,
  showLog: boolean,
): Promise<Running> {
  for (const p of forwarders) await waitForLog(p, ready, ms);
  return { target, forwarders, stop: () => stopAll(name, forwarders, showLog) };
}

function weftCase(scope: LabScope, a: Netns, b: Netns, v: Variant): Case {
  const self = new URL(import.meta.url).pathname;
  const flags = [...(v.tso ? ['--tso'] : []), ...(v.gso ? ['--gso'] : [])];
  const label = v.name.replace(/[^a-z0-9]+/g, '-');
  return {
    name: v.name,
    start(rep) {
      const forwarders = [
        scope.spawn(`${label}-a`, a, [
          process.execPath,
          '--import',
          'tsx',
          self,
          '--worker',
          '--me',
          '1',
          '--peer',
          '192.0.2.2',
          ...flags,
        ]),
        scope.spawn(`${label}-b`, b, [
          process.execPath,
          '--import',
          'tsx',
          self,
          '--worker',
          '--me',
          '2',
          '--peer',
          '192.0.2.1',
          ...flags,
        ]),
      ];
      return whenReady(v.name, '10.244.2.1', forwarders, 'ready', 10_000, rep === REPS - 1);
    },
  };
}

/**
 * OpenVPN exactly as /work/shared/peers/README.md's recipe runs it (UDP p2p, no cipher, no auth); `tuned` adds
 * what that recipe says speeds it up (--fast-io, 4 MB socket buffers) and weft's TUN txqueuelen, so that the
 * comparison does not rest on tuning only one side.
 */
function openvpnCase(scope: LabScope, a: Netns, b: Netns, name: string, tuned: boolean): Case {
  const tuning = tuned ? [...OPENVPN_FAST, '--txqueuelen', String(TXQUEUELEN)] : [];
  const vpn = (me: number, peer: number) =>
    openvpnArgv(
      { local: `192.0.2.${me}`, remote: `192.0.2.${peer}`, tunLocal: `10.8.0.${me}`, tunRemote: `10.8.0.${peer}` },
      TUN_MTU,
      3,
      tuning,
    );
  return {
    name,
    start() {
      const forwarders = [scope.spawn('openvpn-a', a, vpn(1, 2)), scope.spawn('openvpn-b', b, vpn(2, 1))];
      return whenReady(name, '10.8.0.2', forwarders, 'Initialization Sequence Completed', 20_000, false);
    },
  };
}

const PLAIN: Case = {
  name: 'plain',
  start: async () => ({ target: '192.0.2.2', forwarders: [], stop: async () => {} }),
};
const OPENVPN = 'openvpn';
const OPENVPN_TUNED = 'openvpn tuned (fast-io, 4 MB buffers, txqueuelen 5000)';

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
  const measured = new Map<string, Measured>();
  try {
    const a = await scope.netns('a');
    const b = await scope.netns('b');
    await scope.veth(a, 'eth0', b, 'eth0', 1500);
    await a.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await b.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    const cases: Case[] = [
      ...(QUICK ? WEFT_VARIANTS.slice(0, 2) : WEFT_VARIANTS).map((v) => weftCase(scope, a, b, v)),
      openvpnCase(scope, a, b, OPENVPN, false),
      ...(QUICK ? [] : [openvpnCase(scope, a, b, OPENVPN_TUNED, true)]),
      PLAIN,
    ].filter((c) => wanted(c.name));
    for (const c of cases) measured.set(c.name, { tcp1: [], tcp4: [], udp64: [], cpu: [] });
    // Rounds go through every case in turn, so slow drift of a shared machine (other tenants, frequency) falls
    // on all cases alike instead of on whichever ran last.
    for (let rep = 0; rep < REPS; rep++) {
      for (const c of cases) {
        const running = await c.start(rep);
        const server = scope.spawn(`iperf-${rep}`, b, ['iperf3', '-s']);
        try {
          await new Promise((r) => setTimeout(r, 300));
          await measureOnce(
            a,
            running.target,
            running.forwarders.map((p) => p.pid),
            measured.get(c.name)!,
          );
        } finally {
          await server.stop();
          await running.stop();
        }
      }
    }
  } finally {
    await scope.cleanup();
  }
  const rows = [...measured].flatMap(([name, m]) => rowsOf(name, m));
  if (wanted('split')) rows.push(...splitRows());
  publish('tunnel', rows, flagValue(argv, '--json'));
  const ratio = (num: string, den: string, metric: string, target: number): void => {
    const v = (medianOf(rows, num, metric) ?? NaN) / (medianOf(rows, den, metric) ?? NaN);
    if (Number.isFinite(v)) console.log(`${num} ${metric} / ${den} ${metric} = ${v.toFixed(2)} (target >= ${target})`);
  };
  console.log('');
  ratio(WEFT_VARIANTS[0]!.name, OPENVPN, 'tcp1', 2);
  ratio(WEFT_VARIANTS[0]!.name, OPENVPN_TUNED, 'tcp1', 2);
  ratio(WEFT_VARIANTS[1]!.name, 'plain', 'tcp1', 0.5);
}

await (argv.includes('--worker') ? runWorker() : main());
