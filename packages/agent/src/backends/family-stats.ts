// The overlay's counters split by IP family, for /status and the weft_family_* metrics: pod packets and their
// bytes each way, and drops by reason for IPv6.
//
// Design notes: the family is the pod packet's (the inner packet's IP version) wherever the dataplane has read it;
// a datagram dropped before its pod packet is known (unknown peer, wrong VNI, a truncated header) takes the family
// of the underlay it arrived on. IPv4 drops are the totals minus IPv6's, so the split always adds up to the totals
// of the drop counters. Packets are counted when the dataplane hands them on (after every check), so a write that
// then fails shows in the totals' `errors`, not here. The ports' own drop counts (checksums, truncation) have no
// family and appear in the totals only.

/** Index of each per-family counter in FamilyStats.counts. */
export enum FamilyCount {
  TxPackets4 = 0,
  TxBytes4 = 1,
  RxPackets4 = 2,
  RxBytes4 = 3,
  TxPackets6 = 4,
  TxBytes6 = 5,
  RxPackets6 = 6,
  RxBytes6 = 7,
}

const COUNT_NAMES = [
  'tx_packets_ipv4',
  'tx_bytes_ipv4',
  'rx_packets_ipv4',
  'rx_bytes_ipv4',
  'tx_packets_ipv6',
  'tx_bytes_ipv6',
  'rx_packets_ipv6',
  'rx_bytes_ipv6',
];

/** Drops by reason per family, as /status carries them (reasons with no drops left out). */
export interface DropsByFamily {
  ipv4: Record<string, number>;
  ipv6: Record<string, number>;
}

/** Per-family counters of one overlay network; plain numbers, written on the packet path. */
export class FamilyStats {
  /** Indexed by FamilyCount. */
  readonly counts = new Float64Array(COUNT_NAMES.length);
  /** Drops of IPv6 packets, indexed like the overlay's drop counters. */
  readonly drops6: Float64Array;

  /** `reasons`: the length of the overlay's drop counter array. */
  constructor(reasons: number) {
    this.drops6 = new Float64Array(reasons);
  }

  /** One pod packet of `bytes` (inner IP packet length) handed to the wire. */
  tx(ipv6: boolean, bytes: number): void {
    const base = ipv6 ? FamilyCount.TxPackets6 : FamilyCount.TxPackets4;
    this.counts[base]!++;
    this.counts[base + 1]! += bytes;
  }

  /** One pod packet of `bytes` handed to flannel0. */
  rx(ipv6: boolean, bytes: number): void {
    const base = ipv6 ? FamilyCount.RxPackets6 : FamilyCount.RxPackets4;
    this.counts[base]!++;
    this.counts[base + 1]! += bytes;
  }

  /** The counters as /status names them: tx_packets_ipv4 ... rx_bytes_ipv6. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    COUNT_NAMES.forEach((name, i) => {
      out[name] = this.counts[i]!;
    });
    return out;
  }

  /**
   * Drops by reason for each family, given the totals (`totals`, indexed like drops6) and their names; index 0
   * (no drop) and reasons at zero are left out.
   */
  dropsByFamily(totals: Float64Array, names: readonly string[]): DropsByFamily {
    const out: DropsByFamily = { ipv4: {}, ipv6: {} };
    names.forEach((name, i) => {
      const v6 = this.drops6[i]!;
      const v4 = totals[i]! - v6;
      if (i === 0) return;
      if (v4 > 0) out.ipv4[name] = v4;
      if (v6 > 0) out.ipv6[name] = v6;
    });
    return out;
  }
}
