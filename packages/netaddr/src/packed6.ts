// The hot-path form of IPv6: four uint32 numbers (w0 most significant), read from the packet into locals, and
// prefixes as rows of 8 uint32 in one Uint32Array (4 network words, then 4 mask words). No allocation per lookup.
//
// Design notes: `npm run bench:netaddr` (bench/netaddr.bench.ts) times a longest-prefix match over 64 IPv6 routes
// (/32../128, sorted longest first) for 1024 destinations read from IPv6 headers, one candidate key form per case,
// cases interleaved per round. Medians of 9 runs, ns per lookup, on the shared 2-core VM (Node 20, load ~10):
//   four numbers in locals, rows in one Uint32Array, one loop (ipv6FirstMatch)    69   0.07x bigint
//   the same rows, one ipv6RowContains call per route                            113   0.12x
//   Uint32Array(4) scratch and the same rows                                     103   0.11x
//   Uint8Array(16) compared in place, byte by byte                               188   0.21x
//   bigint per route, (dst & mask) === net                                       918   1x (allocates per packet)
//   bigint keys in one Map per prefix length                                     520   0.57x
// Locals win by keeping the words in registers as small integers and leaving a row at its first differing word
// (most routes differ from a destination in w0 or w1); the loop inside the package beats a call per row. bigint
// stays the form for config, leases and the allocator, where an address is parsed once and 128-bit arithmetic is
// the job.
import type { Ipv6Prefix } from './ipv6.ts';
import { ipv6Mask } from './ipv6.ts';

/** Uint32 array slots per prefix row: 4 network words then 4 mask words. */
export const IPV6_ROW_WORDS = 8;

/** Big-endian uint32 at `offset`, as a non-negative number. The caller checks that 4 bytes are there. */
export function readU32BE(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

/** Writes the four words of `ip` (most significant first) into `out` at `at`. */
export function ipv6ToWords(ip: bigint, out: Uint32Array, at = 0): void {
  for (let w = 3; w >= 0; w--, ip >>= 32n) out[at + w] = Number(ip & 0xffffffffn);
}

/** The address whose four words are w0..w3 (most significant first). */
export function ipv6FromWords(w0: number, w1: number, w2: number, w3: number): bigint {
  return (BigInt(w0 >>> 0) << 96n) | (BigInt(w1 >>> 0) << 64n) | (BigInt(w2 >>> 0) << 32n) | BigInt(w3 >>> 0);
}

/** Writes `prefix` as a row (network words, mask words) into `rows` at row index `row`. */
export function writeIpv6PrefixRow(prefix: Ipv6Prefix, rows: Uint32Array, row: number): void {
  ipv6ToWords(prefix.ip, rows, row * IPV6_ROW_WORDS);
  ipv6ToWords(ipv6Mask(prefix.prefixLen), rows, row * IPV6_ROW_WORDS + 4);
}

/**
 * True when the address w0..w3 lies in the prefix at row index `row` of `rows`. Stops at the first word that
 * differs, or at the first mask word that is zero (the rest of the prefix is then host bits).
 */
export function ipv6RowContains(
  rows: Uint32Array,
  row: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): boolean {
  const r = row * IPV6_ROW_WORDS;
  if ((w0 & rows[r + 4]!) >>> 0 !== rows[r]) return false;
  if (rows[r + 5] === 0) return true;
  if ((w1 & rows[r + 5]!) >>> 0 !== rows[r + 1]) return false;
  if (rows[r + 6] === 0) return true;
  if ((w2 & rows[r + 6]!) >>> 0 !== rows[r + 2]) return false;
  return (w3 & rows[r + 7]!) >>> 0 === rows[r + 3];
}

/**
 * The first of rows 0..count-1 that holds the address w0..w3, or -1. With rows sorted longest prefix first, that
 * is the longest-prefix match. One loop with no call per row: the form bench/netaddr.bench.ts measured.
 */
export function ipv6FirstMatch(
  rows: Uint32Array,
  count: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): number {
  for (let i = 0, r = 0; i < count; i++, r += IPV6_ROW_WORDS) {
    if ((w0 & rows[r + 4]!) >>> 0 !== rows[r]) continue;
    if (rows[r + 5] === 0) return i;
    if ((w1 & rows[r + 5]!) >>> 0 !== rows[r + 1]) continue;
    if (rows[r + 6] === 0) return i;
    if ((w2 & rows[r + 6]!) >>> 0 !== rows[r + 2]) continue;
    if ((w3 & rows[r + 7]!) >>> 0 === rows[r + 3]) return i;
  }
  return -1;
}
