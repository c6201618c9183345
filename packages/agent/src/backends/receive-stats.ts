// The receive side's counters from the ports themselves (the TUN write planner and the UDP socket), for /status
// and weft_dropped_packets_total. Ports without statistics (the in-memory fakes) contribute zeros.
import type { TunStats, UdpStats } from '@weft/tunnel';

type MaybeStats<T> = { stats?: () => Partial<T> };

function statsOf<T>(port: unknown): Partial<T> {
  const p = port as MaybeStats<T> | undefined;
  return typeof p?.stats === 'function' ? p.stats() : {};
}

/**
 * Drops counted by the ports on the way from the wire to flannel0, by reason (metric label): an inner checksum
 * that is complete and wrong, inner headers that contradict their bytes, a super-packet with too many segments,
 * a UDP GSO super-packet whose datagram boundaries were lost, a datagram larger than a receive slot (summed over
 * the receiving sockets: IPv4 and IPv6 in dual stack).
 */
export function receiveDrops(tun: unknown, udp: readonly unknown[]): Record<string, number> {
  const t = statsOf<TunStats>(tun);
  let truncated = 0;
  for (const socket of udp) truncated += statsOf<UdpStats>(socket).rxTruncated ?? 0;
  return {
    inner_bad_checksum: t.txChecksumDrops ?? 0,
    inner_malformed: t.txMalformed ?? 0,
    inner_too_many_segments: t.txTooManySegments ?? 0,
    inner_udp_super_packet: t.txUdpSuperPackets ?? 0,
    udp_truncated: truncated,
  };
}

/** How received packets reached flannel0: super-packets whole or segmented, partial checksums handed on. */
export function receiveCounters(tun: unknown): Record<string, number> {
  const t = statsOf<TunStats>(tun);
  return {
    rx_super_packets_whole: t.txGsoWhole ?? 0,
    rx_super_packets_segmented: t.txSegmentedSuper ?? 0,
    rx_partial_checksums: t.txPartialChecksums ?? 0,
  };
}
