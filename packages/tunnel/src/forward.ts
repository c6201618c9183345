// forward(): the dataplane loop. Read a batch from one port, let a callback edit it in place, write it to the
// other port; repeat while packets are waiting.
//
// Design notes: one PacketBatch is allocated per loop and reused, so the steady state allocates nothing per
// packet. Backpressure: when the destination would block, the loop stops reading from the source (the kernel
// queues, or drops and counts, upstream) and waits for the destination to become writable, then finishes the
// batch it holds. There is no queue beyond that one batch, and every packet that is not written is counted.
// Replies (an ARP answer, an ICMP error) go back out of the source port: the callback marks them in `replies`;
// a reply that would block is dropped and counted, since the rare reply path should never stall forwarding.
import { DEFAULT_BATCH_SIZE, DEFAULT_HEADROOM, DEFAULT_SLOT_SIZE, PacketBatch, type PacketPort } from './batch.ts';

/** What the callback may do with packet i: edit bytes, move offsets[i]/lengths[i] within the slot, set peers[i]. */
export type OnBatch = (
  slab: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  /** Destination peer per packet (in: the source peer for UDP, -1 for TUN). Set -1 to drop (counted). */
  peers: Int32Array,
  count: number,
  /**
   * Set replies[i] = 1 to send packet i back out of the source port instead, to peers[i] (which must be >= 0:
   * the peer to answer for a UDP source, any non-negative value such as 0 for a TUN source).
   */
  replies: Uint8Array,
) => void;

export interface ForwardOptions {
  from: PacketPort;
  to: PacketPort;
  onBatch: OnBatch;
  /** Packets per batch (also capped by from.batchSize). @default 64 */
  batchSize?: number;
  /** Bytes kept free in front of each packet read, for headers the callback prepends. @default 80 */
  headroom?: number;
  /** Bytes per slot: headroom + the largest packet. @default 2048 */
  slotSize?: number;
  /** Batches handled per readiness event before yielding to the event loop. @default 16 */
  batchesPerWake?: number;
}

/** Counters of one forwarding direction; read them any time (they are plain numbers, updated per batch). */
export interface ForwardCounters {
  batches: number;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  /** Packets the callback dropped by leaving or setting peers[i] < 0. */
  dropped: number;
  replies: number;
  /** Replies not sent because the source port would have blocked. */
  replyDrops: number;
  /** Times the destination would block and reading paused. */
  backpressure: number;
  /** Exceptions thrown by the callback or a port; the batch is dropped (counted in dropped). */
  errors: number;
}

export interface Forwarder {
  readonly counters: ForwardCounters;
  /** The last exception counted in counters.errors, for logging. */
  readonly lastError: unknown;
  /** Stops reading and writing; the ports stay open (close them yourself). */
  stop(): void;
}

const SKIP = -2;

class ForwardLoop implements Forwarder {
  readonly counters: ForwardCounters = {
    batches: 0,
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    dropped: 0,
    replies: 0,
    replyDrops: 0,
    backpressure: 0,
    errors: 0,
  };
  lastError: unknown = undefined;
  private readonly batch: PacketBatch;
  private readonly replies: Uint8Array;
  private readonly replyPeers: Int32Array;
  private readonly headroom: number;
  private readonly perWake: number;
  private writeFrom = -1; // >= 0 while a batch is held back by backpressure
  private stopped = false;

  constructor(private readonly opts: ForwardOptions) {
    const size = Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, opts.from.batchSize);
    this.batch = new PacketBatch(size, opts.slotSize ?? DEFAULT_SLOT_SIZE);
    this.replies = new Uint8Array(size);
    this.replyPeers = new Int32Array(size);
    this.headroom = opts.headroom ?? DEFAULT_HEADROOM;
    this.perWake = opts.batchesPerWake ?? 16;
    opts.from.onReadable(this.pump);
  }

  private readonly pump = (): void => {
    for (let k = 0; k < this.perWake && !this.stopped; k++) {
      const n = this.readOne();
      if (n === 0 || !this.flush()) return;
      if (n < this.batch.capacity && !this.opts.from.pending) return;
    }
  };

  private readOne(): number {
    const { batch, replies, counters } = this;
    let n: number;
    try {
      n = this.opts.from.read(batch, this.headroom);
      if (n === 0) return 0;
      replies.fill(0, 0, n);
      this.opts.onBatch(batch.slab, batch.offsets, batch.lengths, batch.peers, n, replies);
    } catch (e) {
      counters.errors++;
      this.lastError = e;
      batch.count = 0;
      return 0;
    }
    counters.batches++;
    counters.packetsIn += n;
    for (let i = 0; i < n; i++) {
      counters.bytesIn += batch.lengths[i]!;
      if (replies[i] === 1) {
        this.replyPeers[i] = batch.peers[i]!;
        batch.peers[i] = SKIP;
        counters.replies++;
      } else {
        this.replyPeers[i] = -1;
        if (batch.peers[i]! < 0) counters.dropped++;
      }
    }
    this.writeFrom = 0;
    if (counters.replies) this.sendReplies(n);
    return n;
  }

  private sendReplies(n: number): void {
    let any = false;
    for (let i = 0; i < n && !any; i++) any = this.replies[i] === 1;
    if (!any) return;
    const done = this.opts.from.write(this.batch, 0, this.replyPeers);
    for (let i = 0; i < n; i++) {
      if (this.replies[i] === 1 && (i >= done || this.replyPeers[i]! < 0)) this.counters.replyDrops++;
    }
  }

  /** Writes what is left of the held batch; false when the destination would block (a wait was armed). */
  private flush(): boolean {
    const { batch, counters } = this;
    const start = this.writeFrom;
    let next: number;
    try {
      next = this.opts.to.write(batch, start);
    } catch (e) {
      // A callback moved a packet outside the slab (RangeError) or the port was closed: drop the rest, counted.
      counters.errors++;
      this.lastError = e;
      for (let i = start; i < batch.count; i++) if (batch.peers[i]! >= 0) counters.dropped++;
      this.writeFrom = -1;
      return true;
    }
    for (let i = start; i < next; i++) if (batch.peers[i]! >= 0) counters.packetsOut++;
    if (next >= batch.count) {
      this.writeFrom = -1;
      return true;
    }
    this.writeFrom = next;
    counters.backpressure++;
    this.opts.from.onReadable(null);
    this.opts.to.onWritable(this.resume);
    return false;
  }

  private readonly resume = (): void => {
    if (this.stopped) return;
    if (!this.flush()) return;
    this.opts.to.onWritable(null);
    this.opts.from.onReadable(this.pump);
    this.pump();
  };

  stop(): void {
    this.stopped = true;
    this.opts.from.onReadable(null);
    this.opts.to.onWritable(null);
  }
}

/**
 * Starts forwarding from `from` to `to` until stop(). Typical use: TUN -> UDP, where onBatch looks up each
 * packet's destination, writes encapsulation into the headroom (offsets[i] -= n, lengths[i] += n) and sets
 * peers[i]; and UDP -> TUN, where onBatch checks peers[i] (the source) and strips headers (offsets[i] += n).
 * The callback must not keep references to the slab past its return: the next batch overwrites it.
 */
export function forward(opts: ForwardOptions): Forwarder {
  return new ForwardLoop(opts);
}
