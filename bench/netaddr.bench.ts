// Which packed form of an IPv6 address makes the cheapest longest-prefix-match key (@weft/netaddr's design notes
// quote the result):   npm run bench:netaddr -- [--json FILE] [--quick]
// The job is the FIB's: for each packet of a batch, read the destination address from the IPv6 header (bytes 24..40)
// and find the longest of ROUTES prefixes (lengths /32../128, sorted longest first) that holds it. Candidates:
// - bigint: the address read into one bigint, each route compared as (dst & mask) === net;
// - words-locals: four uint32 numbers in local variables, each route a row of 4 net words and 4 mask words in
//   one Uint32Array (a mask word that is 0 ends the row early): @weft/netaddr's ipv6FirstMatch, as shipped;
// - words-row-call: the same rows, but one ipv6RowContains call per route;
// - words-array: the same but the four words go through a preallocated Uint32Array(4) scratch;
// - bytes: the 16 bytes compared in place in the packet against per-route net and mask bytes (Uint8Array);
// - bigint-map: one Map<bigint, route> per prefix length present, the masked bigint looked up in each, longest first.
// Metric: ns per lookup (median over runs of BATCHES batches of 1024 packets; cases interleaved in each round so
// drift falls on all alike). Every case must find the same routes (checked before timing).
import { performance } from 'node:perf_hooks';
import {
  ipv6FromBytes,
  ipv6FirstMatch,
  ipv6Mask,
  ipv6RowContains,
  readU32BE,
  writeIpv6Bytes,
  writeIpv6PrefixRow,
} from '@weft/netaddr';
import { parseBenchArgs, publish, row, type Row } from './lib/report.ts';

const { json, quick } = parseBenchArgs();
const ROUTES = 64;
const PACKETS = 1024;
const HEADER = 40;
const DST = 24;
const RUNS = quick ? 3 : 9;
const BATCHES = quick ? 100 : 400;

// A fixed pseudo-random sequence (xorshift32), so every run sees the same table and packets.
let seed = 0x2545f491;
const rand32 = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const rand128 = (): bigint =>
  (BigInt(rand32()) << 96n) | (BigInt(rand32()) << 64n) | (BigInt(rand32()) << 32n) | BigInt(rand32());

const LENGTHS = [32, 48, 56, 64, 64, 64, 80, 96, 112, 128];
const routes = Array.from({ length: ROUTES }, () => {
  const len = LENGTHS[rand32() % LENGTHS.length]!;
  return { len, net: ((0xfdn << 120n) | (rand128() >> 8n)) & ipv6Mask(len) };
}).sort((a, b) => b.len - a.len);

// Half the packets go to an address inside a route, half to a random fd00::/8 address (mostly no route).
const packets = Buffer.alloc(PACKETS * HEADER);
for (let i = 0; i < PACKETS; i++) {
  const r = routes[rand32() % ROUTES]!;
  const host = rand128() & ~ipv6Mask(r.len);
  writeIpv6Bytes(i % 2 ? r.net | host : (0xfdn << 120n) | (rand128() >> 8n), packets, i * HEADER + DST);
}

const words = new Uint32Array(ROUTES * 8);
const bytes = new Uint8Array(ROUTES * 32);
routes.forEach((r, i) => {
  const m = ipv6Mask(r.len);
  writeIpv6PrefixRow({ ip: r.net, prefixLen: r.len }, words, i);
  writeIpv6Bytes(r.net, bytes, i * 32);
  writeIpv6Bytes(m, bytes, i * 32 + 16);
});
const masks = routes.map((r) => ipv6Mask(r.len));
const nets = routes.map((r) => r.net);
const byLength = new Map<number, Map<bigint, number>>();
routes.forEach((r, i) => {
  const m = byLength.get(r.len) ?? new Map<bigint, number>();
  if (!m.has(r.net)) m.set(r.net, i);
  byLength.set(r.len, m);
});
const tables = [...byLength.entries()].sort((a, b) => b[0] - a[0]).map(([len, m]) => ({ mask: ipv6Mask(len), m }));

const u32 = readU32BE;

function lookupBigint(buf: Uint8Array, off: number): number {
  const dst = ipv6FromBytes(buf, off);
  for (let i = 0; i < ROUTES; i++) if ((dst & masks[i]!) === nets[i]) return i;
  return -1;
}

function lookupWordsLocals(buf: Uint8Array, off: number): number {
  const w0 = u32(buf, off),
    w1 = u32(buf, off + 4),
    w2 = u32(buf, off + 8),
    w3 = u32(buf, off + 12);
  return ipv6FirstMatch(words, ROUTES, w0, w1, w2, w3);
}

function lookupWordsRowCall(buf: Uint8Array, off: number): number {
  const w0 = u32(buf, off),
    w1 = u32(buf, off + 4),
    w2 = u32(buf, off + 8),
    w3 = u32(buf, off + 12);
  for (let i = 0; i < ROUTES; i++) if (ipv6RowContains(words, i, w0, w1, w2, w3)) return i;
  return -1;
}

const scratch = new Uint32Array(4);
function lookupWordsArray(buf: Uint8Array, off: number): number {
  for (let w = 0; w < 4; w++) scratch[w] = u32(buf, off + 4 * w);
  for (let i = 0, r = 0; i < ROUTES; i++, r += 8) {
    let w = 0;
    while (w < 4 && (scratch[w]! & words[r + 4 + w]!) >>> 0 === words[r + w]) w++;
    if (w === 4) return i;
  }
  return -1;
}

function lookupBytes(buf: Uint8Array, off: number): number {
  for (let i = 0, r = 0; i < ROUTES; i++, r += 32) {
    let b = 0;
    while (b < 16 && (buf[off + b]! & bytes[r + 16 + b]!) === bytes[r + b]) b++;
    if (b === 16) return i;
  }
  return -1;
}

function lookupBigintMap(buf: Uint8Array, off: number): number {
  const dst = ipv6FromBytes(buf, off);
  for (const t of tables) {
    const i = t.m.get(dst & t.mask);
    if (i !== undefined) return i;
  }
  return -1;
}

const CASES: [string, (buf: Uint8Array, off: number) => number][] = [
  ['bigint', lookupBigint],
  ['words-locals', lookupWordsLocals],
  ['words-row-call', lookupWordsRowCall],
  ['words-array', lookupWordsArray],
  ['bytes', lookupBytes],
  ['bigint-map', lookupBigintMap],
];

/** Sum over one batch of the found route indexes: the same for every correct candidate, and keeps the JIT honest. */
function batch(lookup: (buf: Uint8Array, off: number) => number): number {
  let sum = 0;
  for (let p = 0; p < PACKETS; p++) sum += lookup(packets, p * HEADER + DST);
  return sum;
}

const expected = batch(lookupBigint);
for (const [name, f] of CASES) if (batch(f) !== expected) throw new Error(`${name} finds other routes than bigint`);

const runs = new Map<string, number[]>(CASES.map(([n]) => [n, []]));
for (let round = 0; round <= RUNS; round++) {
  for (const [name, f] of CASES) {
    const t0 = performance.now();
    for (let b = 0; b < BATCHES; b++) batch(f);
    const ns = ((performance.now() - t0) * 1e6) / (BATCHES * PACKETS);
    if (round > 0) runs.get(name)!.push(ns); // round 0 warms the JIT up
  }
}
const rows: Row[] = CASES.map(([name]) => row(name, 'lookup', 'ns/lookup', runs.get(name)!));
publish('netaddr', rows, json);
const base = rows[0]!.median;
for (const r of rows) console.log(`${r.case}: ${(r.median / base).toFixed(2)}x bigint`);
