// A super-packet sender that sends nothing: what a test gets from a scripted openSuperPacketSender, to see which
// TAPs the agent asked for (`opts`) and whether it closed them (`closed`).
import type { PacketBatch, TapSenderOptions } from '@weft/tunnel';
import type { SuperPacketPort } from '../../src/ports.ts';

export class NullTap implements SuperPacketPort {
  readonly batchSize = 64;
  readonly pending = false;
  readonly sourcePorts = new Int32Array(64);
  /** Times close() was called. */
  closed = 0;
  constructor(readonly opts: TapSenderOptions) {}
  read(_b: PacketBatch, _h: number): number {
    return 0;
  }
  write(b: PacketBatch): number {
    return b.count;
  }
  addPeer(): void {}
  removePeer(): void {}
  onReadable(): void {}
  onWritable(): void {}
  close(): void {
    this.closed++;
  }
}
