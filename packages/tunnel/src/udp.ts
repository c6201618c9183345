// UdpBatchSocket: one non-blocking UDP socket with batched send/receive and peers addressed by small integers.
//
// Design notes: a destination is an index into a peer table registered in advance (addPeer), so a batch of
// sends carries one Int32Array of peer indexes instead of an address object per packet; received datagrams are
// mapped back to the index of their source, or -1 with the address available from sourceOf(). With GSO on,
// runs of same-size datagrams to one peer go out as one UDP_SEGMENT send; with GRO on, the kernel hands
// coalesced datagrams that the addon cuts back into one datagram per slot. Both are used only when the kernel
// accepts them (gso/gro report what is in effect), and GSO turns itself off after a send error (counted).
import { isIP } from 'node:net';
import { addon, type NativeUdp } from './native.ts';
import { mapSystemError, TunnelError } from './errors.ts';
import { DEFAULT_BATCH_SIZE, type PacketBatch, type PacketPort } from './batch.ts';
import { netnsPath } from './tun.ts';
import { PollMux } from './poll.ts';

export interface UdpOptions {
  /** Local address to bind, IPv4 or IPv6 ('0.0.0.0', '::' for any). */
  address: string;
  /** Local port; 0 picks one (see `port`). @default 0 */
  port?: number;
  /** Network namespace to create the socket in: a name under /run/netns or an absolute path. */
  netns?: string;
  /** Datagrams per read. @default 64 */
  batchSize?: number;
  /** Use UDP_SEGMENT for runs of same-size datagrams to one peer. @default true */
  gso?: boolean;
  /**
   * Attribute a datagram to the peer registered at its source address even when its source port differs (the
   * Linux vxlan driver sends from a port hashed per flow, RFC 7348 section 5). Off: address and port must match.
   * @default false
   */
  peerByAddress?: boolean;
  /** Use UDP_GRO on receive. @default true */
  gro?: boolean;
  /** SO_SNDBUF / SO_RCVBUF request in bytes (forced past rmem_max/wmem_max with CAP_NET_ADMIN). */
  sendBuffer?: number;
  receiveBuffer?: number;
}

export interface UdpStats {
  rxPackets: number;
  /** Reads that returned a GRO-coalesced datagram. */
  rxGroBatches: number;
  /** Datagrams larger than a slot: truncated (a slot must hold headroom + the largest datagram). */
  rxTruncated: number;
  /** Datagrams from an address that is not a registered peer (peer -1). */
  rxUnknownSource: number;
  txPackets: number;
  /** Messages sent with UDP_SEGMENT carrying more than one datagram. */
  txGsoSends: number;
  /** Datagrams the kernel refused (unreachable, refused) or with an unregistered peer index: skipped. */
  txErrors: number;
  /** Times GSO was switched off after the kernel refused a GSO send. */
  gsoDisabled: number;
}

/** A bound UDP socket; create it with openUdp(). */
export class UdpBatchSocket implements PacketPort {
  readonly batchSize: number;
  readonly family: 4 | 6;
  readonly port: number;
  /** Whether GSO / GRO are in effect (the kernel may refuse them). */
  gso: boolean;
  readonly gro: boolean;
  private readonly mux: PollMux;

  /** @internal use openUdp() */
  constructor(
    private readonly native: NativeUdp,
    opts: UdpOptions,
    family: 4 | 6,
  ) {
    this.family = family;
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    if (opts.sendBuffer || opts.receiveBuffer) native.setBuffers(opts.sendBuffer ?? 0, opts.receiveBuffer ?? 0);
    this.port = native.bind(opts.address, opts.port ?? 0);
    this.gso = native.setGso(opts.gso ?? true);
    this.gro = native.setGro(opts.gro ?? true);
    if (opts.peerByAddress) native.setPeerByAddress(true);
    this.mux = new PollMux(native);
  }

  get pending(): boolean {
    return this.native.pending;
  }

  /** Registers (or replaces) peer `index` (0 .. 2^20) as the destination address:port. */
  addPeer(index: number, address: string, port: number): void {
    if (!isIP(address)) throw new TunnelError(`peer ${index}: "${address}" is not an IP address`, 'EINVAL');
    if (this.family === 4 && isIP(address) === 6)
      throw new TunnelError(`peer ${index}: IPv6 address on an IPv4 socket`, 'EAFNOSUPPORT');
    this.native.addPeer(index, address, port);
  }

  removePeer(index: number): void {
    this.native.removePeer(index);
  }

  /**
   * From now on this socket sends to (and recognises) the peers registered on `other`, a socket of the same
   * family: one peer table for both instead of a copy each (a pool of send sockets). Peers added to this socket
   * before are dropped; addPeer on either changes both. Throws TunnelError EAFNOSUPPORT across families.
   */
  sharePeers(other: UdpBatchSocket): void {
    if (other.family !== this.family) throw new TunnelError("sharePeers: the sockets' families differ", 'EAFNOSUPPORT');
    this.native.sharePeers(other.native);
  }

  /** See PacketPort.read: peers[i] is the source peer index, or -1 (then sourceOf(i) tells the address). */
  read(batch: PacketBatch, headroom: number): number {
    const max = Math.min(batch.capacity, this.batchSize);
    const n = this.native.recv(batch.slab, batch.slotSize, headroom, batch.offsets, batch.lengths, batch.peers, max);
    batch.count = n;
    return n;
  }

  /** See PacketPort.write: packet i goes to peer peers[i]; negative peers are skipped. */
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    return this.native.send(batch.slab, batch.offsets, batch.lengths, peers, start, batch.count);
  }

  /** Source address of slot i of the last read (meant for peers[i] === -1; allocates). */
  sourceOf(i: number): { address: string; port: number } | null {
    return this.native.sourceOf(i);
  }

  /** Requests socket buffer sizes; returns what the kernel set (it doubles requests). */
  setBuffers(send: number, receive: number): { send: number; receive: number } {
    return this.native.setBuffers(send, receive);
  }

  onReadable(cb: (() => void) | null): void {
    this.mux.onReadable(cb);
  }

  onWritable(cb: (() => void) | null): void {
    this.mux.onWritable(cb);
  }

  stats(): UdpStats {
    return this.native.stats();
  }

  close(): void {
    this.native.close();
  }
}

/** Creates and binds a UDP socket. Throws TunnelIoError (code EADDRINUSE, EADDRNOTAVAIL...) or NamespaceError. */
export function openUdp(opts: UdpOptions): UdpBatchSocket {
  const family = isIP(opts.address);
  if (family === 0) throw new TunnelError(`"${opts.address}" is not an IP address`, 'EINVAL');
  try {
    const native = new (addon().NativeUdp)({ family: family as 4 | 6, netns: netnsPath(opts.netns) });
    return new UdpBatchSocket(native, opts, family as 4 | 6);
  } catch (e) {
    throw mapSystemError(e, `udp ${opts.address}:${opts.port ?? 0}`);
  }
}
