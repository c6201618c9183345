// The overlay backends' peer table: small integer peer indexes (what the UDP socket sends to) with, per index,
// the peer's subnets (for the receive-side source check) and its VXLAN template. Typed arrays indexed by peer,
// so the per-packet checks are array reads, not map lookups or allocations. Peers are known by their lease key
// (or IPv4 subnet text, for BGP routes), so an IPv6-only lease is a peer with an IPv6 subnet only (has4 0).
//
// Design notes: the arrays start small and double when an index outgrows them (freed indexes are reused
// first, so the highest index stays below the peer count). The one bound left is the addon's peer index range
// (PEER_INDEX_LIMIT); the agent's --max-peers sits at or below it, so upsert never meets it in practice.
import {
  formatIpv4Prefix as formatIp4Net,
  formatIpv6Prefix,
  ipv4Mask as maskOf,
  ipv6RowContains,
  IPV6_ROW_WORDS,
  tryParseIpv4 as parseIp4,
  tryParseIpv6,
  ipv6ToBytes,
  writeIpv6PrefixRow,
  type Ipv4Prefix as Ip4Net,
  type Ipv6Prefix,
} from '@weft/netaddr';
import { hasIpv4Subnet, subnetKey } from '../subnet-key.ts';

/** Peer indexes the native UDP and TAP senders accept: 0 .. 2^20 (tunnel/native/args.h, kMaxPeerIndex). */
export const PEER_INDEX_LIMIT = 1 << 20;
const INITIAL_CAPACITY = 64;

export interface PeerSlot {
  index: number;
  /** NO_IPV4_SUBNET for an IPv6-only peer. */
  subnet: Ip4Net;
  publicIp: string;
  vtepMac?: string;
  /** Dual stack: the peer's IPv6 subnet, its PublicIPv6 (absent: IPv4 underlay only), its IPv6 VTEP MAC (vxlan). */
  ipv6?: PeerIpv6;
}

/** A peer's IPv6 side, from its lease (ipv6Subnet, PublicIPv6, BackendV6Data.VtepMAC). */
export interface PeerIpv6 {
  subnet: Ipv6Prefix;
  publicIp?: string;
  vtepMac?: string;
}

/** More peers than the addon can index (PEER_INDEX_LIMIT). */
export class PeerTableFullError extends RangeError {
  override name = 'PeerTableFullError';
  constructor() {
    super(`more than ${PEER_INDEX_LIMIT} peers: the native senders index peers below ${PEER_INDEX_LIMIT}`);
  }
}

/** One route of /status: a peer subnet of either family, its underlay next hop, its VTEP MAC (vxlan). */
export interface PeerRoute {
  subnet: string;
  via: string;
  vtepMac?: string;
  index: number;
}

export class PeerTable {
  /** Per peer index: subnet network address and mask, for "inner source lies in the sender's subnet". */
  subnetIp = new Uint32Array(INITIAL_CAPACITY);
  subnetMask = new Uint32Array(INITIAL_CAPACITY);
  /** Per peer index: underlay address as uint32 (for captures). */
  address = new Uint32Array(INITIAL_CAPACITY);
  /** Per peer index: its PublicIPv6 as 16 bytes, when its lease has one (for captures over the IPv6 underlay). */
  readonly address6 = new Map<number, Uint8Array>();
  /** 1 when the index is in use. */
  live = new Uint8Array(INITIAL_CAPACITY);
  /** Per peer index: its IPv6 subnet as a packed row (4 network words, 4 mask words), when has6 is 1. */
  subnet6 = new Uint32Array(INITIAL_CAPACITY * IPV6_ROW_WORDS);
  has6 = new Uint8Array(INITIAL_CAPACITY);
  /** 1 when the peer has an IPv4 subnet (0: IPv6-only lease, no IPv4 source is its own). */
  has4 = new Uint8Array(INITIAL_CAPACITY);
  private readonly bySubnet = new Map<string, PeerSlot>();
  private readonly free: number[] = [];
  private next = 0;

  get size(): number {
    return this.bySubnet.size;
  }

  /** Length of the per-index arrays (grows by doubling). */
  get capacity(): number {
    return this.live.length;
  }

  /** The peer known by `key` (a lease key, or an IPv4 subnet whose key text is used). */
  get(key: string | Ip4Net): PeerSlot | undefined {
    return this.bySubnet.get(typeof key === 'string' ? key : subnetKey(key));
  }

  /**
   * Adds or updates the peer known by `key` (default: the subnet's key text), owning `subnet` (NO_IPV4_SUBNET for
   * an IPv6-only peer); returns its slot (the index is stable across updates). Throws PeerTableFullError past
   * PEER_INDEX_LIMIT peers.
   */
  upsert(subnet: Ip4Net, publicIp: string, vtepMac?: string, ipv6?: PeerIpv6, key = subnetKey(subnet)): PeerSlot {
    let slot = this.bySubnet.get(key);
    if (!slot) {
      const index = this.free.pop() ?? this.next;
      if (index >= PEER_INDEX_LIMIT) throw new PeerTableFullError();
      if (index === this.next) this.next++;
      if (index >= this.live.length) this.grow(index + 1);
      slot = { index, subnet, publicIp, vtepMac };
      this.bySubnet.set(key, slot);
    }
    slot.subnet = subnet;
    slot.publicIp = publicIp;
    slot.vtepMac = vtepMac;
    slot.ipv6 = ipv6;
    this.has6[slot.index] = ipv6 ? 1 : 0;
    if (ipv6) writeIpv6PrefixRow(ipv6.subnet, this.subnet6, slot.index);
    this.has4[slot.index] = hasIpv4Subnet(subnet) ? 1 : 0;
    this.subnetIp[slot.index] = subnet.ip;
    this.subnetMask[slot.index] = maskOf(subnet.prefixLen);
    this.address[slot.index] = parseIp4(publicIp) ?? 0;
    this.setAddress6(slot.index, ipv6?.publicIp);
    this.live[slot.index] = 1;
    return slot;
  }

  /** Removes the peer known by `key` (or owning that IPv4 subnet); returns its old slot. */
  remove(key: string | Ip4Net): PeerSlot | undefined {
    if (typeof key !== 'string') key = subnetKey(key);
    const slot = this.bySubnet.get(key);
    if (!slot) return undefined;
    this.bySubnet.delete(key);
    this.live[slot.index] = 0;
    this.has6[slot.index] = 0;
    this.has4[slot.index] = 0;
    this.address6.delete(slot.index);
    this.free.push(slot.index);
    return slot;
  }

  private setAddress6(index: number, publicIpv6: string | undefined): void {
    const ip = publicIpv6 === undefined ? null : tryParseIpv6(publicIpv6);
    if (ip === null) {
      this.address6.delete(index);
      return;
    }
    this.address6.set(index, ipv6ToBytes(ip));
  }

  /** True when `src` (uint32) is inside the subnet of live peer `index`. */
  ownsSource(index: number, src: number): boolean {
    return (
      index >= 0 &&
      index < this.live.length &&
      this.live[index] === 1 &&
      this.has4[index] === 1 &&
      (src & this.subnetMask[index]!) >>> 0 === this.subnetIp[index]
    );
  }

  /** True when the IPv6 address w0..w3 is inside the IPv6 subnet of live peer `index`. No allocation. */
  ownsSource6(index: number, w0: number, w1: number, w2: number, w3: number): boolean {
    return (
      index >= 0 &&
      index < this.live.length &&
      this.live[index] === 1 &&
      this.has6[index] === 1 &&
      ipv6RowContains(this.subnet6, index, w0, w1, w2, w3)
    );
  }

  list(): PeerRoute[] {
    const out: PeerRoute[] = [];
    for (const s of this.bySubnet.values()) {
      if (hasIpv4Subnet(s.subnet))
        out.push({ subnet: formatIp4Net(s.subnet), via: s.publicIp, vtepMac: s.vtepMac, index: s.index });
      if (s.ipv6)
        out.push({
          subnet: formatIpv6Prefix(s.ipv6.subnet),
          via: s.ipv6.publicIp ?? s.publicIp,
          vtepMac: s.ipv6.vtepMac,
          index: s.index,
        });
    }
    return out;
  }

  /** Doubles the arrays until `needed` indexes fit, keeping their contents. */
  private grow(needed: number): void {
    let capacity = this.live.length;
    while (capacity < needed) capacity *= 2;
    const widen = <T extends Uint32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.subnetIp = widen(this.subnetIp, (n) => new Uint32Array(n));
    this.subnetMask = widen(this.subnetMask, (n) => new Uint32Array(n));
    this.address = widen(this.address, (n) => new Uint32Array(n));
    this.live = widen(this.live, (n) => new Uint8Array(n));
    this.has6 = widen(this.has6, (n) => new Uint8Array(n));
    this.has4 = widen(this.has4, (n) => new Uint8Array(n));
    const rows = new Uint32Array(capacity * IPV6_ROW_WORDS);
    rows.set(this.subnet6);
    this.subnet6 = rows;
  }
}
