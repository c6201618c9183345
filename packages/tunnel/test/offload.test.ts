// Offloads: split/coalesce as pure functions, then a real TCP stream through vnet_hdr TUNs and UDP GSO/GRO.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { canRunPrivileged, type Netns } from '@weft/lab';
import {
  PacketBatch,
  TCP_OFFLOADS,
  configureLink,
  forward,
  openTun,
  openUdp,
  type TunDevice,
  type UdpBatchSocket,
} from '../src/index.ts';
import {
  CoalesceWhy,
  SplitResult,
  VNET_HDR_LENGTH,
  checksumOk,
  coalesceSegments,
  splitSuperPacket,
} from '../src/offload.ts';
import { splitSuperPacketTs } from '../src/split-ts.ts';
import { pattern, tcp4, udp4 } from './packets.ts';
import { twoNamespaces } from './lab.ts';

const MSS = 1400;
const FLOW = { src: '10.244.1.2', dst: '10.244.2.2', sport: 40000, dport: 5201 };
const TIMESTAMP = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);

/** A virtio header + IPv4/TCP super-packet as the kernel would hand it (TSO, NEEDS_CSUM at the TCP checksum). */
function superPacket(payload: Uint8Array, mss = MSS, flags = 0x18): Uint8Array {
  const ip = tcp4({ ...FLOW, seq: 1000, flags, options: TIMESTAMP }, payload);
  const out = new Uint8Array(VNET_HDR_LENGTH + ip.length);
  const v = new DataView(out.buffer);
  out[0] = 1; // NEEDS_CSUM
  out[1] = 1; // GSO_TCPV4
  v.setUint16(2, 20 + 32, true);
  v.setUint16(4, mss, true);
  v.setUint16(6, 20, true); // csum_start: the TCP header
  v.setUint16(8, 16, true); // csum_offset: TCP checksum field
  out.set(ip, VNET_HDR_LENGTH);
  return out;
}

const seqOf = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset).getUint32(24);

test('native checksums agree with a plain TypeScript reference, for every length and any flipped byte', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), fc.nat(), (payload, at) => {
      const pkt = udp4('10.0.0.1', '10.0.0.2', 1234, 5678, payload);
      const seg = tcp4({ ...FLOW, seq: at }, payload);
      if (!checksumOk(pkt) || !checksumOk(seg)) return false;
      const i = 20 + (at % (seg.length - 20));
      seg[i]! ^= 0x01;
      return !checksumOk(seg);
    }),
    { numRuns: 3000 },
  );
});

test('a TCP super-packet splits into MSS segments with valid checksums, advancing sequence numbers', () => {
  const payload = pattern(10_000, 3);
  const batch = new PacketBatch(64);
  const n = splitSuperPacket(superPacket(payload), batch, 80);
  assert.is(n, Math.ceil(10_000 / MSS));
  const joined: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = batch.packet(i);
    assert.ok(checksumOk(p), `segment ${i} checksums`);
    assert.is(seqOf(p), 1000 + i * MSS);
    assert.is(p[33]! & 0x08, i === n - 1 ? 0x08 : 0, 'PSH only on the last segment');
    joined.push(...p.subarray(52));
  }
  assert.equal(Uint8Array.from(joined), payload);
});

test('the TypeScript split produces the same bytes as the native one', () => {
  for (const len of [1, 1399, 1400, 1401, 20_000, 65_000 - 52]) {
    const nat = new PacketBatch(64);
    const ts = new PacketBatch(64);
    const n = splitSuperPacket(superPacket(pattern(len, len)), nat, 80);
    assert.is(splitSuperPacketTs(superPacket(pattern(len, len)), ts, 80), n, `segments for ${len}`);
    for (let i = 0; i < n; i++) assert.equal(ts.packet(i), nat.packet(i), `segment ${i} of ${len}`);
  }
});

test('segmentation then coalescing gives back one super-packet with the original bytes', () => {
  const payload = pattern(20_000, 4);
  const batch = new PacketBatch(64);
  const n = splitSuperPacket(superPacket(payload), batch, 80);
  const out = new Uint8Array(70_000);
  const r = coalesceSegments(batch, 0, out);
  assert.is(r.why, CoalesceWhy.MERGED);
  assert.is(r.used, n);
  const v = new DataView(out.buffer);
  assert.equal([out[0], out[1], v.getUint16(4, true), v.getUint16(6, true)], [1, 1, MSS, 20], 'GSO TCPv4 header');
  const ip = out.subarray(VNET_HDR_LENGTH, r.outLength);
  assert.is(new DataView(ip.buffer, ip.byteOffset).getUint16(2), 52 + 20_000, 'IPv4 total length');
  assert.equal(ip.subarray(52), payload);
  assert.is(ip[33]! & 0x08, 0x08, 'PSH of the last segment kept');
});

test('coalescing stops at a gap in sequence numbers and drops a segment with a bad checksum (counted by caller)', () => {
  const segs = [0, 1, 3].map((k) => tcp4({ ...FLOW, seq: 1000 + k * MSS, options: TIMESTAMP }, pattern(MSS, k)));
  const batch = new PacketBatch(8);
  segs.forEach((s, i) => batch.set(i, s, 80, 0));
  batch.count = 3;
  const out = new Uint8Array(70_000);
  assert.equal(coalesceSegments(batch, 0, out).used, 2);
  batch.slab[batch.offsets[2]! + 60]! ^= 0xff; // corrupt a payload byte
  assert.is(coalesceSegments(batch, 2, out).why, CoalesceWhy.BAD_CHECKSUM);
});

test('malformed super-packets are rejected (MALFORMED), never read out of bounds', () => {
  const batch = new PacketBatch(64);
  const good = superPacket(pattern(5000, 5));
  const bad = (edit: (p: Uint8Array, v: DataView) => void): number => {
    const p = good.slice();
    edit(p, new DataView(p.buffer));
    return splitSuperPacket(p, batch, 80);
  };
  assert.is(
    bad((_p, v) => v.setUint16(4, 0, true)),
    SplitResult.MALFORMED,
    'gso_size 0',
  );
  assert.is(
    bad((_p, v) => v.setUint16(6, 24, true)),
    SplitResult.MALFORMED,
    'csum_start not the IP header length',
  );
  assert.is(
    bad((p) => (p[1] = 4)),
    SplitResult.MALFORMED,
    'TCPv6 type on an IPv4 packet',
  );
  assert.is(
    bad((_p, v) => v.setUint16(8, 6, true)),
    SplitResult.MALFORMED,
    'csum_offset not the TCP checksum',
  );
  const short = good.slice(0, VNET_HDR_LENGTH + 20 + 40);
  short[VNET_HDR_LENGTH + 20 + 12] = 0xf0;
  assert.is(splitSuperPacket(short, batch, 80), SplitResult.MALFORMED, 'TCP header longer than the packet');
  assert.is(splitSuperPacket(good.subarray(0, 40), batch, 80), SplitResult.MALFORMED, 'truncated');
  assert.is(splitSuperPacket(good, new PacketBatch(2), 80), SplitResult.NO_ROOM);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), (bytes) => {
      const n = splitSuperPacket(bytes, batch, 80);
      return n >= -2 && n <= 64;
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 1500 }), { minLength: 1, maxLength: 8 }), (pkts) => {
      const b = new PacketBatch(8);
      pkts.forEach((p, i) => b.set(i, p, 80, 0));
      b.count = pkts.length;
      const r = coalesceSegments(b, 0, new Uint8Array(70_000));
      return r.used >= 1 && r.used <= pkts.length;
    }),
    { numRuns: 1000 },
  );
});

interface Node {
  tun: TunDevice;
  udp: UdpBatchSocket;
}

/** A node: vnet_hdr TUN with TSO, UDP socket with GSO/GRO, both directions forwarded with no encapsulation. */
async function node(ns: Netns, me: number, peerUnderlay: string): Promise<Node & { stop(): void }> {
  const tun = openTun({ name: 'flannel0', netns: ns.name, offloads: TCP_OFFLOADS });
  await configureLink(
    tun.name,
    { mtu: 1472, addresses: [`10.244.${me}.1/24`], routes: [`10.244.${3 - me}.0/24`] },
    ns.name,
  );
  const udp = openUdp({
    address: `192.0.2.${me}`,
    port: 8285,
    netns: ns.name,
    receiveBuffer: 8 << 20,
    sendBuffer: 8 << 20,
  });
  udp.addPeer(0, peerUnderlay, 8285);
  const all = (_s: Uint8Array, _o: Int32Array, _l: Int32Array, peers: Int32Array, n: number) => peers.fill(0, 0, n);
  const out = forward({ from: tun, to: udp, onBatch: all });
  const back = forward({ from: udp, to: tun, onBatch: all });
  return { tun, udp, stop: () => (out.stop(), back.stop()) };
}

const SERVER = `const h=require('crypto').createHash('sha256');let n=0;const srv=require('net').createServer(s=>{
s.on('data',d=>{h.update(d);n+=d.length});s.on('end',()=>{console.log(n+' '+h.digest('hex'));process.exit(0)})});
srv.listen(5201,'10.244.2.1',()=>console.error('listening'));setTimeout(()=>process.exit(2),20000)`;
const CLIENT = `const c=require('crypto');const d=Buffer.alloc(16<<20);let x=7;for(let i=0;i<d.length;i+=4){x=(x*1103515245+12345)>>>0;d.writeUInt32LE(x,i)}
const s=require('net').connect(5201,'10.244.2.1',()=>{s.end(d);console.log(d.length+' '+c.createHash('sha256').update(d).digest('hex'))})`;

if (canRunPrivileged('tunnel: TCP through vnet_hdr TUNs')) {
  test('a TCP stream through vnet_hdr TUNs is split and coalesced, and arrives byte-identical', async () => {
    const { scope, a, b } = await twoNamespaces('tun-offload');
    const nodes: (Node & { stop(): void })[] = [];
    try {
      nodes.push(await node(a, 1, '192.0.2.2'), await node(b, 2, '192.0.2.1'));
      const server = scope.spawn('tcp-server', b, [process.execPath, '-e', SERVER]);
      await new Promise((r) => setTimeout(r, 500));
      const client = await a.exec([process.execPath, '-e', CLIENT], { timeoutMs: 20_000 });
      await server.exited;
      const received = server
        .log()
        .split('\n')
        .find((l) => /^\d+ [0-9a-f]{64}$/.test(l));
      assert.is(received, client.stdout.trim(), 'byte count and SHA-256 equal end to end');
      const [sa, sb] = nodes.map((n) => n.tun.stats());
      assert.ok(sa!.rxSuperPackets > 0, `node A read super-packets from its TUN (${JSON.stringify(sa)})`);
      assert.ok(sb!.txSuperPackets > 0, `node B wrote coalesced super-packets (${JSON.stringify(sb)})`);
      assert.is(sa!.rxMalformed + sb!.txChecksumDrops, 0);
    } finally {
      for (const n of nodes) n.stop(), n.tun.close(), n.udp.close();
      await scope.cleanup();
    }
  });

  test('a corrupted packet written to a vnet_hdr TUN is dropped and counted, the rest of the batch goes on', async () => {
    const { scope, a } = await twoNamespaces('tun-corrupt');
    try {
      const tun = openTun({ netns: a.name, offloads: TCP_OFFLOADS });
      await configureLink(tun.name, { mtu: 1500, addresses: ['10.244.2.2/24'] }, a.name);
      const batch = new PacketBatch(4);
      const segs = [0, 1, 2].map((k) => tcp4({ ...FLOW, seq: 1000 + k * MSS }, pattern(MSS, k)));
      segs.forEach((s, i) => batch.set(i, s, 80, 0));
      batch.count = 3;
      batch.slab[batch.offsets[1]! + 100]! ^= 0x55;
      assert.is(tun.write(batch), 3);
      const s = tun.stats();
      assert.is(s.txChecksumDrops, 1);
      assert.is(s.txPackets, 2);
      tun.close();
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
