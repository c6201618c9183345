// UPDATE decode rate of @weft/route-sync's codec on a 100,000-prefix table, the way a full table dump arrives:
// UPDATEs pushed through the stream framer in 64 KiB TCP-sized chunks.
//   node scripts/run.mjs bench/bgp-codec.bench.ts [--json FILE] [--quick]   (also part of `npm run bench:bgp`)
// Cases:
// - ipv4-packed: IPv4 /24 NLRI packed into 4096-byte UPDATEs (about 1000 prefixes each) behind the usual
//   attributes (ORIGIN, 4-octet AS_PATH, NEXT_HOP, MED, COMMUNITIES).
// - ipv4-small: the same table at 8 prefixes per UPDATE, closer to a real Internet table, where prefixes
//   sharing all attributes are few: attribute decoding dominates.
// - ipv6-mp-reach: IPv6 /48 NLRI packed into MP_REACH_NLRI (32-byte next hop, as BIRD sends it).
// - minimal-nlri: the baseline, the ipv4-packed stream walked by length fields into the same prefix objects with
//   no checks and no attribute decoding.
// Metric: prefixes per second (median of the runs, after one warm-up run); the ratio to the baseline is printed.
import { fileURLToPath } from 'node:url';
import {
  AttrType,
  BgpDecoder,
  MessageType,
  encodeMessageToBuffer,
  type CodecContext,
  type PathAttribute,
  type Prefix,
  type UpdateMessage,
} from '@weft/route-sync';
import { parsePrefix } from '@weft/route-sync/bench';
import { publish, row, type Row } from './lib/report.ts';

const TABLE_SIZE = 100_000;
const CHUNK = 65536;
const CTX: CodecContext = { fourOctetAs: true };

function baseAttributes(i: number): PathAttribute[] {
  return [
    { type: AttrType.Origin, origin: 0 },
    { type: AttrType.AsPath, segments: [{ type: 2, asns: [64512, 3356, 1299 + (i % 7), 4200000000 + (i % 100)] }] },
    { type: AttrType.NextHop, nextHop: '192.0.2.1' },
    { type: AttrType.MultiExitDisc, med: i % 50 },
    { type: AttrType.Communities, communities: [((64512 << 16) >>> 0) | (i % 1000), 0xffffff01] },
  ];
}

/** Packs `prefixes` into UPDATEs of at most `perUpdate` prefixes and 4096 bytes; returns the wire stream. */
function buildStream(
  prefixes: Prefix[],
  perUpdate: number,
  make: (batch: Prefix[], i: number) => UpdateMessage,
): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < prefixes.length) {
    let n = Math.min(perUpdate, prefixes.length - i);
    let buf: Buffer | undefined;
    for (;;) {
      try {
        buf = encodeMessageToBuffer(make(prefixes.slice(i, i + n), out.length), CTX);
        break;
      } catch (e) {
        if (!(e instanceof RangeError) || n === 1) throw e;
        n = Math.floor(n * 0.95); // too big for 4096 bytes: shrink the batch
      }
    }
    out.push(buf);
    i += n;
  }
  return Buffer.concat(out);
}

function ipv4Table(): Prefix[] {
  return Array.from({ length: TABLE_SIZE }, (_, i) =>
    parsePrefix(`${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`),
  );
}

function ipv6Table(): Prefix[] {
  return Array.from({ length: TABLE_SIZE }, (_, i) =>
    parsePrefix(`2001:${(0x1000 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}::/48`),
  );
}

const ipv4Update = (nlri: Prefix[], i: number): UpdateMessage => ({
  type: MessageType.Update,
  withdrawn: [],
  attributes: baseAttributes(i),
  nlri,
});
const ipv6Update = (nlri: Prefix[], i: number): UpdateMessage => ({
  type: MessageType.Update,
  withdrawn: [],
  nlri: [],
  attributes: [
    { type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '2001:db8:ff::1', linkLocalNextHop: 'fe80::1', nlri },
    ...baseAttributes(i).filter((a) => a.type !== AttrType.NextHop),
  ],
});

/** Decodes the whole stream through the framer; returns prefixes seen (checked against the table size). */
function decodeStream(stream: Buffer): number {
  const d = new BgpDecoder({ context: CTX });
  let prefixes = 0;
  for (let off = 0; off < stream.length; off += CHUNK) {
    for (const m of d.write(stream.subarray(off, off + CHUNK))) {
      if (m.type !== MessageType.Update) continue;
      prefixes += m.nlri.length;
      for (const a of m.attributes) if (a.type === AttrType.MpReachNlri) prefixes += a.nlri.length;
    }
  }
  return prefixes;
}

/**
 * Baseline: the least work that yields the same IPv4 prefix objects: walk messages by their length fields, skip the
 * attributes, turn each NLRI into `{ afi, length, addr }`, no checks at all. The ratio is the cost of the framer,
 * the attribute decoding and the RFC checks.
 */
function minimalNlri(stream: Buffer): number {
  const out: Prefix[] = [];
  let prefixes = 0;
  for (let off = 0; off + 19 <= stream.length; ) {
    const end = off + stream.readUInt16BE(off + 16);
    const withdrawnLen = stream.readUInt16BE(off + 19);
    let p = off + 23 + withdrawnLen + stream.readUInt16BE(off + 21 + withdrawnLen);
    while (p < end) {
      const length = stream[p]!;
      const n = (length + 7) >> 3;
      out.push({
        afi: 1,
        length,
        addr: `${stream[p + 1]}.${n > 1 ? stream[p + 2] : 0}.${n > 2 ? stream[p + 3] : 0}.${n > 3 ? stream[p + 4] : 0}`,
      });
      p += 1 + n;
    }
    prefixes += out.length;
    out.length = 0;
    off = end;
  }
  return prefixes;
}

function measure(name: string, runs: number, stream: Buffer, fn: (s: Buffer) => number): Row[] {
  if (fn(stream) !== TABLE_SIZE) throw new Error(`${name}: decoded a wrong number of prefixes`); // warm-up + check
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    const n = fn(stream);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(n / s);
  }
  return [row(name, 'decode-rate', 'prefixes/s', rates), row(name, 'stream-size', 'bytes', [stream.length])];
}

/** Runs every case and returns the rows, for bench/bgp.bench.ts to merge into one report. */
export async function runCodecBench(opts: { quick?: boolean } = {}): Promise<Row[]> {
  const runs = opts.quick ? 2 : 7;
  const v4 = ipv4Table();
  const packed = buildStream(v4, 2000, ipv4Update);
  const rows = [
    ...measure('bgp-codec minimal-nlri (baseline)', runs, packed, minimalNlri),
    ...measure('bgp-codec update-decode ipv4-packed', runs, packed, decodeStream),
    ...measure('bgp-codec update-decode ipv4-small', runs, buildStream(v4, 8, ipv4Update), decodeStream),
    ...measure('bgp-codec update-decode ipv6-mp-reach', runs, buildStream(ipv6Table(), 2000, ipv6Update), decodeStream),
  ];
  return rows;
}

/** "x.y% of the baseline" lines for the decode rows. */
export function codecRatios(rows: Row[]): string[] {
  const base = rows.find((r) => r.case.includes('baseline') && r.metric === 'decode-rate');
  if (!base) return [];
  return rows
    .filter((r) => r.metric === 'decode-rate' && r !== base)
    .map(
      (r) =>
        `${r.case}: ${(r.median / 1e6).toFixed(2)} M prefixes/s = ${((100 * r.median) / base.median).toFixed(1)}% of the minimal-nlri baseline`,
    );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const rows = await runCodecBench({ quick: argv.includes('--quick') });
  publish('bgp-codec', rows, json);
  for (const line of codecRatios(rows)) console.log(line);
}
