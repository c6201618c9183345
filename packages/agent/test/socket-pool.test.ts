// FlowSpreadSender on scripted fake sockets: each packet leaves from the socket its flow hash picks, exactly once,
// also when a socket would block mid-batch and the forwarding loop resumes from the index it was given. And
// SplitSender: super-packets to the TAP, the rest to the pool, in batch order, one outer port per flow.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PacketBatch } from '@weft/tunnel';
import { FlowSpreadSender } from '../src/backends/socket-pool.ts';
import { SplitSender } from '../src/backends/split-sender.ts';
import type { SuperPacketPort, UdpPort } from '../src/ports.ts';

/** A socket that records (packet index, destination) and, when told, would block at its n-th packet once. */
class ScriptedSocket implements UdpPort {
  readonly batchSize = 64;
  readonly pending = false;
  readonly sent: [number, number][] = [];
  writableWaits = 0;
  readonly sourcePorts = new Int32Array(64);
  readonly log: string[] = [];
  constructor(
    private blockAt = -1,
    readonly port?: number,
    private readonly label = '',
  ) {}
  read(): number {
    return 0;
  }
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    for (let i = start; i < batch.count; i++) {
      if (peers[i]! < 0) continue;
      if (this.blockAt === 0) {
        this.blockAt = -1;
        return i;
      }
      this.blockAt--;
      this.sent.push([i, peers[i]!]);
      if (this.label) this.log.push(`${this.label}${i}:${this.sourcePorts[i]}`);
    }
    return batch.count;
  }
  addPeer(): void {}
  removePeer(): void {}
  onReadable(): void {}
  onWritable(cb: (() => void) | null): void {
    if (cb) this.writableWaits++;
  }
  close(): void {}
}

function batchOf(count: number): PacketBatch {
  const b = new PacketBatch(count, 64);
  for (let i = 0; i < count; i++) b.set(i, new Uint8Array([i]), 0, 100 + i);
  b.count = count;
  return b;
}

test('packet i goes to peers[i] from socket sourcePorts[i] mod N; dropped packets go nowhere', () => {
  const sockets = [new ScriptedSocket(), new ScriptedSocket(), new ScriptedSocket()];
  const pool = new FlowSpreadSender(sockets, 16);
  const b = batchOf(12);
  b.peers[5] = -1;
  for (let i = 0; i < 12; i++) pool.sourcePorts[i] = 49152 + i * 7;
  assert.is(pool.write(b), 12);
  sockets.forEach((s, k) => {
    const want = [...Array(12).keys()].filter((i) => i !== 5 && (49152 + i * 7) % 3 === k).map((i) => [i, 100 + i]);
    assert.equal(s.sent, want, `socket ${k}`);
  });
});

test('a socket that would block: write returns its index, the resume sends the rest, nothing twice', () => {
  const sockets = [new ScriptedSocket(), new ScriptedSocket(2)]; // socket 1 blocks at its third packet
  const pool = new FlowSpreadSender(sockets, 16);
  const b = batchOf(10);
  for (let i = 0; i < 10; i++) pool.sourcePorts[i] = i; // even -> socket 0, odd -> socket 1
  const first = pool.write(b);
  assert.is(first, 5, "packet 5 (socket 1's third) was not sent");
  assert.equal(
    sockets[0]!.sent.map(([i]) => i),
    [0, 2, 4, 6, 8],
    'socket 0 sent all of its packets, past 5 too',
  );
  pool.onWritable(() => {});
  assert.equal(
    sockets.map((s) => s.writableWaits),
    [0, 1],
    'only the blocked socket is waited on',
  );
  assert.is(pool.write(b, first), 10, 'the resume completes the batch');
  assert.equal(
    sockets[0]!.sent.map(([i]) => i),
    [0, 2, 4, 6, 8],
    'socket 0 sent nothing twice',
  );
  assert.equal(
    sockets[1]!.sent.map(([i]) => i),
    [1, 3, 5, 7, 9],
  );
  const next = batchOf(4);
  for (let i = 0; i < 4; i++) pool.sourcePorts[i] = 0;
  assert.is(pool.write(next), 4, 'the next batch starts afresh');
  assert.equal(
    sockets[0]!.sent.slice(5).map(([i]) => i),
    [0, 1, 2, 3],
  );
});

test('SplitSender: runs in order, super-packets to the TAP with the pool port of their flow, a blocked run resumes', () => {
  const order: string[] = [];
  const tap = new ScriptedSocket(3, undefined, 'tap'); // the TAP blocks at its fourth packet once
  const sockets = [new ScriptedSocket(-1, 40001, 'pool'), new ScriptedSocket(-1, 40002, 'pool')];
  const pool = new FlowSpreadSender(sockets, 16);
  const split = new SplitSender(tap as unknown as SuperPacketPort, pool, 16);
  const b = new PacketBatch(8, 128);
  const kinds = [1, 1, 0, 0, 1, 1, 1, 0]; // 1: a super-packet (gso_type at the slot's byte 1)
  kinds.forEach((k, i) => {
    b.set(i, new Uint8Array([i]), 32, 100 + i);
    b.slab[i * 128 + 1] = k;
    split.sourcePorts[i] = i; // flow hash: even -> bucket 0 (port 40001), odd -> bucket 1 (40002)
  });
  b.count = 8;
  const first = split.write(b);
  assert.is(first, 5, 'the TAP blocked at its fourth packet (index 5)');
  assert.is(split.write(b, first), 8, 'resumed from there');
  order.push(...tap.log, ...sockets.flatMap((s) => s.log));
  assert.equal(
    tap.log,
    ['tap0:40001', 'tap1:40002', 'tap4:40001', 'tap5:40002', 'tap6:40001'],
    "super-packets, each with its flow bucket's port",
  );
  assert.equal(
    sockets[0]!.sent.map(([i]) => i),
    [2],
    'even flows of the rest from socket 0',
  );
  assert.equal(
    sockets[1]!.sent.map(([i]) => i),
    [3, 7],
    'odd flows from socket 1',
  );
  assert.ok(order.length === 8, 'every packet once');
});

test.run();
