// Micro-benchmark of @weft/encap's hot path: encapsulate + decapsulate of one packet, per format (VXLAN,
// flannel-udp) and size (64 B, 1400 B), in place in a slab slot with headroom, as the agent will run it.
//   npm run bench:encap -- [--json FILE] [--quick]
// Figures: ns per packet (benchmark.js samples of batches of 64 packets in 64 slab slots) and bytes allocated
// per packet (heap growth over 1e6 packets
// with garbage collection forced before and a young generation large enough that none runs during the loop).
// Targets: 0 bytes and < 50 ns per encapsulate + decapsulate.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import Benchmark from 'benchmark';
import {
  DropReason,
  PacketSpan,
  VxlanTemplate,
  decapsulateFlannelUdp,
  decapsulateVxlan,
  encapsulateFlannelUdp,
  encapsulateVxlan,
  encodeIpv4Header,
  internetChecksum,
  parseMac,
  vxlanSourcePort,
} from '@weft/encap';
import { parseIpv4 } from '@weft/netaddr';
import { parseBenchArgs, publish, row, type Row } from './lib/report.ts';

// Re-run under the flags the allocation measurement needs: gc() exposed, a 256 MiB young generation.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  const flags = ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'];
  const r = spawnSync(
    process.execPath,
    [...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

const { json, quick } = parseBenchArgs();
const HEADROOM = 64;
const SLOT = 2048;
/** Packets per timed call: the agent handles a batch per recvmmsg/TUN read; a call per packet would time the harness. */
const BATCH = 64;
const BATCHES = (quick ? 200_000 : 1_000_000) / BATCH;
const ALLOC_RUNS = quick ? 2 : 3;

/** A slab of BATCH slots, each holding an IPv4 UDP packet of `size` bytes at HEADROOM. */
function slab(size: number): Buffer {
  const s = Buffer.alloc(BATCH * SLOT);
  for (let i = 0; i < BATCH; i++) {
    encodeIpv4Header(
      {
        dscp: 0,
        ecn: 0,
        totalLength: size,
        identification: i,
        flags: 2,
        fragmentOffset: 0,
        ttl: 64,
        protocol: 17,
        src: parseIpv4('10.244.1.5'),
        dst: parseIpv4('10.244.2.9'),
        options: Buffer.alloc(0),
      },
      s,
      i * SLOT + HEADROOM,
    );
  }
  return s;
}

const tpl = new VxlanTemplate({
  vni: 1,
  localMac: parseMac('02:00:0a:f4:01:00'),
  peerMac: parseMac('02:00:0a:f4:02:00'),
});
const span = new PacketSpan();
let failures = 0;

/** One call: encapsulate then decapsulate each packet of the batch. */
function vxlanCase(size: number): () => void {
  const s = slab(size);
  return () => {
    for (let p = HEADROOM; p < BATCH * SLOT; p += SLOT) {
      const start = encapsulateVxlan(s, p, size, tpl);
      if (decapsulateVxlan(s, start, size + 22, 1, span) !== DropReason.None) failures++;
    }
  };
}

/** flannel-udp decrements the TTL twice per round, so each round first restores TTL and checksum (3 byte stores). */
function flannelCase(size: number): () => void {
  const s = slab(size);
  const ttl = s[HEADROOM + 8]!;
  const sums = Array.from({ length: BATCH }, (_, i) => s.readUInt16BE(i * SLOT + HEADROOM + 10));
  return () => {
    for (let i = 0, p = HEADROOM; i < BATCH; i++, p += SLOT) {
      s[p + 8] = ttl;
      s[p + 10] = sums[i]! >> 8;
      s[p + 11] = sums[i]! & 0xff;
      const off = encapsulateFlannelUdp(s, p, size);
      if (off < 0 || decapsulateFlannelUdp(s, off, size, span) !== DropReason.None) failures++;
    }
  };
}

/** ns per packet: benchmark.js samples (each the mean time of one call over a timed cycle) / packets per call. */
function nsPerPacket(name: string, fn: () => void, perCall: number): number[] {
  const b = new Benchmark(name, fn, { maxTime: quick ? 0.5 : 2, minSamples: quick ? 5 : 20 });
  b.run();
  if (b.error) throw b.error;
  return b.stats.sample.map((s) => (s * 1e9) / perCall);
}

/** Start times of garbage collections, to tell whether one ran inside a measured loop. */
const gcStarts: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcStarts.push(e.startTime);
});
observer.observe({ entryTypes: ['gc'] });
const settle = () => new Promise((res) => setTimeout(res, 20)); // GC entries arrive asynchronously

/**
 * Bytes allocated per packet over BATCHES calls of BATCH packets, one figure per run: heap growth between two
 * points with GC forced before, valid only if no GC ran in between (the young generation is 128 MiB for that).
 */
async function bytesPerPacket(fn: () => void): Promise<number[]> {
  const runs: number[] = [];
  for (let r = 0; r < ALLOC_RUNS; r++) {
    gc!();
    gc!();
    await settle();
    const t0 = performance.now();
    const before = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < BATCHES; i++) fn();
    const after = v8.getHeapStatistics().used_heap_size;
    const t1 = performance.now();
    await settle();
    const inLoop = gcStarts.filter((t) => t >= t0 && t <= t1).length;
    if (inLoop)
      throw new Error(`${inLoop} GC(s) ran inside the allocation loop: the heap difference is not the allocation`);
    runs.push((after - before) / (BATCHES * BATCH));
  }
  return runs;
}

const cases: [string, () => void][] = [
  ['vxlan 64 B', vxlanCase(64)],
  ['vxlan 1400 B', vxlanCase(1400)],
  ['flannel-udp 64 B', flannelCase(64)],
  ['flannel-udp 1400 B', flannelCase(1400)],
];
const rows: Row[] = [];
for (const [name, fn] of cases) {
  for (let i = 0; i < 5_000; i++) fn(); // warm up: optimized before anything is measured
  rows.push(row(name, 'encapsulate+decapsulate', 'ns/packet', nsPerPacket(name, fn, BATCH)));
  rows.push(row(name, 'allocated', 'bytes/packet', await bytesPerPacket(fn)));
}
// Calibration: a loop that allocates one small object per packet must show up (tens of bytes each), or the
// allocation figures above mean nothing.
let keep: { a: number } | undefined;
const allocating = (
  await bytesPerPacket(() => {
    for (let i = 0; i < BATCH; i++) keep = { a: i };
  })
)[0]!;
if (!(allocating >= 8 && allocating <= 128))
  throw new Error(`allocation calibration measured ${allocating} bytes per object`);
rows.push(row('calibration: one {a} object per packet', 'allocated', 'bytes/packet', [allocating]));
// Helpers the agent and the tunnel call per packet or per batch, for scale.
const big = slab(1400);
let sink = 0;
rows.push(
  row(
    'internetChecksum 1400 B',
    'checksum',
    'ns/call',
    nsPerPacket(
      'checksum',
      () => {
        sink ^= internetChecksum(big, HEADROOM, 1400);
      },
      1,
    ),
  ),
);
rows.push(
  row(
    'vxlanSourcePort IPv4',
    'flow hash',
    'ns/call',
    nsPerPacket(
      'port',
      () => {
        for (let p = HEADROOM; p < BATCH * SLOT; p += SLOT) sink ^= vxlanSourcePort(big, p, 1400);
      },
      BATCH,
    ),
  ),
);
observer.disconnect();
if (failures) throw new Error(`${failures} packets were dropped during the benchmark: the cases are wrong`);

const report = publish('encap', rows, json);
console.log(`\n${JSON.stringify(report)}`);
const slow = rows.filter((r) => r.unit === 'ns/packet' && r.median >= 50).map((r) => r.case);
const heavy = rows
  .filter((r) => r.unit === 'bytes/packet' && r.median >= 1 && !r.case.startsWith('calibration'))
  .map((r) => r.case);
console.log(
  `\ntargets (< 50 ns, 0 bytes per packet): ${slow.length || heavy.length ? `MISSED: ${[...slow, ...heavy].join(', ')}` : 'met'}`,
);
if (sink === 0.5 || keep?.a === -1) console.log(sink); // keeps the results alive
