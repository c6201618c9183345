// The overlay's per-packet work, apart from its devices, sockets and peer bookkeeping (overlay.ts): the two
// forwarding loops' batch callbacks. TUN -> UDP routes (FIB, FIB6), encapsulates in place and picks the peer and
// outer source port; UDP -> TUN checks the peer, strips the encapsulation and checks the inner source against the
// sender's subnet of that family. Everything dropped is counted by reason; nothing is thrown or logged per packet.
import {
  DROP_REASON_COUNT,
  DROP_REASON_NAMES,
  DropReason,
  PacketSpan,
  readU32,
  buildIcmpv4DestUnreachable,
  Icmpv4UnreachableCode,
  vxlanSourcePort,
} from '@weft/encap';
import type { OnBatch } from '@weft/tunnel';
import { CaptureSide, CaptureDirection, type PacketCapture } from '../capture.ts';
import { Fib } from '../fib.ts';
import { PeerTable } from './peers.ts';
import { FamilyStats } from './family-stats.ts';
import type { EncapFormat } from './formats.ts';
import { PeerPath6, type FamilySender, type OverlayIpv6 } from './overlay-v6.ts';

/** Drop reasons the agent adds to encap's: numbered after them so one counter array holds all. */
export enum AgentDrop {
  UnknownPeer = 8, // = DROP_REASON_COUNT (checked below): enums need literal initializers here
  SpoofedSource = 9,
  NoRoute = 10,
  NotIpv4 = 11,
  /** IPv6 bigger than the IPv6 pod MTU (answered with Packet Too Big), or with a broken extension-header chain. */
  PacketTooBig = 12,
  BadIpv6Chain = 13,
}
if (AgentDrop.UnknownPeer !== DROP_REASON_COUNT)
  throw new Error('AgentDrop must start right after encap DropReason codes');
const AGENT_DROP_NAMES = ['unknown_peer', 'spoofed_source', 'no_route', 'not_ipv4', 'packet_too_big', 'bad_ipv6_chain'];
export const DROP_NAMES: readonly string[] = [...DROP_REASON_NAMES, ...AGENT_DROP_NAMES];

/** The peer address a capture shows for a datagram from an unknown IPv6 source (::). */
const UNKNOWN_ADDRESS6 = new Uint8Array(16);

/** Bytes kept free before each packet in a slot: room for the outer headers and ICMP errors. */
export const HEADROOM = 80;

/** What the egress loop sends with, known once the overlay has opened its sockets. */
export interface SendState {
  /** Dual stack: splits a batch between the IPv4 sender and the IPv6 socket (viaV6 per packet). */
  family?: FamilySender;
  /** Slot size of the egress loop (ICMPv6 errors are written from the slot's start). */
  egressSlotSize: number;
  /** The IPv4 sender's per-packet outer source ports, when it takes them. */
  sourcePorts?: Int32Array;
  /** The same for the IPv6 sender. */
  sourcePorts6?: Int32Array;
  /** Whole-mode flannel0: each egress slot starts with the packet's virtio header (super-packets stay whole). */
  whole?: boolean;
}

export interface OverlayPacketsOptions {
  format: EncapFormat;
  capture?: PacketCapture;
  /** flannel0's IPv4 address (uint32): the source of ICMP errors. */
  tunAddress: number;
  v6?: OverlayIpv6;
  /** No IPv4 subnet: every IPv4 packet from flannel0 is dropped. */
  ipv6Only: boolean;
}

/** The forwarding loops' callbacks with the tables they read (peers, FIB, FIB6) and the drop counters. */
export class OverlayPackets {
  readonly drops = new Float64Array(DROP_NAMES.length);
  /** The same traffic by IP family: pod packets and bytes each way, IPv6 drops by reason. */
  readonly family = new FamilyStats(DROP_NAMES.length);
  readonly peers = new PeerTable();
  readonly fib = new Fib();
  private readonly span = new PacketSpan();
  private readonly icmpScratch = new Uint8Array(128);
  private readonly tunAddress: number;
  private readonly v6?: OverlayIpv6;
  private readonly ipv6Only: boolean;
  private send: SendState = { egressSlotSize: 0 };
  /** True while onIngress6 runs (the batch came from the IPv6 socket). */
  private fromV6 = false;

  constructor(private readonly opts: OverlayPacketsOptions) {
    this.tunAddress = opts.tunAddress;
    this.v6 = opts.v6;
    this.ipv6Only = opts.ipv6Only;
  }

  /** Sets what egress sends with; call before the loops start. */
  setSend(send: SendState): void {
    this.send = send;
  }

  /** TUN -> UDP: route, encapsulate in place, pick the peer. */
  readonly onEgress: OnBatch = (slab, offsets, lengths, peers, count, replies) => {
    const { format, capture } = this.opts;
    const sourcePorts = this.send.sourcePorts;
    const via6 = this.send.family?.viaV6;
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (capture) capture.record(CaptureSide.Tun, slab, off, len, CaptureDirection.Outbound);
      if (via6) via6[i] = 0;
      if (this.v6 && len > 0 && slab[off]! >> 4 === 6) {
        this.egressV6(slab, off, len, offsets, lengths, peers, replies, i);
        continue;
      }
      if (len < 20 || slab[off]! >> 4 !== 4 || this.ipv6Only) {
        peers[i] = this.drop(AgentDrop.NotIpv4, len > 0 && slab[off]! >> 4 === 6);
        continue;
      }
      const peer = this.fib.lookup(readU32(slab, off + 16));
      if (peer < 0) {
        peers[i] = this.drop(AgentDrop.NoRoute);
        if (format.icmpOnNoRoute && this.icmpUnreachable(slab, off, len, offsets, lengths, i)) {
          replies[i] = 1;
          peers[i] = 0;
        }
        continue;
      }
      const start = this.encapsulate(slab, off, len, peer, offsets, lengths, peers, i);
      if (start < 0) continue;
      if (sourcePorts) sourcePorts[i] = vxlanSourcePort(slab, off, len); // RFC 7348 section 5: entropy for ECMP and RSS
      this.family.tx(false, len);
      if (capture) this.captureWire(slab, start, lengths[i]!, CaptureDirection.Outbound, peer, false);
    }
  };

  /** UDP -> TUN: known peer, valid encapsulation, inner source inside that peer's subnet. */
  readonly onIngress: OnBatch = (slab, offsets, lengths, peers, count, replies) => {
    const { format, capture } = this.opts;
    const span = this.span;
    for (let i = 0; i < count; i++) {
      const peer = peers[i]!;
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (capture) this.captureWire(slab, off, len, CaptureDirection.Inbound, peer, this.fromV6);
      if (peer < 0 || !this.peers.live[peer]) {
        peers[i] = this.drop(AgentDrop.UnknownPeer, this.fromV6);
        continue;
      }
      const reason = format.decapsulate(slab, off, len, span);
      if (reason !== DropReason.None) {
        if (reason === DropReason.NotIp && format.answerControl?.(slab, off, len, offsets, lengths, i)) {
          replies[i] = 1; // an ARP reply to the asking peer
          continue;
        }
        peers[i] = this.drop(reason, this.fromV6);
        continue;
      }
      if (span.ipVersion !== 4) {
        const reason = this.checkIngressV6(slab, span.offset, span.length, peer);
        if (reason !== 0) {
          peers[i] = this.drop(reason, true);
          continue;
        }
      } else if (!this.peers.ownsSource(peer, readU32(slab, span.offset + 12))) {
        peers[i] = this.drop(AgentDrop.SpoofedSource);
        continue;
      }
      offsets[i] = span.offset;
      lengths[i] = span.length;
      peers[i] = 0;
      this.family.rx(span.ipVersion !== 4, span.length);
      if (capture) capture.record(CaptureSide.Tun, slab, span.offset, span.length, CaptureDirection.Inbound);
    }
  };

  /**
   * UDP -> TUN from the IPv6 socket: onIngress, with captures and drops on the IPv6 underlay. Runs synchronously,
   * so the flag never leaks to the IPv4 loop.
   */
  readonly onIngress6: OnBatch = (slab, offsets, lengths, peers, count, replies) => {
    this.fromV6 = true;
    try {
      this.onIngress(slab, offsets, lengths, peers, count, replies);
    } finally {
      this.fromV6 = false;
    }
  };

  /** TUN -> UDP for one IPv6 packet: route by its four destination words, encapsulate, pick socket and peer. */
  private egressV6(
    slab: Uint8Array,
    off: number,
    len: number,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array,
    replies: Uint8Array,
    i: number,
  ): void {
    const v6 = this.v6!;
    if (len < 40) {
      peers[i] = this.drop(DropReason.TooShort, true);
      return;
    }
    const peer = v6.fib.lookup(
      readU32(slab, off + 24),
      readU32(slab, off + 28),
      readU32(slab, off + 32),
      readU32(slab, off + 36),
    );
    const slot = this.send.whole ? off - (off % this.send.egressSlotSize) : -1;
    const tooBig = peer >= 0 && v6.exceedsMtu(slab, off, len, slot);
    if (peer < 0 || tooBig) {
      peers[i] = this.drop(tooBig ? AgentDrop.PacketTooBig : AgentDrop.NoRoute, true);
      if (tooBig || this.opts.format.icmpOnNoRoute) {
        const slotStart = off - (off % this.send.egressSlotSize);
        if (
          v6.replyError(slab, off, len, slotStart, this.send.egressSlotSize, offsets, lengths, i, tooBig ? v6.mtu : 0)
        ) {
          replies[i] = 1;
          peers[i] = 0;
        }
      }
      return;
    }
    if (this.encapsulate(slab, off, len, peer, offsets, lengths, peers, i, true) < 0) return;
    const over6 = v6.path[peer] === PeerPath6.Ipv6Underlay;
    this.family.tx(true, len);
    if (this.opts.capture) this.captureWire(slab, offsets[i]!, lengths[i]!, CaptureDirection.Outbound, peer, over6);
    if (over6 && this.send.family) this.send.family.viaV6[i] = 1;
    const ports = over6 ? this.send.sourcePorts6 : this.send.sourcePorts;
    if (ports) ports[i] = vxlanSourcePort(slab, off, len);
  }

  /** An inner IPv6 packet from peer `peer`: 0 to deliver it, else the drop reason. */
  private checkIngressV6(slab: Uint8Array, off: number, len: number, peer: number): number {
    if (!this.v6) return AgentDrop.NotIpv4;
    if (!this.v6.chainValid(slab, off, len)) return AgentDrop.BadIpv6Chain;
    const src = off + 8;
    const owns = this.peers.ownsSource6(
      peer,
      readU32(slab, src),
      readU32(slab, src + 4),
      readU32(slab, src + 8),
      readU32(slab, src + 12),
    );
    return owns && this.v6.path[peer] !== PeerPath6.None ? 0 : AgentDrop.SpoofedSource;
  }

  /**
   * Encapsulates packet i in place for `peer` and points offsets/lengths/peers at the result; returns the new
   * start, or -1 with the format's drop reason counted (peers[i] = -1).
   */
  private encapsulate(
    slab: Uint8Array,
    off: number,
    len: number,
    peer: number,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array,
    i: number,
    ipv6 = false,
  ): number {
    const start = this.opts.format.encapsulate(slab, off, len, peer);
    if (start < 0) {
      peers[i] = this.drop(-start, ipv6);
      return -1;
    }
    offsets[i] = start;
    lengths[i] = len + (off - start);
    peers[i] = peer;
    return start;
  }

  /** Counts a drop (`ipv6`: of an IPv6 pod packet, or over the IPv6 underlay); returns -1 for peers[i]. */
  private drop(reason: number, ipv6 = false): number {
    this.drops[reason]!++;
    if (ipv6) this.family.drops6[reason]!++;
    return -1;
  }

  /** The wire side of a capture: the UDP payload exchanged with `peer` over the IPv6 underlay when `over6`. */
  private captureWire(
    slab: Uint8Array,
    off: number,
    len: number,
    direction: CaptureDirection,
    peer: number,
    over6: boolean,
  ): void {
    const known = peer >= 0 && this.peers.live[peer] === 1;
    const port = this.opts.format.port;
    if (!over6) {
      this.opts.capture!.record(
        CaptureSide.Wire,
        slab,
        off,
        len,
        direction,
        known ? this.peers.address[peer]! : 0,
        port,
      );
      return;
    }
    const address6 = (known && this.peers.address6.get(peer)) || UNKNOWN_ADDRESS6;
    this.opts.capture!.record(CaptureSide.Wire, slab, off, len, direction, 0, port, address6);
  }

  /** flanneld answers unroutable packets with ICMP net unreachable back into the TUN; so does the udp backend. */
  private icmpUnreachable(
    slab: Uint8Array,
    off: number,
    len: number,
    offsets: Int32Array,
    lengths: Int32Array,
    i: number,
  ): boolean {
    const n = buildIcmpv4DestUnreachable(
      slab,
      off,
      len,
      Icmpv4UnreachableCode.Net,
      this.tunAddress,
      this.icmpScratch,
      0,
      { ttl: 8 },
    );
    if (n === 0) return false;
    const start = off - HEADROOM; // the slot's start: the error (<= 96 bytes) fits the slot from there
    slab.set(this.icmpScratch.subarray(0, n), start);
    offsets[i] = start;
    lengths[i] = n;
    return true;
  }
}
