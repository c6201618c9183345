// The IPv6 forwarding table: longest-prefix match from an inner IPv6 destination, given as its four uint32 words
// (most significant first, as @weft/netaddr's packed form reads them from a header), to a small integer value (the
// peer index). It runs once per IPv6 packet, so lookup allocates nothing: no bigint, no string.
//
// Design notes: the IPv4 Fib's layout with 128-bit keys. One open-addressing table per prefix length in use, keyed
// by the four masked words (stored side by side in one Uint32Array), probed longest length first; a cluster uses
// one IPv6 subnet length (/64 by default), so a lookup is usually one hash and one compare. bigint is used only
// where a prefix is added or removed (control plane).
import { ipv6Mask, ipv6ToWords, type Ipv6Prefix } from '@weft/netaddr';

const EMPTY = -1;
const TOMBSTONE = -2;

function hash4(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ w1, 0x9e3779b1);
  h = Math.imul(h ^ w2, 0x9e3779b1);
  h = Math.imul(h ^ w3, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Keys (4 words each) and values of one prefix length. */
class LengthTable6 {
  keys: Uint32Array;
  values: Int32Array;
  used = 0;
  live = 0;

  constructor(capacity = 16) {
    this.keys = new Uint32Array(capacity * 4);
    this.values = new Int32Array(capacity).fill(EMPTY);
  }

  private at(i: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const k = this.keys;
    const o = i * 4;
    return k[o] === w0 && k[o + 1] === w1 && k[o + 2] === w2 && k[o + 3] === w3;
  }

  get(w0: number, w1: number, w2: number, w3: number): number {
    const mask = this.values.length - 1;
    for (let i = hash4(w0, w1, w2, w3) & mask; ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY) return -1;
      if (v !== TOMBSTONE && this.at(i, w0, w1, w2, w3)) return v;
    }
  }

  set(w: Uint32Array, value: number): void {
    if ((this.used + 1) * 2 > this.values.length)
      this.rehash(this.live * 4 > this.values.length ? this.values.length * 2 : this.values.length);
    const [w0, w1, w2, w3] = [w[0]!, w[1]!, w[2]!, w[3]!];
    const mask = this.values.length - 1;
    let grave = -1;
    for (let i = hash4(w0, w1, w2, w3) & mask; ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === TOMBSTONE) {
        if (grave < 0) grave = i;
      } else if (v === EMPTY) {
        const slot = grave >= 0 ? grave : i;
        if (grave < 0) this.used++;
        this.keys.set(w.subarray(0, 4), slot * 4);
        this.values[slot] = value;
        this.live++;
        return;
      } else if (this.at(i, w0, w1, w2, w3)) {
        this.values[i] = value;
        return;
      }
    }
  }

  delete(w: Uint32Array): boolean {
    const mask = this.values.length - 1;
    for (let i = hash4(w[0]!, w[1]!, w[2]!, w[3]!) & mask; ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY) return false;
      if (v !== TOMBSTONE && this.at(i, w[0]!, w[1]!, w[2]!, w[3]!)) {
        this.values[i] = TOMBSTONE;
        this.live--;
        return true;
      }
    }
  }

  private rehash(capacity: number): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(capacity * 4);
    this.values = new Int32Array(capacity).fill(EMPTY);
    this.used = 0;
    this.live = 0;
    for (let i = 0; i < values.length; i++) if (values[i]! >= 0) this.set(keys.subarray(i * 4, i * 4 + 4), values[i]!);
  }
}

export class Fib6 {
  private readonly tables: (LengthTable6 | undefined)[] = new Array(129);
  /** Prefix lengths in use, longest first. */
  private lengths = new Int32Array(0);
  /** Mask words per length: masks[len * 4 + w]. */
  private readonly masks = new Uint32Array(129 * 4);
  private readonly scratch = new Uint32Array(4);

  constructor() {
    for (let len = 0; len <= 128; len++) ipv6ToWords(ipv6Mask(len), this.masks, len * 4);
  }

  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t?.live ?? 0;
    return n;
  }

  /** Adds or replaces the route for `net` (host bits ignored); `value` must be >= 0. */
  set(net: Ipv6Prefix, value: number): void {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`FIB value ${value}: use an integer >= 0`);
    let t = this.tables[net.prefixLen];
    if (!t) {
      t = this.tables[net.prefixLen] = new LengthTable6();
      this.refreshLengths();
    }
    t.set(this.key(net), value);
  }

  /** Removes the route for exactly `net`; false when there was none. */
  delete(net: Ipv6Prefix): boolean {
    const t = this.tables[net.prefixLen];
    if (!t || !t.delete(this.key(net))) return false;
    if (t.live === 0) {
      this.tables[net.prefixLen] = undefined;
      this.refreshLengths();
    }
    return true;
  }

  /** The value of the longest prefix holding the address w0..w3, or -1. No allocation. */
  lookup(w0: number, w1: number, w2: number, w3: number): number {
    const { lengths, masks } = this;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      const m = len * 4;
      const v = this.tables[len]!.get(
        (w0 & masks[m]!) >>> 0,
        (w1 & masks[m + 1]!) >>> 0,
        (w2 & masks[m + 2]!) >>> 0,
        (w3 & masks[m + 3]!) >>> 0,
      );
      if (v >= 0) return v;
    }
    return -1;
  }

  private key(net: Ipv6Prefix): Uint32Array {
    ipv6ToWords(net.ip, this.scratch);
    for (let w = 0; w < 4; w++) this.scratch[w] = (this.scratch[w]! & this.masks[net.prefixLen * 4 + w]!) >>> 0;
    return this.scratch;
  }

  private refreshLengths(): void {
    const present: number[] = [];
    for (let len = 128; len >= 0; len--) if (this.tables[len]) present.push(len);
    this.lengths = Int32Array.from(present);
  }
}
