// The overlay backends, `udp` (flannel-udp, port 8285) and `vxlan` (RFC 7348, port 8472): a TUN device
// `flannel0` carrying the cluster network, one UDP socket on the underlay, and two forwarding loops.
//
//   TUN -> UDP: per packet, longest-prefix lookup of the inner destination gives the peer index; the format
//               writes its headers into the headroom (in place) and the batch goes out with sendmmsg/GSO, or,
//               on the super-packet path (send-path.ts), super-packets whole through weft's TAP for the kernel to
//               segment and the rest through a socket pool (split-sender.ts); one outer source port per flow.
//   UDP -> TUN: per packet, the source must be a known peer, the format checks and strips its headers (VNI,
//               flags, lengths), and the inner source must lie in that peer's subnet; then TUN write.
// The per-packet callbacks live in overlay-packets.ts; this module owns the device, sockets, peers and status.
// IPv6 only (the lease's subnet is NO_IPV4_SUBNET): flannel0 gets the IPv6 address, MTU and cluster route alone,
// no IPv4 socket, sender or route; every datagram goes through the IPv6 sockets (super-packets through weft-gso6).
// Each underlay family chooses its send path on its own (send-path.ts); flannel0 offers TSO for a family only
// when that family's super-packets have a TAP to go to.
import type { Logger } from 'pino';
import { forward, TCP_OFFLOADS, TunOffload, type Forwarder } from '@weft/tunnel';
import type { PacketCapture } from '../capture.ts';
import type { AgentPorts, SuperPacketPort, TunPort, UdpPort } from '../ports.ts';
import {
  formatIpv4 as formatIp4,
  formatIpv4Prefix as formatIp4Net,
  formatIpv6Prefix,
  type Ipv4Prefix as Ip4Net,
  type Ipv6Prefix,
} from '@weft/netaddr';
import type { Fib } from '../fib.ts';
import type { PeerTable } from './peers.ts';
import { DROP_NAMES, HEADROOM, OverlayPackets } from './overlay-packets.ts';
import { peerKey, type DataplaneNetwork, type NetworkStatus, type PeerChange } from './types.ts';
import { hasIpv4Subnet } from '../subnet-key.ts';
import type { EncapFormat } from './formats.ts';
import { LISTED_CHANGES, summarizeChanges } from './change-summary.ts';
import { receiveCounters, receiveDrops } from './receive-stats.ts';
import { chooseSendPath, sendCounters, sendDrops, type SendPath } from './send-path.ts';
import { openFlowSpread, type FlowSpreadSender } from './socket-pool.ts';
import { SplitSender } from './split-sender.ts';
import { FamilySender, OverlayIpv6, PeerPath6, type OverlayIpv6Options } from './overlay-v6.ts';

export { AgentDrop, DROP_NAMES } from './overlay-packets.ts';

export interface OverlayOptions {
  log: Logger;
  /** TUN, UDP and link programming: systemPorts() on a node, in-memory fakes in tests. */
  ports: AgentPorts;
  format: EncapFormat;
  /** The cluster network (routed into the TUN device). */
  network: Ip4Net;
  /** This node's subnet; its first address (x.x.x.0) goes on the TUN device, as flannel does. NO_IPV4_SUBNET: IPv6 only. */
  subnet: Ip4Net;
  publicIp: string;
  underlayMtu: number;
  tunName?: string;
  /** IFF_VNET_HDR + TSO on the TUN device (super-packets split/coalesced in the addon). */
  offloads: boolean;
  /** Records both sides of each packet when capturing (`--pcap`); absent, it costs one check per packet. */
  capture?: PacketCapture;
  /** Dual stack: IPv6 pod traffic is forwarded too (overlay-v6.ts). */
  ipv6?: OverlayIpv6Options;
}

/** Packets per batch (wireguard-go's IdealBatchSize): one TSO batch then holds a few 64 KB super-packets. */
const BATCH_SIZE = 128;
/**
 * Receive slots hold any UDP datagram (up to 64 KB): a kernel VTEP over a virtual link sends whole UDP-tunnel
 * GSO super-packets, one datagram each, which the TUN write hands on whole (native/inner.cc).
 */
const INGRESS_SLOT_SIZE = HEADROOM + 65536;
/** Egress batch on the super-packet path: a slot holds a whole 64 KB super-packet, so fewer slots suffice. */
const WHOLE_BATCH_SIZE = 64;
/** Largest TSO super-packet a TUN read returns (64 KB of IP). */
const MAX_SUPER_PACKET = 65536;
/** flannel0's txqueuelen: the default 500 overflows whenever the agent is descheduled, each drop a TCP resend. */
const TUN_TX_QUEUE = 5000;
/** UDP socket buffers: room for several batches while the other side catches up. */
const SOCKET_BUFFER = 8 << 20;

export class OverlayNetwork implements DataplaneNetwork {
  readonly backend: string;
  readonly mtu: number;
  private readonly packets: OverlayPackets;
  private readonly peers: PeerTable;
  private readonly fib: Fib;
  private readonly v6?: OverlayIpv6;
  /** No IPv4 subnet: flannel0, sockets and routes for IPv6 alone. */
  private readonly ipv6Only: boolean;
  private udp6?: UdpPort;
  /** IPv6 egress with per-flow outer source ports (a pool on the IPv6 address), when the ports can open one. */
  private pool6?: FlowSpreadSender;
  private ingress6?: Forwarder;
  private family?: FamilySender;
  private tun?: TunPort;
  private udp?: UdpPort;
  private egress?: Forwarder;
  private ingress?: Forwarder;
  private sendPath: SendPath = { superPackets: false, reason: 'not started' };
  /** The IPv6 underlay's send path (dual stack or IPv6 only with PublicIPv6). */
  private sendPath6?: SendPath;
  /** IPv6 egress sender: super-packets to the IPv6 TAP and the rest to pool6, or one of them. */
  private sender6?: SuperPacketPort;
  /** Egress sender with per-flow source ports: the super-packet port, or the socket pool; absent, this.udp sends. */
  private sender?: SuperPacketPort;

  constructor(private readonly opts: OverlayOptions) {
    this.backend = opts.format.name;
    this.ipv6Only = !hasIpv4Subnet(opts.subnet);
    if (opts.ipv6) {
      const f = opts.format;
      this.v6 = new OverlayIpv6(opts.ipv6, opts.underlayMtu, f.overhead, f.overheadV6, f.name === 'vxlan');
    }
    if (this.ipv6Only && !this.v6?.opts.publicIp)
      throw new Error(`${this.backend}: IPv6 only needs the node's IPv6 subnet and PublicIPv6`);
    this.mtu = this.ipv6Only ? this.v6!.mtu : opts.underlayMtu - opts.format.overhead;
    const { format, capture } = opts;
    this.packets = new OverlayPackets({
      format,
      capture,
      tunAddress: opts.subnet.ip,
      v6: this.v6,
      ipv6Only: this.ipv6Only,
    });
    this.peers = this.packets.peers;
    this.fib = this.packets.fib;
  }

  get drops(): Float64Array {
    return this.packets.drops;
  }

  async start(): Promise<void> {
    const name = this.opts.tunName ?? 'flannel0';
    try {
      await (this.ipv6Only ? this.startIpv6Only(name) : this.startWithIpv4(name));
    } catch (e) {
      // A later step failed (flannel0 held by another process, an address gone): what opened so far closes, or
      // a second start in this process would find its TAPs busy. Routes stay: they may be that other process's.
      this.closePorts();
      throw e;
    }
    this.logStarted(name);
  }

  /** IPv4, or dual stack: flannel0 with both families, the IPv4 socket (and IPv6 one) both ways. */
  private async startWithIpv4(name: string): Promise<void> {
    const o = this.opts;
    this.sendPath = await this.choosePath(o.publicIp, o.format.overhead);
    const v6pub = this.v6?.opts.publicIp;
    if (v6pub) this.sendPath6 = await this.choosePath(v6pub, o.format.overheadV6);
    const tap4 = this.sendPath.port !== undefined;
    const tap6 = this.sendPath6?.port !== undefined;
    const whole = tap4 || tap6;
    const egressBatch = whole ? WHOLE_BATCH_SIZE : BATCH_SIZE;
    this.tun = o.ports.openTun({
      name,
      mtu: this.mtu,
      ...(this.v6 && { mtu6: this.v6.mtu }),
      offloads: o.offloads ? this.tunOffloads(tap4, tap6) : 0,
      batchSize: egressBatch,
      whole,
    });
    const address = `${formatIp4(o.subnet.ip)}/32`;
    const route = formatIp4Net(o.network);
    o.log.info(
      {
        cmd: `ip link set dev ${name} mtu ${this.mtu} txqueuelen ${TUN_TX_QUEUE} up; ip addr replace ${address} dev ${name}; ip route replace ${route} dev ${name}`,
      },
      'ip',
    );
    await o.ports.link.configureLink(name, {
      mtu: this.mtu,
      txQueueLength: TUN_TX_QUEUE,
      addresses: [address],
      routes: [route],
    });
    if (this.v6) await o.ports.link.ipBatch(o.log, this.v6.linkLines(name));
    this.udp = this.openSocket(o.publicIp);
    const slotSize = HEADROOM + Math.max(this.mtu, o.underlayMtu) + 64;
    const pool = openFlowSpread(o.ports, o.publicIp, BATCH_SIZE, SOCKET_BUFFER);
    this.sender = superPacketSender(this.sendPath.port, pool, egressBatch);
    const egressSlot = whole ? HEADROOM + MAX_SUPER_PACKET + 64 : slotSize;
    if (v6pub) {
      this.udp6 = this.openSocket(v6pub);
      this.pool6 = openFlowSpread(o.ports, v6pub, BATCH_SIZE, SOCKET_BUFFER);
      this.sender6 = superPacketSender(this.sendPath6?.port, this.pool6, egressBatch);
      this.family = new FamilySender(this.sender ?? this.udp, this.sender6 ?? this.udp6, egressBatch);
    }
    this.packets.setSend({
      family: this.family,
      egressSlotSize: egressSlot,
      sourcePorts: this.sender?.sourcePorts,
      sourcePorts6: this.sender6?.sourcePorts,
      whole,
    });
    this.egress = forward({
      from: this.tun,
      to: this.family ?? this.sender ?? this.udp,
      onBatch: this.packets.onEgress,
      headroom: HEADROOM,
      slotSize: egressSlot,
      batchSize: egressBatch,
    });
    this.ingress = forward({
      from: this.udp,
      to: this.tun,
      onBatch: this.packets.onIngress,
      headroom: HEADROOM,
      slotSize: INGRESS_SLOT_SIZE,
      batchSize: BATCH_SIZE,
    });
    if (this.udp6)
      this.ingress6 = forward({
        from: this.udp6,
        to: this.tun,
        onBatch: this.packets.onIngress6,
        headroom: HEADROOM,
        slotSize: INGRESS_SLOT_SIZE,
        batchSize: BATCH_SIZE,
      });
  }

  /**
   * IPv6 only: flannel0 with the IPv6 address and cluster route alone, the IPv6 socket (and pool) both ways;
   * super-packets through the IPv6 TAP when it opens (TSO6 then, as TSO on IPv4's path).
   */
  private async startIpv6Only(name: string): Promise<void> {
    const o = this.opts;
    const pub = this.v6!.opts.publicIp!;
    this.sendPath = { superPackets: false, reason: 'IPv6 only: no IPv4 underlay' };
    this.sendPath6 = await this.choosePath(pub, o.format.overheadV6);
    const whole = this.sendPath6.port !== undefined;
    const batchSize = whole ? WHOLE_BATCH_SIZE : BATCH_SIZE;
    const offloads = whole ? TunOffload.CSUM | TunOffload.TSO6 : 0;
    this.tun = o.ports.openTun({ name, mtu: this.mtu, offloads, batchSize, whole });
    o.log.info({ cmd: `ip link set dev ${name} mtu ${this.mtu} txqueuelen ${TUN_TX_QUEUE} up` }, 'ip');
    await o.ports.link.configureLink(name, { mtu: this.mtu, txQueueLength: TUN_TX_QUEUE, addresses: [], routes: [] });
    await o.ports.link.ipBatch(o.log, this.v6!.linkLines(name));
    this.udp6 = this.openSocket(pub);
    this.pool6 = openFlowSpread(o.ports, pub, BATCH_SIZE, SOCKET_BUFFER);
    this.sender6 = superPacketSender(this.sendPath6.port, this.pool6, batchSize);
    const egressSlotSize = whole ? HEADROOM + MAX_SUPER_PACKET + 64 : HEADROOM + Math.max(this.mtu, o.underlayMtu) + 64;
    this.packets.setSend({ egressSlotSize, sourcePorts6: this.sender6?.sourcePorts, whole });
    this.egress = forward({
      from: this.tun,
      to: this.sender6 ?? this.udp6,
      onBatch: this.packets.onEgress,
      headroom: HEADROOM,
      slotSize: egressSlotSize,
      batchSize,
    });
    this.ingress6 = forward({
      from: this.udp6,
      to: this.tun,
      onBatch: this.packets.onIngress6,
      headroom: HEADROOM,
      slotSize: INGRESS_SLOT_SIZE,
      batchSize: BATCH_SIZE,
    });
  }

  /** The send path of the underlay `publicIp` belongs to (its family picks the TAP). */
  private choosePath(publicIp: string, overhead: number): Promise<SendPath> {
    const { log, ports, offloads } = this.opts;
    return chooseSendPath({
      log,
      ports,
      offloads,
      publicIp,
      overhead,
      batchSize: WHOLE_BATCH_SIZE,
      innerMtu: this.mtu,
      innerMtu6: this.v6?.mtu ?? this.mtu,
    });
  }

  /**
   * flannel0's offloads in dual stack: TSO for a family only where its super-packets have a TAP to go to
   * (whole mode), since the sockets send no super-packets whole. IPv6 leaves by the IPv6 TAP over the IPv6
   * underlay (udp sends a peer without PublicIPv6 inside IPv4, so it needs both TAPs) or by the IPv4 one.
   */
  private tunOffloads(tap4: boolean, tap6: boolean): number {
    if (!tap4 && !tap6) return TCP_OFFLOADS; // not whole: the TUN read cuts super-packets itself
    const v6 = this.v6;
    const tso6 = !v6 || (v6.underlay === 'ipv6' ? tap6 && (tap4 || this.backend === 'vxlan') : tap4);
    return TCP_OFFLOADS & ~(tap4 ? 0 : TunOffload.TSO4) & ~(tso6 ? 0 : TunOffload.TSO6);
  }

  private openSocket(address: string): UdpPort {
    // Peers are known by address: the kernel's vxlan driver sends from a per-flow source port.
    return this.opts.ports.openUdp({
      address,
      port: this.opts.format.port,
      peerByAddress: true,
      batchSize: BATCH_SIZE,
      sendBuffer: SOCKET_BUFFER,
      receiveBuffer: SOCKET_BUFFER,
    });
  }

  private logStarted(name: string): void {
    const o = this.opts;
    if (this.v6) {
      const st = this.v6.status(this.sendPath, this.sendPath6);
      o.log.info({ ipv6: { ...st, network: formatIpv6Prefix(this.v6.opts.network) } }, 'IPv6 pod traffic forwarded');
    }
    const sock = this.udp ?? this.udp6!;
    o.log.info(
      {
        tun: name,
        mtu: this.mtu,
        port: o.format.port,
        offloads: o.offloads,
        superPackets: this.sendPath.superPackets,
        ipv6Only: this.ipv6Only,
        gso: sock.gso ?? false,
        gro: sock.gro ?? false,
      },
      `${this.backend} backend forwarding`,
    );
  }

  /** Applies a batch to the peer table and FIB: work per change, logged per peer at debug and as a summary. */
  async apply(changes: readonly PeerChange[]): Promise<void> {
    const { log } = this.opts;
    // Per peer: info for a small batch, debug for a large one, and nothing built at all when debug is off.
    const small = changes.length <= LISTED_CHANGES;
    const each = small ? log.info.bind(log) : log.isLevelEnabled('debug') ? log.debug.bind(log) : null;
    for (const c of changes) {
      const key = peerKey(c);
      if (c.type === 'added') {
        const old = this.peers.get(key);
        const routed6 = c.ipv6 && this.v6?.pathFor(c.ipv6, c.ipv6.vtepMac !== undefined) ? c.ipv6 : undefined;
        const slot = this.peers.upsert(c.subnet, c.publicIp, c.vtepMac, routed6, key);
        this.opts.format.setPeer(slot.index, c);
        if (old && hasIpv4Subnet(old.subnet)) this.fib.delete(old.subnet);
        this.setPeer4(slot.index, c);
        if (this.v6) this.applyV6(slot.index, old?.ipv6, c);
        each?.({ subnet: peerSubnet(c), via: c.publicIp, vtepMac: c.vtepMac, peer: slot.index }, 'peer added');
      } else {
        const slot = this.peers.remove(key);
        if (!slot) continue;
        if (hasIpv4Subnet(slot.subnet)) this.fib.delete(slot.subnet);
        if (this.v6) this.applyV6(slot.index, slot.ipv6, undefined);
        this.udp?.removePeer(slot.index);
        this.sender?.removePeer(slot.index);
        each?.({ subnet: peerSubnet(slot), via: slot.publicIp }, 'peer removed');
      }
    }
    if (changes.length > LISTED_CHANGES)
      log.info({ ...summarizeChanges(changes), peers: this.peers.size }, 'peers updated');
  }

  /** A peer's IPv4 side: FIB entry and IPv4 socket peer, when it has an IPv4 subnet and this node an IPv4 socket. */
  private setPeer4(index: number, c: PeerChange): void {
    if (!this.udp || !hasIpv4Subnet(c.subnet)) {
      this.udp?.removePeer(index);
      this.sender?.removePeer(index);
      return;
    }
    this.udp.addPeer(index, c.publicIp, this.opts.format.port);
    this.sender?.addPeer(index, c.publicIp, this.opts.format.port);
    this.fib.set(c.subnet, index);
  }

  /** A peer's IPv6 side changed (`after` undefined: the peer left): FIB6 entry, IPv6 socket peer, path. */
  private applyV6(index: number, before: PeerChange['ipv6'], after: PeerChange | undefined): void {
    const v6 = this.v6!;
    if (before) v6.fib.delete(before.subnet);
    this.udp6?.removePeer(index);
    this.sender6?.removePeer(index);
    const path = v6.pathFor(after?.ipv6, after?.ipv6?.vtepMac !== undefined);
    v6.path[index] = path;
    if (!after?.ipv6) return;
    if (path === PeerPath6.None) {
      this.opts.log.warn(
        { subnet: formatIpv6Prefix(after.ipv6.subnet), via: after.publicIp },
        `no IPv6 route to this peer: ${this.backend} needs ${this.backend === 'vxlan' ? 'PublicIPv6 on both nodes and the IPv6 VTEP MAC' : 'an underlay'}`,
      );
      return;
    }
    if (path === PeerPath6.Ipv6Underlay) {
      this.udp6!.addPeer(index, after.ipv6.publicIp!, this.opts.format.port);
      this.sender6?.addPeer(index, after.ipv6.publicIp!, this.opts.format.port);
    }
    v6.fib.set(after.ipv6.subnet, index);
  }

  counters(): Record<string, number> {
    const e = this.egress?.counters;
    // Received: from the IPv4 socket and the IPv6 one (dual stack), or the IPv6 one alone (IPv6 only).
    const rx = (k: 'packetsOut' | 'bytesIn' | 'packetsIn' | 'replies' | 'backpressure' | 'errors') =>
      (this.ingress?.counters[k] ?? 0) + (this.ingress6?.counters[k] ?? 0);
    return {
      tx_packets: e?.packetsOut ?? 0,
      tx_bytes: e?.bytesIn ?? 0,
      tun_read_packets: e?.packetsIn ?? 0,
      rx_packets: rx('packetsOut'),
      rx_bytes: rx('bytesIn'),
      udp_read_packets: rx('packetsIn'),
      replies: (e?.replies ?? 0) + rx('replies'),
      backpressure: (e?.backpressure ?? 0) + rx('backpressure'),
      errors: (e?.errors ?? 0) + rx('errors'),
      ...this.packets.family.counters(),
      ...receiveCounters(this.tun),
      ...sendCounters(this.sendPath.port),
      ...sendCounters(this.sendPath6?.port, '_ipv6'),
    };
  }

  dropCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    DROP_NAMES.forEach((name, i) => {
      if (i > 0) out[name] = this.drops[i]!;
    });
    return Object.assign(
      out,
      receiveDrops(this.tun, [this.udp, this.udp6]),
      sendDrops(this.sendPath.port, this.sendPath6?.port),
    );
  }

  status(): NetworkStatus {
    const { superPackets, reason } = this.sendPath;
    return {
      backend: this.backend,
      mtu: this.mtu,
      routes: this.peers.list(),
      counters: this.counters(),
      drops: this.dropCounts(),
      dropsByFamily: this.packets.family.dropsByFamily(this.drops, DROP_NAMES),
      sendPath: { superPackets, reason },
      ...(this.v6 && { ipv6: this.v6.status(this.sendPath, this.sendPath6) }),
    };
  }

  /** Stops forwarding and closes every device and socket opened so far (closing twice is harmless). */
  private closePorts(): void {
    this.egress?.stop();
    this.ingress?.stop();
    this.ingress6?.stop();
    this.udp?.close();
    this.udp6?.close();
    this.sender6?.close(); // pool6 and the IPv6 TAP with it
    this.sender?.close();
    this.pool6?.close();
    this.sendPath?.port?.close(); // TAPs opened before a later step failed
    this.sendPath6?.port?.close();
    this.tun?.close(); // a non-persistent TUN disappears with its routes
  }

  async stop(): Promise<void> {
    this.closePorts();
    this.opts.capture?.close();
    await this.opts.ports.link.ipBatch(
      this.opts.log,
      [
        ...(this.ipv6Only
          ? []
          : [`route del ${formatIp4Net(this.opts.network)} dev ${this.opts.tunName ?? 'flannel0'}`]),
        ...(this.v6
          ? [`route del ${formatIpv6Prefix(this.v6.opts.network)} dev ${this.opts.tunName ?? 'flannel0'}`]
          : []),
      ],
      { force: true },
    );
  }
}

/** The egress sender: super-packets to the TAP and the rest to the socket pool, or whichever of them opened. */
function superPacketSender(
  tap: SuperPacketPort | undefined,
  pool: FlowSpreadSender | undefined,
  batchSize: number,
): SuperPacketPort | undefined {
  return tap && pool ? new SplitSender(tap, pool, batchSize) : (tap ?? pool);
}

/** A peer's subnet for the log: its IPv4 subnet, or its IPv6 one when it has only that. */
function peerSubnet(p: { subnet: Ip4Net; ipv6?: { subnet: Ipv6Prefix } }): string {
  return hasIpv4Subnet(p.subnet) || !p.ipv6 ? formatIp4Net(p.subnet) : formatIpv6Prefix(p.ipv6.subnet);
}
