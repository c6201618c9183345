// In-memory fakes of the two ports, with the same interfaces and the same contracts as the real ones (the
// compliance suite in test/ runs against both). They let backends and the agent be tested without root.
import type { PacketBatch, PacketPort } from './batch.ts';
import { DEFAULT_BATCH_SIZE } from './batch.ts';

/** Level-triggered readiness emulation: callbacks run from setImmediate while their condition holds. */
class Readiness {
  private readCb: (() => void) | null = null;
  private writeCb: (() => void) | null = null;
  private scheduled = false;

  constructor(
    private readonly readable: () => boolean,
    private readonly writable: () => boolean,
  ) {}

  onReadable(cb: (() => void) | null): void {
    this.readCb = cb;
    this.kick();
  }

  onWritable(cb: (() => void) | null): void {
    this.writeCb = cb;
    this.kick();
  }

  /** Re-checks the conditions soon (call after anything that may change them). */
  kick(): void {
    if (this.scheduled || (!this.readCb && !this.writeCb)) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      let fired = false;
      if (this.writeCb && this.writable()) (fired = true), this.writeCb();
      if (this.readCb && this.readable()) (fired = true), this.readCb();
      if (fired) this.kick();
    });
  }
}

function copyIn(batch: PacketBatch, i: number, headroom: number, data: Uint8Array, peer: number): boolean {
  if (headroom + data.length > batch.slotSize) return false;
  const at = i * batch.slotSize + headroom;
  batch.slab.set(data, at);
  batch.offsets[i] = at;
  batch.lengths[i] = data.length;
  batch.peers[i] = peer;
  return true;
}

export interface ChannelTunOptions {
  batchSize?: number;
  /** Packets written but not yet taken before write() reports "would block". @default 1024 */
  outboundLimit?: number;
  /** Largest packet inject() accepts, like a device MTU. @default 1500 */
  mtu?: number;
}

/** A fake TUN: inject() plays the kernel sending a packet to the device; take() collects what was written. */
export class ChannelTun implements PacketPort {
  readonly batchSize: number;
  readonly mtu: number;
  readonly name = 'channel0';
  private readonly inbound: Uint8Array[] = [];
  private readonly outbound: Uint8Array[] = [];
  private readonly outboundLimit: number;
  private readonly ready: Readiness;
  /** Packets longer than a slot: dropped by read and counted (the real device would truncate). */
  truncated = 0;
  closed = false;

  constructor(opts: ChannelTunOptions = {}) {
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.outboundLimit = opts.outboundLimit ?? 1024;
    this.mtu = opts.mtu ?? 1500;
    this.ready = new Readiness(
      () => this.inbound.length > 0,
      () => this.outbound.length < this.outboundLimit,
    );
  }

  get pending(): boolean {
    return false;
  }

  /** Queues a copy of packet for read(). */
  inject(packet: Uint8Array): void {
    if (packet.length > this.mtu) throw new RangeError(`packet of ${packet.length} B exceeds MTU ${this.mtu}`);
    this.inbound.push(packet.slice());
    this.ready.kick();
  }

  /** Removes and returns the packets written so far (oldest first), making room for more writes. */
  take(): Uint8Array[] {
    const out = this.outbound.splice(0);
    this.ready.kick();
    return out;
  }

  read(batch: PacketBatch, headroom: number): number {
    this.check();
    const max = Math.min(batch.capacity, this.batchSize);
    let n = 0;
    while (n < max && this.inbound.length > 0) {
      if (copyIn(batch, n, headroom, this.inbound.shift()!, -1)) n++;
      else this.truncated++;
    }
    batch.count = n;
    return n;
  }

  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    this.check();
    for (let i = start; i < batch.count; i++) {
      if (peers[i]! < 0) continue;
      if (this.outbound.length >= this.outboundLimit) return i;
      this.outbound.push(batch.slab.slice(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!));
    }
    return batch.count;
  }

  onReadable(cb: (() => void) | null): void {
    this.ready.onReadable(cb);
  }

  onWritable(cb: (() => void) | null): void {
    this.ready.onWritable(cb);
  }

  close(): void {
    this.closed = true;
    this.ready.onReadable(null);
    this.ready.onWritable(null);
  }

  private check(): void {
    if (this.closed) throw new Error('ChannelTun is closed');
  }
}

interface Datagram {
  data: Uint8Array;
  from: string;
}

/** The in-memory "network" ChannelBinds send through, keyed by "address:port". */
export class ChannelNetwork {
  private readonly binds = new Map<string, ChannelBind>();
  private nextPort = 40000;

  /** Binds a fake socket; port 0 picks one. Throws on a duplicate, like EADDRINUSE. */
  bind(address: string, port = 0, opts: { batchSize?: number; receiveQueue?: number } = {}): ChannelBind {
    const p = port || this.nextPort++;
    const key = `${address}:${p}`;
    if (this.binds.has(key)) throw new Error(`${key} is in use`);
    const b = new ChannelBind(this, address, p, opts.batchSize ?? DEFAULT_BATCH_SIZE, opts.receiveQueue ?? 4096);
    this.binds.set(key, b);
    return b;
  }

  /** @internal */
  deliver(to: string, d: Datagram): boolean {
    const b = this.binds.get(to);
    return b ? b.enqueue(d) : false;
  }

  /** @internal */
  unbind(b: ChannelBind): void {
    this.binds.delete(`${b.address}:${b.port}`);
  }
}

/** A fake UDP socket with the UdpBatchSocket contract: peers by index, source peer on receive, -1 if unknown. */
export class ChannelBind implements PacketPort {
  private readonly peerKeys: (string | undefined)[] = [];
  private readonly peerIndex = new Map<string, number>();
  private readonly queue: Datagram[] = [];
  private readonly sources: string[] = [];
  private readonly ready: Readiness;
  /** Datagrams lost because this bind's receive queue was full (like a full socket buffer). */
  rxDropped = 0;
  /** Sends to an unbound address or unregistered peer index. */
  txErrors = 0;
  closed = false;

  /** @internal use ChannelNetwork.bind */
  constructor(
    private readonly net: ChannelNetwork,
    readonly address: string,
    readonly port: number,
    readonly batchSize: number,
    private readonly queueLimit: number,
  ) {
    this.ready = new Readiness(
      () => this.queue.length > 0,
      () => true,
    );
  }

  get pending(): boolean {
    return false;
  }

  addPeer(index: number, address: string, port: number): void {
    const old = this.peerKeys[index];
    if (old !== undefined) this.peerIndex.delete(old);
    this.peerKeys[index] = `${address}:${port}`;
    this.peerIndex.set(`${address}:${port}`, index);
  }

  removePeer(index: number): void {
    const old = this.peerKeys[index];
    if (old !== undefined) this.peerIndex.delete(old);
    this.peerKeys[index] = undefined;
  }

  /** @internal */
  enqueue(d: Datagram): boolean {
    if (this.closed) return false;
    if (this.queue.length >= this.queueLimit) {
      this.rxDropped++;
      return false;
    }
    this.queue.push(d);
    this.ready.kick();
    return true;
  }

  read(batch: PacketBatch, headroom: number): number {
    if (this.closed) throw new Error('ChannelBind is closed');
    const max = Math.min(batch.capacity, this.batchSize);
    let n = 0;
    while (n < max && this.queue.length > 0) {
      const d = this.queue.shift()!;
      if (!copyIn(batch, n, headroom, d.data, this.peerIndex.get(d.from) ?? -1)) continue;
      this.sources[n++] = d.from;
    }
    batch.count = n;
    return n;
  }

  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    if (this.closed) throw new Error('ChannelBind is closed');
    const from = `${this.address}:${this.port}`;
    for (let i = start; i < batch.count; i++) {
      const p = peers[i]!;
      if (p < 0) continue;
      const to = this.peerKeys[p];
      const data = batch.slab.slice(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!);
      if (to === undefined || !this.net.deliver(to, { data, from })) this.txErrors++;
    }
    return batch.count;
  }

  sourceOf(i: number): { address: string; port: number } | null {
    const s = this.sources[i];
    if (s === undefined) return null;
    const cut = s.lastIndexOf(':');
    return { address: s.slice(0, cut), port: Number(s.slice(cut + 1)) };
  }

  onReadable(cb: (() => void) | null): void {
    this.ready.onReadable(cb);
  }

  onWritable(cb: (() => void) | null): void {
    this.ready.onWritable(cb);
  }

  close(): void {
    this.closed = true;
    this.ready.onReadable(null);
    this.net.unbind(this);
  }
}
