// PacketBatch: the memory one batch of packets lives in, allocated once and reused for every read and write.

/** Room for encapsulation in front of each packet: 14 (Ethernet) + 40 (IPv6) + 8 (UDP) + 8 (VXLAN) = 70, rounded. */
export const DEFAULT_HEADROOM = 80;
/** A slot holds the headroom plus one packet: 2048 covers MTU 1500 with 80 bytes of headroom. */
export const DEFAULT_SLOT_SIZE = 2048;
/** Packets per batch unless told otherwise (wireguard-go uses 128; 64 keeps a batch of 2 KB slots in L2). */
export const DEFAULT_BATCH_SIZE = 64;

/**
 * `capacity` slots of `slotSize` bytes in one slab. After a read, packet i is
 * `slab.subarray(offsets[i], offsets[i] + lengths[i])`, placed at `i * slotSize + headroom`; a callback may move
 * offsets[i] back (to prepend headers into the headroom) or forward (to strip them) and change lengths[i], as long
 * as the packet stays inside its slot. peers[i] is the UDP peer index: the source peer after a UDP read (-1 when
 * unknown), and the destination before a UDP write; a negative peer means "do not write this packet".
 * The batch owns its memory; ports only borrow it for the duration of a call.
 */
export class PacketBatch {
  readonly slab: Uint8Array;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly peers: Int32Array;
  /** Packets currently in the batch (set by read). */
  count = 0;

  constructor(
    readonly capacity: number = DEFAULT_BATCH_SIZE,
    readonly slotSize: number = DEFAULT_SLOT_SIZE,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`batch capacity ${capacity}: use an integer >= 1`);
    if (!Number.isInteger(slotSize) || slotSize < 64)
      throw new RangeError(`slot size ${slotSize}: use an integer >= 64`);
    this.slab = new Uint8Array(capacity * slotSize);
    this.offsets = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.peers = new Int32Array(capacity);
  }

  /** A view of packet i (allocates a view object: for tests and rare paths, not the per-packet hot loop). */
  packet(i: number): Uint8Array {
    return this.slab.subarray(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!);
  }

  /** Copies `data` into slot i at `headroom` and sets its offset and length (for building batches by hand). */
  set(i: number, data: Uint8Array, headroom = 0, peer = -1): void {
    if (headroom + data.length > this.slotSize)
      throw new RangeError(`packet of ${data.length} B does not fit a ${this.slotSize} B slot`);
    const at = i * this.slotSize + headroom;
    this.slab.set(data, at);
    this.offsets[i] = at;
    this.lengths[i] = data.length;
    this.peers[i] = peer;
  }
}

/**
 * What both TUN devices and UDP sockets (real and in-memory) offer the forwarding loop. Calls never block:
 * read returns 0 when nothing is waiting, write returns early when the kernel (or fake) would block.
 */
export interface PacketPort {
  /** Packets one read may return; fixed for the port's lifetime. */
  readonly batchSize: number;
  /** True when packets are already buffered in userspace, so read() returns more without waiting for readiness. */
  readonly pending: boolean;
  /**
   * Reads up to min(batch.capacity, batchSize) packets into slots at `headroom`; sets batch.count, offsets,
   * lengths and peers (UDP: source peer or -1; TUN: -1) and returns the count (0: nothing waiting).
   */
  read(batch: PacketBatch, headroom: number): number;
  /**
   * Writes packets start..batch.count-1 whose gate peers[i] is >= 0 (`peers` defaults to batch.peers; for a UDP
   * port it is also the destination). Returns the index of the first packet not written: batch.count when all
   * were, less when the device would block (wait with onWritable, then call again from there).
   */
  write(batch: PacketBatch, start?: number, peers?: Int32Array): number;
  /** Calls cb whenever packets may be waiting (level-triggered); null stops. */
  onReadable(cb: (() => void) | null): void;
  /** Calls cb when a write that returned early may go on; null stops. */
  onWritable(cb: (() => void) | null): void;
  close(): void;
}
