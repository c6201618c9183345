// BGP figures for @weft/route-sync:   npm run bench:bgp -- [--json FILE] [--quick]
// - the codec's UPDATE decode rates (bench/bgp-codec.bench.ts, merged in when present);
// - mesh convergence: a full iBGP mesh of 50 in-process speakers (1,225 sessions), once over the in-memory
//   transport (message objects, no bytes: the speaker and RIB cost alone) and once over real TCP on loopback
//   (127.0.0.11-60, port 17902: codec and sockets included). Each run: one speaker advertises a new prefix; time
//   until all 49 others hold it as best. Session set-up is not timed;
// - table transfer: 10,000 prefixes advertised by one weft speaker, learned by another over loopback TCP
//   (127.0.0.71-72): the whole pipeline, RIB -> UPDATEs -> codec -> TCP -> codec -> RIB;
// - 10,000 prefixes learned from BIRD 2 (namespaces, root and `bird` needed): time from Established until the
//   weft speaker's Loc-RIB holds all 10,000 (and until the first one). BIRD paces its export: the tail of the
//   table sometimes comes 1-2 s after the rest, which shows as a wide min-max.
// Figures only, no pass/fail. Ratios: TCP mesh vs in-memory mesh, measured in the same run.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  Afi,
  MemoryNetwork,
  Speaker,
  TcpTransport,
  isPassiveInMesh,
  type Prefix,
  type Transport,
} from '@weft/route-sync';
import { canRunWith } from '@weft/lab';
import { machineInfo, parseBenchArgs, row, writeReport, type Row } from './lib/report.ts';

const MESH = 50;
const TCP_PORT = 17902;

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; i < 1_000_000 && Date.now() < until; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up after ${ms} ms`);
}

/** Builds and starts a full mesh (Calico's connect rule); resolves once every session is Established. */
async function startMesh(transport: (addr: string) => Transport): Promise<Speaker[]> {
  const addrs = Array.from({ length: MESH }, (_, i) => `127.0.0.${11 + i}`);
  const speakers = addrs.map((me) => {
    const s = new Speaker({ routerId: me, transport: transport(me), backoff: { min: 0.1, max: 1 } });
    for (const other of addrs)
      if (other !== me)
        s.addPeer({ address: other, as: 64512, port: TCP_PORT, localAddress: me, passive: isPassiveInMesh(me, other) });
    return s;
  });
  for (const s of speakers) await s.start();
  await waitUntil(() => speakers.every((s) => s.status().every((p) => p.state === 'Established')), 120_000);
  return speakers;
}

/** Milliseconds from `advertise` on speaker 0 until every other speaker has the route as best. */
async function convergeOnce(speakers: Speaker[], n: number): Promise<number> {
  const prefix: Prefix = { afi: Afi.Ipv4, length: 24, addr: `10.${100 + (n >> 8)}.${n & 255}.0` };
  const key = `${prefix.addr}/24`;
  const others = speakers.slice(1);
  const t0 = performance.now();
  speakers[0]!.advertise(prefix, { nextHop: '127.0.0.11' });
  await waitUntil(() => others.every((s) => s.rib.best(prefix)?.key === key), 60_000);
  const ms = performance.now() - t0;
  speakers[0]!.withdraw(prefix);
  await waitUntil(() => others.every((s) => !s.rib.best(prefix)), 60_000);
  return ms;
}

async function meshRows(name: string, transport: (addr: string) => Transport, runs: number): Promise<Row> {
  const t0 = performance.now();
  const speakers = await startMesh(transport);
  console.error(
    `${name}: ${MESH} speakers, ${(MESH * (MESH - 1)) / 2} sessions Established in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await convergeOnce(speakers, i));
    return row(`bgp mesh-${MESH} ${name}`, 'convergence', 'ms', times);
  } finally {
    for (const s of speakers) await s.stop();
  }
}

/** Milliseconds for one speaker to learn 10,000 prefixes another advertises at once (loopback TCP). */
async function tableTransferRow(runs: number): Promise<Row> {
  const a = new Speaker({
    routerId: '127.0.0.71',
    transport: new TcpTransport({ listenAddress: '127.0.0.71', port: TCP_PORT }),
  });
  const b = new Speaker({
    routerId: '127.0.0.72',
    transport: new TcpTransport({ listenAddress: '127.0.0.72', port: TCP_PORT }),
  });
  a.addPeer({ address: '127.0.0.72', as: 64512, port: TCP_PORT, localAddress: '127.0.0.71', passive: true });
  b.addPeer({ address: '127.0.0.71', as: 64512, port: TCP_PORT, localAddress: '127.0.0.72' });
  await a.start();
  await b.start();
  const times: number[] = [];
  try {
    await waitUntil(() => a.status()[0]!.state === 'Established' && b.status()[0]!.state === 'Established', 30_000);
    const prefixes = Array.from({ length: 10_000 }, (_, i) => `10.${128 + (i >> 8)}.${i & 255}.0/24`);
    const count = () => b.rib.counts('127.0.0.71').received;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      for (const p of prefixes) a.advertise(p, { nextHop: '127.0.0.71' });
      await waitUntil(() => count() === 10_000, 60_000);
      times.push(performance.now() - t0);
      for (const p of prefixes) a.withdraw(p);
      await waitUntil(() => count() === 0, 60_000);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
  return row('bgp table-transfer 10k prefixes (weft -> weft, tcp-loopback)', 'learn-time', 'ms', times);
}

interface BirdLabLike {
  setup(): Promise<void>;
  startWeft(cfg: Record<string, unknown>): Promise<void>;
  startBird(o: { routes: string[] }): Promise<void>;
  birdc(args: string[]): Promise<string>;
  birdGone(): Promise<void>;
  weft<T>(req: Record<string, unknown>): Promise<T>;
  cleanup(): Promise<void>;
}

/** Time for weft to learn 10,000 prefixes from BIRD, per run (BIRD restarted each run). */
async function birdRows(runs: number): Promise<Row[]> {
  // Loaded at run time: the lab lives with route-sync's interop tests.
  const url = new URL('../packages/route-sync/test/bird-lab.ts', import.meta.url).href;
  const mod = (await import(url)) as { BirdLab: new (n: string) => BirdLabLike; manyPrefixes: (n: number) => string[] };
  const lab = new mod.BirdLab('bgps-bench');
  const count = async () => (await lab.weft<{ routes: number }>({ cmd: 'count' })).routes;
  const times: number[] = [];
  const firsts: number[] = [];
  try {
    await lab.setup();
    await lab.startWeft({ watchCount: 10_000 });
    for (let i = 0; i < runs; i++) {
      await lab.startBird({ routes: mod.manyPrefixes(10_000) });
      for (let w = 0; w < 600 && (await count()) < 10_000; w++) await new Promise((r) => setTimeout(r, 100));
      const t = await lab.weft<{ ms: number | null; firstRouteMs: number }>({ cmd: 'timing' });
      if (t.ms === null) throw new Error('10,000 prefixes not learned within 60 s');
      times.push(t.ms);
      firsts.push(t.firstRouteMs);
      await lab.birdc(['down']);
      await lab.birdGone();
      for (let w = 0; w < 600 && (await count()) > 0; w++) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await lab.cleanup();
  }
  const name = 'bgp bird-10k-prefixes (BIRD 2 -> weft, netns)';
  return [row(name, 'first-route', 'ms', firsts), row(name, 'learn-time', 'ms', times)];
}

async function codecRows(quick: boolean): Promise<Row[]> {
  if (!existsSync(new URL('./bgp-codec.bench.ts', import.meta.url))) return [];
  const { runCodecBench } = await import('./bgp-codec.bench.ts');
  return runCodecBench({ quick });
}

const { json, quick } = parseBenchArgs();
const rows: Row[] = [...(await codecRows(quick))];
const memory = new MemoryNetwork();
const mem = await meshRows('in-memory', (a) => memory.transport(a), quick ? 3 : 9);
const tcp = await meshRows(
  'tcp-loopback',
  (a) => new TcpTransport({ listenAddress: a, port: TCP_PORT }),
  quick ? 3 : 9,
);
rows.push(mem, tcp, await tableTransferRow(quick ? 2 : 5));
if (canRunWith('bgp bench: BIRD 10,000 prefixes', ['bird', 'birdc'])) rows.push(...(await birdRows(quick ? 1 : 3)));
writeReport({ bench: 'bgp', machine: machineInfo(), rows }, json);
console.log(`mesh-${MESH} convergence, TCP loopback / in-memory: ${(tcp.median / mem.median).toFixed(2)}x`);
