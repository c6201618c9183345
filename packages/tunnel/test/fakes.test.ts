// The in-memory fakes against the shared contract suites, and the forwarding loop on top of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelNetwork, ChannelTun, PacketBatch, forward } from '../src/index.ts';
import { tunCompliance, udpCompliance } from './compliance.ts';
import { pattern, udp4, udpPayload, waitFor } from './packets.ts';

const HOST = '10.244.9.1';
const DEVICE_SIDE = '10.244.9.2';

tunCompliance('ChannelTun', async () => {
  const tun = new ChannelTun({ batchSize: 8, mtu: 1500 });
  return {
    tun,
    mtu: 1500,
    hostSend: async (payloads) => payloads.forEach((p, i) => tun.inject(udp4(HOST, DEVICE_SIDE, 7001, 7000, p, i + 1))),
    packetToHost: (p, id) => udp4(DEVICE_SIDE, HOST, 7000, 7001, p, id),
    hostReceived: async () =>
      tun
        .take()
        .map((pkt) => udpPayload(pkt)!)
        .filter(Boolean),
    close: async () => tun.close(),
  };
});

udpCompliance('ChannelBind', async () => {
  const net = new ChannelNetwork();
  const a = net.bind('192.0.2.1', 8285, { batchSize: 8 });
  const b = net.bind('192.0.2.2', 8285, { batchSize: 8 });
  const c = net.bind('192.0.2.3', 9999, { batchSize: 8 });
  return {
    a,
    b,
    c,
    addrA: { address: '192.0.2.1', port: 8285 },
    addrB: { address: '192.0.2.2', port: 8285 },
    addrC: { address: '192.0.2.3', port: 9999 },
    close: async () => [a, b, c].forEach((s) => s.close()),
  };
});

/** Two fake nodes: tunA -> bindA -> bindB -> tunB, with no encapsulation (peer 0 is the other node). */
function twoNodes(outboundLimit = 1024) {
  const net = new ChannelNetwork();
  const tunA = new ChannelTun({ batchSize: 8 });
  const tunB = new ChannelTun({ batchSize: 8, outboundLimit });
  const bindA = net.bind('192.0.2.1', 8285, { batchSize: 8 });
  const bindB = net.bind('192.0.2.2', 8285, { batchSize: 8 });
  bindA.addPeer(0, '192.0.2.2', 8285);
  bindB.addPeer(0, '192.0.2.1', 8285);
  return { tunA, tunB, bindA, bindB };
}

test('forward: TUN -> UDP -> TUN moves every packet, headers written in the headroom and stripped', async () => {
  const { tunA, tunB, bindA, bindB } = twoNodes();
  const MARK = 4;
  const enc = forward({
    from: tunA,
    to: bindA,
    batchSize: 8,
    onBatch(slab, offsets, lengths, peers, count) {
      for (let i = 0; i < count; i++) {
        offsets[i]! -= MARK; // prepend a 4-byte header in place
        lengths[i]! += MARK;
        slab.set([0xde, 0xad, 0xbe, 0xef], offsets[i]!);
        peers[i] = 0;
      }
    },
  });
  const dec = forward({
    from: bindB,
    to: tunB,
    batchSize: 8,
    onBatch(slab, offsets, lengths, peers, count) {
      for (let i = 0; i < count; i++) {
        if (peers[i] !== 0 || slab[offsets[i]!] !== 0xde) peers[i] = -1;
        offsets[i]! += MARK;
        lengths[i]! -= MARK;
      }
    },
  });
  const sent = Array.from({ length: 20 }, (_, i) => udp4('10.244.1.2', '10.244.2.2', 1, 2, pattern(100, i), i));
  sent.forEach((p) => tunA.inject(p));
  const got: Uint8Array[] = [];
  assert.ok(await waitFor(() => (got.push(...tunB.take()), got.length >= 20)));
  assert.equal(got, sent);
  assert.is(enc.counters.packetsIn, 20);
  assert.is(enc.counters.packetsOut, 20);
  assert.is(dec.counters.packetsOut, 20);
  assert.ok(enc.counters.batches >= 3, 'batches of at most 8');
  enc.stop();
  dec.stop();
});

test('forward: peer -1 drops are counted, replies go back out of the source', async () => {
  const tun = new ChannelTun({ batchSize: 8 });
  const net = new ChannelNetwork();
  const bind = net.bind('192.0.2.1', 8285);
  const far = net.bind('192.0.2.2', 8285);
  bind.addPeer(0, '192.0.2.2', 8285);
  const fwd = forward({
    from: tun,
    to: bind,
    onBatch(slab, offsets, _lengths, peers, count, replies) {
      for (let i = 0; i < count; i++) {
        const kind = slab[offsets[i]! + 28]; // first payload byte says what to do
        if (kind === 1) peers[i] = 0;
        else if (kind === 2) (replies[i] = 1), (peers[i] = 0); // send back into the TUN
        // else: left at -1, dropped
      }
    },
  });
  const mk = (kind: number, i: number) => udp4('10.244.1.2', '10.244.2.2', 1, 2, new Uint8Array([kind, i]), i);
  [mk(1, 0), mk(2, 1), mk(3, 2), mk(1, 3), mk(2, 4)].forEach((p) => tun.inject(p));
  assert.ok(await waitFor(() => fwd.counters.packetsIn === 5));
  const rb = new PacketBatch(8);
  assert.ok(await waitFor(() => far.read(rb, 0) > 0));
  assert.is(rb.count, 2);
  const back = tun.take();
  assert.equal(
    back.map((p) => udpPayload(p)![1]),
    [1, 4],
    'replies in order, out of the TUN they came from',
  );
  assert.equal([fwd.counters.packetsOut, fwd.counters.dropped, fwd.counters.replies], [2, 1, 2]);
  fwd.stop();
});

test('forward: backpressure holds the batch, reads pause, nothing is lost', async () => {
  const { tunA, tunB, bindA, bindB } = twoNodes(5); // tunB accepts 5 packets until taken
  const all = (_s: Uint8Array, _o: Int32Array, _l: Int32Array, peers: Int32Array, n: number) => peers.fill(0, 0, n);
  const enc = forward({ from: tunA, to: bindA, onBatch: all });
  const dec = forward({ from: bindB, to: tunB, onBatch: all });
  const sent = Array.from({ length: 30 }, (_, i) => udp4('10.244.1.2', '10.244.2.2', 1, 2, pattern(40, i), i));
  sent.forEach((p) => tunA.inject(p));
  const got: Uint8Array[] = [];
  assert.ok(await waitFor(() => dec.counters.backpressure > 0), 'the writer blocked');
  assert.ok(await waitFor(() => (got.push(...tunB.take()), got.length >= 30), 5000));
  assert.equal(got, sent, 'all packets, in order, once');
  assert.is(dec.counters.dropped, 0);
  assert.is(bindB.rxDropped, 0);
  enc.stop();
  dec.stop();
});

test('forward: a callback that throws is counted and the loop goes on', async () => {
  const tun = new ChannelTun();
  const out = new ChannelTun();
  let calls = 0;
  const fwd = forward({
    from: tun,
    to: out,
    onBatch(_s, _o, _l, peers, count) {
      if (calls++ === 0) throw new Error('boom');
      peers.fill(0, 0, count);
    },
  });
  tun.inject(udp4('10.0.0.1', '10.0.0.2', 1, 2, pattern(10, 1)));
  assert.ok(await waitFor(() => fwd.counters.errors === 1));
  tun.inject(udp4('10.0.0.1', '10.0.0.2', 1, 2, pattern(10, 2)));
  assert.ok(await waitFor(() => fwd.counters.packetsOut === 1));
  assert.instance(fwd.lastError, Error);
  fwd.stop();
});

test.run();
