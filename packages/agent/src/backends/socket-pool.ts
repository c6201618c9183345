// Flow entropy on the socket path: a small pool of send-only UDP sockets, each bound to the node's address on
// its own ephemeral port; packet i leaves from socket (sourcePorts[i] mod N), so each inner flow keeps one outer
// source port and different flows spread over N of them (RFC 7348 section 5 asks for a per-flow source port so
// that ECMP and receive-side scaling can spread tunnels; the kernel picks any port per flow, we pick among N).
//
// Design notes: a socket can only send from the port it is bound to, and binding per packet would cost a
// syscall each, so a handful of sockets stands in for the kernel's per-packet choice. Batches keep their
// sendmmsg/GSO grouping per socket: one write() makes at most N sendmmsg calls. Backpressure: when socket k
// would block, write() returns the first packet socket k did not send; packets already sent by the other
// sockets are remembered (`sent`) and skipped when the forwarding loop resumes from there, so nothing goes twice.
// Where the sockets can share one peer table (real sockets: sharePeers), the others use the first one's, and
// peers are registered once; otherwise (fakes) each socket gets every peer.
import type { PacketBatch } from '@weft/tunnel';
import type { AgentPorts, UdpPort } from '../ports.ts';

/** Sockets in the pool: eight ports already give ECMP and RSS several paths to spread over. */
export const FLOW_SOCKETS = 8;

export class FlowSpreadSender implements UdpPort {
  readonly batchSize: number;
  readonly pending = false;
  /** Flow hash per packet of the batch being written (any non-negative integer; the caller fills it). */
  readonly sourcePorts: Int32Array;
  private readonly gates: Int32Array[];
  private readonly sent: Uint8Array;
  private readonly blocked: boolean[];
  private holding = false;
  /** Whether the sockets share the first one's peer table (then peers go to it alone). */
  private readonly shared: boolean;

  /** Takes ownership of `sockets` (send-only, bound to the node's address, ephemeral ports). */
  constructor(
    private readonly sockets: readonly UdpPort[],
    batchSize: number,
  ) {
    if (sockets.length === 0) throw new RangeError('FlowSpreadSender needs at least one socket');
    this.batchSize = batchSize;
    this.sourcePorts = new Int32Array(batchSize);
    this.gates = sockets.map(() => new Int32Array(batchSize));
    this.sent = new Uint8Array(batchSize);
    this.blocked = sockets.map(() => false);
    const first = sockets[0]!;
    this.shared = sockets.every((s) => s.sharePeers);
    if (this.shared) for (const s of sockets.slice(1)) s.sharePeers!(first);
  }

  /** The pool's local ports, socket k's at k: a flow with hash h leaves from boundPorts[h mod N]. */
  get boundPorts(): number[] {
    return this.sockets.map((s) => s.port ?? 0);
  }

  get gso(): boolean {
    return this.sockets[0]!.gso ?? false;
  }

  read(_batch: PacketBatch, _headroom: number): number {
    return 0;
  }

  /** See PacketPort.write: packet i goes to peers[i] from socket sourcePorts[i] mod N. */
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    const n = this.sockets.length;
    const count = batch.count;
    if (!this.holding) this.sent.fill(0, 0, count); // a new batch: nothing of it is out yet
    for (let k = 0; k < n; k++) this.gates[k]!.fill(-1, 0, count);
    for (let i = start; i < count; i++) {
      if (peers[i]! >= 0 && this.sent[i] === 0) this.gates[this.sourcePorts[i]! % n]![i] = peers[i]!;
    }
    let next = count;
    for (let k = 0; k < n; k++) {
      const gate = this.gates[k]!;
      const done = this.sockets[k]!.write(batch, start, gate);
      for (let i = start; i < done; i++) if (gate[i]! >= 0) this.sent[i] = 1;
      this.blocked[k] = done < count;
      if (done < next) next = done;
    }
    this.holding = next < count;
    return next;
  }

  addPeer(index: number, address: string, port: number): void {
    for (const s of this.peerHolders()) s.addPeer(index, address, port);
  }

  removePeer(index: number): void {
    for (const s of this.peerHolders()) s.removePeer(index);
  }

  private peerHolders(): readonly UdpPort[] {
    return this.shared ? this.sockets.slice(0, 1) : this.sockets;
  }

  onReadable(_cb: (() => void) | null): void {}

  /** Waits on the sockets that blocked in the last write (the others are writable and would wake at once). */
  onWritable(cb: (() => void) | null): void {
    this.sockets.forEach((s, k) => s.onWritable(cb && this.blocked[k] ? cb : null));
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

/**
 * The pool for the socket path, or undefined where the ports offer no send-only sockets (in-memory fakes):
 * then every datagram leaves from the bound port, as before.
 */
export function openFlowSpread(
  ports: AgentPorts,
  address: string,
  batchSize: number,
  sendBuffer: number,
): FlowSpreadSender | undefined {
  if (!ports.openSendUdp) return undefined;
  const sockets: UdpPort[] = [];
  try {
    for (let k = 0; k < FLOW_SOCKETS; k++)
      sockets.push(ports.openSendUdp({ address, port: 0, batchSize, sendBuffer, gro: false }));
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }
  return new FlowSpreadSender(sockets, batchSize);
}
