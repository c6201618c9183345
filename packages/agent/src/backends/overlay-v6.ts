// IPv6 pod traffic on the overlay backends (flannel's dual stack): the IPv6 forwarding table, which underlay each
// peer's IPv6 packets cross, the IPv6 pod MTU, ICMPv6 errors back into flannel0, and the egress port that sends
// IPv6-underlay datagrams from the IPv6 socket and everything else from the IPv4 sender.
//
// Design notes: vxlan sends IPv6 the way flannel's flannel-v6.<VNI> device does: VXLAN between the nodes'
// PublicIPv6 addresses, inner Ethernet between the IPv6 VTEP MACs (formats.ts keeps a second template per peer);
// a peer without PublicIPv6 or an IPv6 VTEP MAC gets no IPv6 route. udp sends IPv6 in flannel-udp over IPv6 when
// both nodes have PublicIPv6, over IPv4 otherwise (per peer). IPv6-underlay datagrams take their own send path,
// chosen as IPv4's is: super-packets whole through an IPv6 TAP (weft-gso6, IPv6 outer headers) and the rest from a
// pool of IPv6 sockets, or the sockets alone; flannel0 offers TSO6 only when every IPv6 super-packet has a TAP to
// go to, else IPv6 TCP arrives cut to the MTU. One flannel0 carries both families: its MTU is IPv4's, and the
// IPv6 cluster route carries the (20 bytes smaller) IPv6 MTU, so the kernel sends pods Packet Too Big; a packet
// that still comes through too big (a super-packet: its segments) is dropped here with one.
import {
  buildIcmpv6DestUnreachable,
  buildIcmpv6PacketTooBig,
  Icmpv6UnreachableCode,
  Ipv6Chain,
  walkIpv6Chain,
} from '@weft/encap';
import { formatIpv6, writeIpv6Bytes, type Ipv6Prefix } from '@weft/netaddr';
import type { PacketBatch } from '@weft/tunnel';
import { Fib6 } from '../fib6.ts';
import type { PacketPort } from '@weft/tunnel';
import type { SendPath } from './send-path.ts';
import type { PeerIpv6 } from './peers.ts';
import type { Ipv6Forwarding } from './types.ts';

/** The overlay's IPv6 side as the agent configures it (dual-stack lease). */
export interface OverlayIpv6Options {
  /** The cluster's IPv6 network (IPv6Network): routed into flannel0. */
  network: Ipv6Prefix;
  /** This node's IPv6 subnet: its first address goes on flannel0 (/128), the ICMPv6 errors' source. */
  subnet: Ipv6Prefix;
  /** This node's PublicIPv6; absent, IPv6 packets cross the IPv4 underlay (udp) or are not forwarded (vxlan). */
  publicIp?: string;
}

/** How IPv6 packets for a peer leave: not at all, from the IPv6 socket, or inside the IPv4 underlay. */
export const enum PeerPath6 {
  None = 0,
  Ipv6Underlay = 1,
  Ipv4Underlay = 2,
}

const ICMPV6_SCRATCH = 1280;

/** The IPv6 state of one overlay network: FIB, per-peer path, MTU, the error builders' scratch. */
export class OverlayIpv6 {
  readonly fib = new Fib6();
  /** Per peer index: PeerPath6. */
  readonly path: number[] = [];
  readonly mtu: number;
  /** This node's flannel0 IPv6 address (the subnet's first address), as bytes for the ICMPv6 builders. */
  readonly tunAddress = new Uint8Array(16);
  private readonly scratch = new Uint8Array(ICMPV6_SCRATCH);
  private readonly chain = new Ipv6Chain();

  /**
   * `overhead` / `overheadV6`: the format's bytes over an IPv4 / IPv6 underlay. vxlan needs `requireV6Underlay`
   * (the kernel's flannel-v6 device speaks only IPv6 underlay).
   */
  constructor(
    readonly opts: OverlayIpv6Options,
    underlayMtu: number,
    overhead: number,
    overheadV6: number,
    private readonly requireV6Underlay: boolean,
  ) {
    this.mtu = underlayMtu - (opts.publicIp ? overheadV6 : overhead);
    writeIpv6Bytes(opts.subnet.ip, this.tunAddress, 0);
  }

  get underlay(): 'ipv6' | 'ipv4' {
    return this.opts.publicIp ? 'ipv6' : 'ipv4';
  }

  /** The path a peer's IPv6 packets take, given its lease's IPv6 side (or none). */
  pathFor(peer: PeerIpv6 | undefined, vxlanMacKnown: boolean): PeerPath6 {
    if (!peer) return PeerPath6.None;
    if (this.requireV6Underlay && !vxlanMacKnown) return PeerPath6.None;
    if (this.opts.publicIp && peer.publicIp) return PeerPath6.Ipv6Underlay;
    return this.requireV6Underlay ? PeerPath6.None : PeerPath6.Ipv4Underlay;
  }

  /** flannel0's IPv6 address and the IPv6 cluster route with the IPv6 MTU, as `ip` batch lines. */
  linkLines(dev: string): string[] {
    const n = this.opts.network;
    return [
      `addr replace ${formatIpv6(this.opts.subnet.ip)}/128 dev ${dev}`,
      `route replace ${formatIpv6(n.ip)}/${n.prefixLen} dev ${dev} mtu ${this.mtu}`,
    ];
  }

  /**
   * Whether the IPv6 packet at `off` is over the IPv6 MTU. In a whole-mode slot (`slotStart` >= 0, its virtio
   * header there) a super-packet is judged by its segments: TCP header plus gso_size (TSO6 output has no
   * extension headers; anything else by its whole length).
   */
  exceedsMtu(slab: Uint8Array, off: number, len: number, slotStart: number): boolean {
    if (len <= this.mtu) return false;
    if (slotStart < 0 || slab[slotStart + 1] === 0 || len < 60 || slab[off + 6] !== 6) return true;
    const gsoSize = slab[slotStart + 4]! | (slab[slotStart + 5]! << 8);
    return 40 + (slab[off + 52]! >> 4) * 4 + gsoSize > this.mtu;
  }

  /** False when the IPv6 packet's extension-header chain is cut short, too long or misordered. No allocation. */
  chainValid(buf: Uint8Array, offset: number, length: number): boolean {
    return walkIpv6Chain(buf, offset, length, this.chain) === 0;
  }

  /**
   * Replaces packet i (read from flannel0) with an ICMPv6 error for its sender: Destination Unreachable (no route)
   * when `tooBigMtu` is 0, else Packet Too Big carrying it. The error starts at the slot's start (`slotStart`);
   * returns false when none may be sent (an error about an error, a multicast source: the builders' rules).
   */
  replyError(
    slab: Uint8Array,
    off: number,
    len: number,
    slotStart: number,
    slotSize: number,
    offsets: Int32Array,
    lengths: Int32Array,
    i: number,
    tooBigMtu: number,
  ): boolean {
    const maxLength = Math.min(ICMPV6_SCRATCH, slotSize);
    const opts = { hopLimit: 64, maxLength };
    const n =
      tooBigMtu > 0
        ? buildIcmpv6PacketTooBig(slab, off, len, tooBigMtu, this.tunAddress, this.scratch, 0, opts)
        : buildIcmpv6DestUnreachable(
            slab,
            off,
            len,
            Icmpv6UnreachableCode.NoRoute,
            this.tunAddress,
            this.scratch,
            0,
            opts,
          );
    if (n === 0) return false;
    slab.set(this.scratch.subarray(0, n), slotStart);
    offsets[i] = slotStart;
    lengths[i] = n;
    return true;
  }

  /** For /status: `path4` is the IPv4 underlay's send path, `path6` the IPv6 underlay's (absent without one). */
  status(path4: SendPath, path6: SendPath | undefined): Ipv6Forwarding {
    const name = (p: SendPath) => (p.superPackets ? 'super-packet path' : 'socket path');
    if (this.underlay === 'ipv4' || !path6)
      return {
        forwarded: true,
        underlay: 'ipv4',
        mtu: this.mtu,
        superPackets: path4.superPackets,
        sendPath: `inside the IPv4 underlay (${name(path4)})`,
        reason: `this node has no PublicIPv6: IPv6 pod traffic crosses the IPv4 underlay (IPv6 MTU ${this.mtu})`,
      };
    const from = `[${this.opts.publicIp}]`;
    return {
      forwarded: true,
      underlay: 'ipv6',
      mtu: this.mtu,
      superPackets: path6.superPackets,
      sendPath: path6.superPackets
        ? `super-packets whole through weft-gso6 (IPv6 outer headers from ${from}), the rest from IPv6 UDP sockets`
        : `plain UDP sockets from ${from} (${path6.reason})`,
      reason: `IPv6 pod traffic crosses the IPv6 underlay between PublicIPv6 addresses (IPv6 MTU ${this.mtu}), ${
        path6.superPackets
          ? 'super-packets sent whole through weft-gso6 for the kernel to segment'
          : `sent from plain UDP sockets: ${path6.reason}`
      }`,
    };
  }
}

/**
 * Egress port of a dual-stack overlay: packet i goes out of the IPv6 socket when `viaV6[i]` is 1 (the caller sets
 * it per packet), otherwise out of the IPv4 sender. Order is kept per run, as SplitSender does.
 */
export class FamilySender implements PacketPort {
  readonly batchSize: number;
  readonly pending = false;
  readonly viaV6: Uint8Array;
  private readonly gate: Int32Array;
  private blocked: PacketPort | null = null;

  constructor(
    private readonly v4: PacketPort,
    private readonly v6: PacketPort,
    batchSize: number,
  ) {
    this.batchSize = batchSize;
    this.viaV6 = new Uint8Array(batchSize);
    this.gate = new Int32Array(batchSize);
  }

  read(_batch: PacketBatch, _headroom: number): number {
    return 0;
  }

  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    const { count } = batch;
    const via = this.viaV6;
    for (let i = start; i < count; ) {
      const kind = via[i]!;
      let j = i;
      while (j < count && via[j] === kind) j++;
      this.gate.fill(-1, 0, count);
      this.gate.set(peers.subarray(i, j), i);
      const port = kind === 1 ? this.v6 : this.v4;
      const done = port.write(batch, i, this.gate);
      if (done < j) {
        this.blocked = port;
        return done;
      }
      i = j;
    }
    this.blocked = null;
    return count;
  }

  onReadable(_cb: (() => void) | null): void {}

  onWritable(cb: (() => void) | null): void {
    this.v4.onWritable(cb && this.blocked === this.v4 ? cb : null);
    this.v6.onWritable(cb && this.blocked === this.v6 ? cb : null);
  }

  close(): void {}
}

/** The overlay's IPv6 options for a dual-stack lease; undefined without an IPv6 subnet or IPv6Network. */
export function overlayIpv6(
  network: Ipv6Prefix | undefined,
  subnet: Ipv6Prefix | undefined,
  publicIpv6: string | undefined,
): OverlayIpv6Options | undefined {
  if (!subnet || !network) return undefined;
  return { network, subnet, ...(publicIpv6 && { publicIp: publicIpv6 }) };
}
