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
  const n = addon().splitSuperPacket(
    pkt,
    batch.slab,
    batch.slotSize,
    headroom,
    batch.offsets,
    batch.lengths,
    batch.capacity,
  );
  batch.count = Math.max(0, n);
  if (n > 0) batch.peers.fill(-1, 0, n);
  return n;
}

export const CoalesceWhy = { MERGED: 0, SINGLE: 1, BAD_CHECKSUM: 2 } as const;

/**
 * Tries to merge batch packets start, start+1, ... (at most 64) into one super-packet written to `out` (virtio
 * header first). Returns how many packets were used, the bytes written to out (0 unless merged) and why.
 */
export function coalesceSegments(
  batch: PacketBatch,
  start: number,
  out: Uint8Array,
): { used: number; outLength: number; why: number } {
  const count = Math.min(batch.count, start + 64);
  return addon().coalescePackets(batch.slab, batch.offsets, batch.lengths, start, count, out);
}

/** True when an IPv4 header checksum and a TCP/UDP checksum verify (other protocols: true). */
export function checksumOk(pkt: Uint8Array): boolean {
  return addon().checksumOk(pkt);
}

/** What NativeTun.write does with one decapsulated packet (native/inner.h); numeric values are the addon's. */
export enum InnerVerdict {
  /** Written as it is (with offloads: a zero vnet header, or coalesced with its flow). */
  Write = 0,
  /** Written with a NEEDS_CSUM vnet header: the kernel finishes the partial TCP/UDP checksum. */
  WriteNeedsCsum = 1,
  /** A TCP super-packet written whole: GSO TCPV4/V6 vnet header, gso_size = MTU - headers, NEEDS_CSUM. */
  WriteGso = 2,
  /** Without offloads: a super-packet cut into MTU-sized segments with full checksums. */
  Segmented = 3,
  /** Dropped: headers contradict the bytes (truncated, lying lengths). */
  Malformed = 4,
  /** Dropped: a wrong IPv4 header checksum or complete TCP/UDP checksum. */
  BadChecksum = 5,
  /** Dropped: more segments than the scratch space holds. */
  TooManySegments = 6,
  /** Dropped: a UDP GSO super-packet, whose datagram boundaries (its segment size) VXLAN does not carry. */
  UdpSuperPacket = 7,
}

export interface InnerWritePlan {
  verdict: InnerVerdict;
  /** Bytes that would be written: the IP total length. */
  length: number;
  /** The checksum field held the partial value (pseudo-header sum only). */
  partial: boolean;
  superPacket: boolean;
  /** Segmented: how many segments went to `segments` (batch.count is set too). */
  segments: number;
}

/**
 * Runs the TUN write planner on one inner IP packet without a device (tests, tools): `vnetHeader` (10 bytes)
 * receives the vnet header for WriteNeedsCsum/WriteGso; without `vnet`, the segments of a super-packet go to
 * `segments` slots from 0 (offsets and count set). `pkt` may be modified (its checksum field), as on a write.
 */
export function planInnerWrite(
  pkt: Uint8Array,
  mtu: number,
  vnet: boolean,
  vnetHeader: Uint8Array,
  segments: PacketBatch,
): InnerWritePlan {
  const r = addon().planInnerWrite(pkt, mtu, vnet, vnetHeader, segments.slab, segments.slotSize, segments.lengths);
  segments.count = r.segments;
  for (let i = 0; i < r.segments; i++) segments.offsets[i] = i * segments.slotSize;
  return { ...r, verdict: r.verdict as InnerVerdict };
}
