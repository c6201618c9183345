// The forwarding table: longest-prefix match from an inner IPv4 destination (uint32) to a small integer value
// (the peer index the UDP socket sends to). It runs once per packet, so lookup allocates nothing.
//
// Design notes: one open-addressing hash table per prefix length in use, keyed by the masked address. A lookup
// probes only the lengths present, longest first; a cluster holds one length (/24 by default), so a lookup is
// usually one probe. Tables double when half full; deletes use tombstones and a rebuild when they pile up.
import { ipv4Mask, type Ipv4Prefix } from '@weft/netaddr';

const EMPTY = -1;
const TOMBSTONE = -2;

/** Keys and values of one prefix length. */
class LengthTable {
  keys: Uint32Array;
  values: Int32Array; // EMPTY, TOMBSTONE, or the value (>= 0)
  used = 0; // live + tombstones
  live = 0;

  constructor(capacity = 16) {
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity).fill(EMPTY);
  }

  private slot(key: number): number {
    // Knuth's multiplicative hash; capacity is a power of two.
    return (Math.imul(key, 0x9e3779b1) >>> 0) & (this.keys.length - 1);
  }

  get(key: number): number {
    const mask = this.keys.length - 1;
    for (let i = this.slot(key); ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY) return -1;
      if (v !== TOMBSTONE && this.keys[i] === key) return v;
    }
  }

  set(key: number, value: number): void {
    if ((this.used + 1) * 2 > this.keys.length)
      this.rehash(this.live * 4 > this.keys.length ? this.keys.length * 2 : this.keys.length);
    const mask = this.keys.length - 1;
    let grave = -1;
    for (let i = this.slot(key); ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === TOMBSTONE) {
        if (grave < 0) grave = i;
      } else if (v === EMPTY) {
        const at = grave >= 0 ? grave : i;
        if (grave < 0) this.used++;
        this.keys[at] = key;
        this.values[at] = value;
        this.live++;
        return;
      } else if (this.keys[i] === key) {
        this.values[i] = value;
        return;
      }
    }
  }

  delete(key: number): boolean {
    const mask = this.keys.length - 1;
    for (let i = this.slot(key); ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY) return false;
      if (v !== TOMBSTONE && this.keys[i] === key) {
        this.values[i] = TOMBSTONE;
        this.live--;
        return true;
      }
    }
  }

  private rehash(capacity: number): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity).fill(EMPTY);
    this.used = 0;
    this.live = 0;
    for (let i = 0; i < keys.length; i++) if (values[i]! >= 0) this.set(keys[i]!, values[i]!);
  }
}

export class Fib {
  private readonly tables: (LengthTable | undefined)[] = new Array(33);
  /** Prefix lengths with at least one entry, longest first (what lookup walks). */
  private lengths = new Int32Array(0);
  private readonly masks = new Uint32Array(33);

  constructor() {
    for (let len = 0; len <= 32; len++) this.masks[len] = ipv4Mask(len);
  }

  /** Number of prefixes. */
  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t?.live ?? 0;
    return n;
  }

  /** Adds or replaces the route for `net` (host bits are ignored); `value` must be >= 0. */
  set(net: Ipv4Prefix, value: number): void {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`FIB value ${value}: use an integer >= 0`);
    let t = this.tables[net.prefixLen];
    if (!t) {
      t = this.tables[net.prefixLen] = new LengthTable();
      this.refreshLengths();
    }
    t.set((net.ip & this.masks[net.prefixLen]!) >>> 0, value);
  }

  /** Removes the route for exactly `net`; false when there was none. */
  delete(net: Ipv4Prefix): boolean {
    const t = this.tables[net.prefixLen];
    if (!t || !t.delete((net.ip & this.masks[net.prefixLen]!) >>> 0)) return false;
    if (t.live === 0) {
      this.tables[net.prefixLen] = undefined;
      this.refreshLengths();
    }
    return true;
  }

  /** The value of the longest prefix containing `ip` (uint32), or -1. No allocation. */
  lookup(ip: number): number {
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      const v = this.tables[len]!.get((ip & this.masks[len]!) >>> 0);
      if (v >= 0) return v;
    }
    return -1;
  }

  private refreshLengths(): void {
    const present: number[] = [];
    for (let len = 32; len >= 0; len--) if (this.tables[len]) present.push(len);
    this.lengths = Int32Array.from(present);
  }
}
