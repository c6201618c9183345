// Egress on the super-packet path when a socket pool exists too: super-packets go through the TAP (the kernel
// segments them), every other packet through the pool, where runs of same-size datagrams to one peer leave as
// one UDP GSO sendmmsg (a TAP takes one write per packet, which costs small packets, pure ACKs and 64-byte UDP
// alike, more than a batched socket send).
//
// Design notes: order is kept: the batch is walked in runs of one kind, each run written before the next, and
// both paths hand the packet to the kernel synchronously. One flow keeps one outer source port on both paths:
// the TAP is given the pool socket's port for the flow's hash bucket, so ECMP sends the flow's big and small
// packets down the same path. Which kind a packet is comes from the virtio header a whole-mode TUN read left at
// the start of its slot (gso_type, byte 1).
import type { PacketBatch } from '@weft/tunnel';
import type { SuperPacketPort } from '../ports.ts';
import type { FlowSpreadSender } from './socket-pool.ts';

const GSO_TYPE = 1; // byte of the virtio header at the slot's start: 0 = not a super-packet

export class SplitSender implements SuperPacketPort {
  readonly batchSize: number;
  readonly pending = false;
  /** Flow hash per packet (the caller fills it); mapped to each path's own source-port array on write. */
  readonly sourcePorts: Int32Array;
  private readonly gate: Int32Array;
  private readonly bucketPorts: number[];
  /** The path whose write stopped short last (the one to wait on); null when the last write completed. */
  private blocked: SuperPacketPort | null = null;

  /** Takes ownership of both ports; `pool.batchSize` must be at least `batchSize`. */
  constructor(
    private readonly tap: SuperPacketPort,
    private readonly pool: FlowSpreadSender,
    batchSize: number,
  ) {
    this.batchSize = batchSize;
    this.sourcePorts = new Int32Array(batchSize);
    this.gate = new Int32Array(batchSize);
    this.bucketPorts = pool.boundPorts;
  }

  read(_batch: PacketBatch, _headroom: number): number {
    return 0;
  }

  /** See PacketPort.write. Returns the first packet not written when the path of its run would block. */
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    const { count, slab, offsets, slotSize } = batch;
    const isSuper = (i: number): boolean => slab[offsets[i]! - (offsets[i]! % slotSize) + GSO_TYPE] !== 0;
    for (let i = start; i < count; ) {
      const kind = isSuper(i);
      let j = i;
      while (j < count && isSuper(j) === kind) j++;
      const done = kind ? this.writeTap(batch, i, j, peers) : this.writePool(batch, i, j, peers);
      if (done < count) {
        this.blocked = kind ? this.tap : this.pool;
        return done;
      }
      i = j;
    }
    this.blocked = null;
    return count;
  }

  private gateRun(count: number, from: number, to: number, peers: Int32Array): Int32Array {
    this.gate.fill(-1, 0, count);
    this.gate.set(peers.subarray(from, to), from);
    return this.gate;
  }

  private writeTap(batch: PacketBatch, from: number, to: number, peers: Int32Array): number {
    const n = this.bucketPorts.length;
    for (let i = from; i < to; i++) this.tap.sourcePorts[i] = this.bucketPorts[this.sourcePorts[i]! % n]!;
    return this.tap.write(batch, from, this.gateRun(batch.count, from, to, peers));
  }

  private writePool(batch: PacketBatch, from: number, to: number, peers: Int32Array): number {
    this.pool.sourcePorts.set(this.sourcePorts.subarray(from, to), from);
    return this.pool.write(batch, from, this.gateRun(batch.count, from, to, peers));
  }

  addPeer(index: number, address: string, port: number): void {
    this.tap.addPeer(index, address, port);
    this.pool.addPeer(index, address, port);
  }

  removePeer(index: number): void {
    this.tap.removePeer(index);
    this.pool.removePeer(index);
  }

  onReadable(_cb: (() => void) | null): void {}

  /** Waits on the path that blocked (the other is writable and would wake the loop at once, over and over). */
  onWritable(cb: (() => void) | null): void {
    this.tap.onWritable(cb && this.blocked === this.tap ? cb : null);
    this.pool.onWritable(cb && this.blocked === this.pool ? cb : null);
  }

  close(): void {
    this.tap.close();
    this.pool.close();
  }
}
