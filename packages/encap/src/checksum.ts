// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of the data taken
// as big-endian 16-bit words, an odd last byte padded with a zero on its right. Used by IPv4 headers, ICMP, UDP
// and TCP (with a pseudo-header: pass its partial sum as `initial`).
//
// Design notes: the fast path sums even-offset and odd-offset bytes separately (`hi` and `lo`), 8 bytes per loop
// turn. Each sum stays a small integer (255 * 32768 for a 64 KiB packet), so V8 keeps them as Smis with no
// overflow checks and no 16-bit word assembly per step; the two sums are combined and folded once at the end
// (RFC 1071 section 2(B), deferred carries, and 2(C), parallel summation). No allocation.

/**
 * One's complement sum of `length` bytes at `offset`, folded to 16 bits, plus `initial` (a previous partial
 * sum, e.g. of a pseudo-header). Chain partial sums only over even-length pieces, as the padding is per call.
 * Returns 0..0xffff. Reads only `[offset, offset + length)`; the caller guarantees that range is in `buf`.
 */
export function onesComplementSum(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  let hi = 0;
  let lo = 0;
  let i = offset;
  const end8 = offset + (length & ~7);
  while (i < end8) {
    hi += buf[i]! + buf[i + 2]! + buf[i + 4]! + buf[i + 6]!;
    lo += buf[i + 1]! + buf[i + 3]! + buf[i + 5]! + buf[i + 7]!;
    i += 8;
  }
  const end = offset + length;
  while (i + 1 < end) {
    hi += buf[i]!;
    lo += buf[i + 1]!;
    i += 2;
  }
  if (i < end) hi += buf[i]!;
  let sum = hi * 256 + lo + initial;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum of `[offset, offset + length)`: what goes in the header's checksum field (0..0xffff). */
export function internetChecksum(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  return ~onesComplementSum(buf, offset, length, initial) & 0xffff;
}

/**
 * RFC 1624 section 3, eqn. 3: the new checksum after one 16-bit word of the covered data changes from `oldWord`
 * to `newWord`: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never yields 0xffff where a full recomputation gives 0.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
