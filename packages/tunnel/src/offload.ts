// The addon's pure offload functions, for tests and tools: split a vnet_hdr super-packet, coalesce segments.
import { addon } from './native.ts';
import type { PacketBatch } from './batch.ts';

/** Size of struct virtio_net_hdr that precedes each packet on a vnet_hdr TUN. */
export const VNET_HDR_LENGTH = 10;

export const SplitResult = { MALFORMED: -1, NO_ROOM: -2 } as const;

/**
 * Splits `pkt` (a virtio_net_hdr followed by an IP packet, as read from a vnet_hdr TUN) into batch slots at
 * `headroom`, setting batch.count. Returns the number of packets, SplitResult.MALFORMED for inconsistent headers
 * (drop and count), or SplitResult.NO_ROOM when the batch has too few slots. `pkt` is modified (checksum field).
 */
export function splitSuperPacket(pkt: Uint8Array, batch: PacketBatch, headroom: number): number {
  const n = addon().splitSuperPacket(pkt, batch.slab, batch.slotSize, headroom, batch.offsets, batch.lengths, batch.capacity);
  batch.count = Math.max(0, n);
  if (n > 0) batch.peers.fill(-1, 0, n);
  return n;
}

export const CoalesceWhy = { MERGED: 0, SINGLE: 1, BAD_CHECKSUM: 2 } as const;

/**
 * Tries to merge batch packets start, start+1, ... (at most 64) into one super-packet written to `out` (virtio
 * header first). Returns how many packets were used, the bytes written to out (0 unless merged) and why.
 */
export function coalesceSegments(batch: PacketBatch, start: number, out: Uint8Array): { used: number; outLength: number; why: number } {
  const count = Math.min(batch.count, start + 64);
  return addon().coalescePackets(batch.slab, batch.offsets, batch.lengths, start, count, out);
}

/** True when an IPv4 header checksum and a TCP/UDP checksum verify (other protocols: true). */
export function checksumOk(pkt: Uint8Array): boolean {
  return addon().checksumOk(pkt);
}
