// TapSender with IPv6 outer headers: the exact virtio and outer header bytes the addon writes (golden bytes, a
// super-packet and a plain packet), and on the real kernel a VXLAN-over-IPv6 TCPv6 super-packet written whole
// leaves the underlay as standard segments (tshark checks lengths, sequence numbers, hop limit and both checksums)
// that a kernel flannel-v6 style vxlan device accepts. The namespace has IPv6 forwarding off: the TAP's own
// force_forwarding carries it. The kernel sends nothing into the TAP (no RS, ND or MLD).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { canRunWith, LabScope, tsharkFields, TSHARK_CHECK_CHECKSUMS, type Netns } from '@weft/lab';
import { PacketBatch, openTapSender } from '../src/index.ts';

const HEADROOM = 80;
const SLOT = HEADROOM + 65536 + 64;
const VXLAN_LEN = 22; // 8 VXLAN + 14 inner Ethernet
const MSS = 1370; // 1500 - 70 (outer IPv6 + UDP + VXLAN + inner Ethernet) - 60 (inner IPv6 + TCP)
const PEER_MAC = [0x02, 0x00, 0x0a, 0xf4, 0x02, 0x06];
const OUR_MAC = [0x02, 0x00, 0x0a, 0xf4, 0x01, 0x06];
const SRC6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]; // 2001:db8:1::1
const DST6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]; // 2001:db8:1::2
const POD_SRC = [0xfd, 0, 2, 0x44, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]; // fd00:244:1::5
const POD_DST = [0xfd, 0, 2, 0x44, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // fd00:244:2::

function sum16(b: ArrayLike<number>, from: number, to: number, acc = 0): number {
  for (let i = from; i < to; i += 2) acc += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/**
 * Slot `i` as a whole-mode TUN leaves it: the 10-byte virtio header (GSO TCPv6 when `gso`, NEEDS_CSUM, the TCP
 * checksum field holding the pseudo-header sum), the inner IPv6/TCP packet at the headroom, VXLAN and inner
 * Ethernet in front.
 */
function putInner6(batch: PacketBatch, i: number, payload: number, gso: boolean): void {
  const slot = i * SLOT;
  const s = batch.slab;
  const vh = new DataView(s.buffer, slot, 10);
  vh.setUint8(0, 1);
  vh.setUint8(1, gso ? 4 : 0);
  vh.setUint16(2, 60, true);
  vh.setUint16(4, gso ? MSS : 0, true);
  vh.setUint16(6, 40, true);
  vh.setUint16(8, 16, true);
  const ip = slot + HEADROOM;
  const tcpLen = 20 + payload;
  s.set([0x60, 0, 0, 0, tcpLen >> 8, tcpLen & 0xff, 6, 64, ...POD_SRC, ...POD_DST], ip);
  s.set([0x04, 0xd2, 0x13, 0x89, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], ip + 40);
  for (let k = 0; k < payload; k++) s[ip + 60 + k] = (k * 7) & 0xff;
  const pseudo = sum16(s, ip + 8, ip + 40, 6 + tcpLen);
  s[ip + 56] = pseudo >> 8;
  s[ip + 57] = pseudo & 0xff;
  const start = ip - VXLAN_LEN;
  s.set([0x08, 0, 0, 0, 0, 0, 1, 0, ...PEER_MAC, ...OUR_MAC, 0x86, 0xdd], start);
  batch.offsets[i] = start;
  batch.lengths[i] = VXLAN_LEN + 40 + tcpLen;
  batch.peers[i] = 0;
}

async function twoNamespaces6(scopeName: string): Promise<{ scope: LabScope; a: Netns; b: Netns }> {
  const scope = new LabScope(scopeName);
  const a = await scope.netns('a');
  const b = await scope.netns('b');
  await scope.veth(a, 'eth0', b, 'eth0');
  await a.ip(['addr', 'add', '2001:db8:1::1/64', 'dev', 'eth0', 'nodad']);
  await b.ip(['addr', 'add', '2001:db8:1::2/64', 'dev', 'eth0', 'nodad']);
  return { scope, a, b };
}

/** flannel-v6.1 as flanneld programs it in b, with a's IPv6 VTEP as its one remote. All offloads at defaults. */
async function kernelVtep6(b: Netns): Promise<void> {
  await b.ipBatch([
    'link add flannel-v6.1 type vxlan id 1 dstport 8472 local 2001:db8:1::2 dev eth0 nolearning',
    'link set flannel-v6.1 address 02:00:0a:f4:02:06 mtu 1430 up',
    'addr add fd00:244:2::/128 dev flannel-v6.1 nodad',
    'neigh replace fd00:244:1:: lladdr 02:00:0a:f4:01:06 dev flannel-v6.1 nud permanent',
    'route replace fd00:244:1::/64 via fd00:244:1:: dev flannel-v6.1 onlink',
  ]);
  const fdb = ['fdb', 'append', '02:00:0a:f4:01:06', 'dev', 'flannel-v6.1', 'dst', '2001:db8:1::1', 'self'];
  await b.exec(['bridge', ...fdb, 'permanent']);
}

async function linkStats(ns: Netns, dev: string): Promise<{ rx: number; tx: number }> {
  const r = await ns.ip(['-s', '-j', 'link', 'show', dev]);
  const s = (JSON.parse(r.stdout) as { stats64: { rx: { packets: number }; tx: { packets: number } } }[])[0]!;
  return { rx: s.stats64.rx.packets, tx: s.stats64.tx.packets };
}

/** The outer headers the addon must write for a packet of `len` bytes (after the outer UDP header). */
function expectedOuter(tapMac: number[], len: number, sport: number): number[] {
  const udpLen = 8 + len;
  return [
    ...tapMac,
    ...[0x02, 0x77, 0x65, 0x66, 0x74, 0x00],
    ...[0x86, 0xdd],
    ...[0x60, 0, 0, 0, udpLen >> 8, udpLen & 0xff, 17, 65, ...SRC6, ...DST6],
    ...[sport >> 8, sport & 0xff, 0x21, 0x18, udpLen >> 8, udpLen & 0xff],
  ];
}

if (canRunWith('tunnel: IPv6 TAP with UDP-tunnel GSO', ['ip', 'bridge', 'ethtool', 'tcpdump', 'tshark'])) {
  test('golden bytes: IPv6 outer header and 24-byte virtio header for a super-packet and a plain packet', async () => {
    const { scope, a } = await twoNamespaces6('t6-tapgold');
    try {
      const tap = await openTapSender({ name: 'weft-gso6', netns: a.name, source: '2001:db8:1::1', encapLength: 22 });
      try {
        assert.is(tap.family, 6);
        assert.ok(tap.outerChecksum, 'IPv6 needs the outer checksum offload');
        tap.addPeer(0, '2001:db8:1::2', 8472);
        const link = JSON.parse((await a.ip(['-j', 'link', 'show', 'weft-gso6'])).stdout) as { address: string }[];
        const mac = link[0]!.address.split(':').map((x) => Number.parseInt(x, 16));
        const batch = new PacketBatch(2, SLOT);
        putInner6(batch, 0, 20000, true);
        putInner6(batch, 1, 101, false);
        batch.count = 2;
        const len0 = batch.lengths[0]!;
        const h0 = tap.frameHeaders(batch, 0, 0, 50001);
        assert.ok(h0, 'the super-packet is sent');
        const base = 62 + VXLAN_LEN;
        const vnet = [1 | 8, 4 | 0x40, base + 60, 0, MSS & 0xff, MSS >> 8, base + 40, 0, 16, 0];
        assert.equal([...h0.subarray(0, 10)], vnet, 'flags, GSO TCPv6 | UDP_TUNNEL_IPV6, lengths, offsets');
        assert.equal([...h0.subarray(10, 20)], new Array(10).fill(0), 'num_buffers and hash: zero');
        assert.equal([...h0.subarray(20, 24)], [54, 0, base, 0], 'outer_th_offset 54, inner_nh_offset');
        const outer0 = [...h0.subarray(24)];
        assert.equal(outer0.slice(0, 60), expectedOuter(mac, len0, 50001), 'Ethernet + IPv6 + UDP ports/length');
        // The checksum field holds the pseudo-header sum (addresses, UDP length, next header 17), uncomplemented.
        const pseudo = sum16([...SRC6, ...DST6], 0, 32, 17 + 8 + len0);
        assert.is((outer0[60]! << 8) | outer0[61]!, pseudo, 'outer UDP checksum seed');
        const h1 = tap.frameHeaders(batch, 1, 0, 50002);
        assert.ok(h1);
        assert.equal([...h1.subarray(0, 24)], new Array(24).fill(0), 'no GSO, no checksum offload asked');
        const outer1 = [...h1.subarray(24)];
        const len1 = batch.lengths[1]!;
        assert.equal(outer1.slice(0, 60), expectedOuter(mac, len1, 50002));
        const pkt = batch.slab.subarray(batch.offsets[1]!, batch.offsets[1]! + len1);
        const full = sum16(pkt, 0, len1, sum16(outer1, 54, 62, pseudo - len0 + len1));
        assert.is(full, 0xffff, 'the plain packet carries a full, correct outer UDP checksum');
        const inner = pkt.subarray(VXLAN_LEN);
        assert.is(sum16(inner, 40, inner.length, sum16(inner, 8, 40, 6 + inner.length - 40)), 0xffff, 'inner TCP');
        assert.is(tap.frameHeaders(batch, 0, 7, 1), null, 'unknown peer');
        assert.throws(() => tap.addPeer(1, '192.0.2.2', 8472), /not an IPv6 address/);
        assert.equal(tap.stats().txSuperPackets, 0, 'inspection counts nothing');
      } finally {
        tap.close();
      }
    } finally {
      await scope.cleanup();
    }
  });

  test('an IPv6 super-packet leaves as standard VXLAN-over-IPv6 segments flannel-v6.1 accepts', async () => {
    const { scope, a, b } = await twoNamespaces6('t6-tap6');
    try {
      await kernelVtep6(b);
      // weft's NIC (not the peer's) without offloads: the kernel segments in software, the capture shows the wire.
      const off = ['tx', 'off', 'tx-udp_tnl-segmentation', 'off', 'tx-udp_tnl-csum-segmentation', 'off'];
      await a.exec(['ethtool', '-K', 'eth0', ...off]);
      const fwd = await a.exec(['sysctl', '-n', 'net.ipv6.conf.all.forwarding']);
      assert.is(fwd.stdout.trim(), '0', 'IPv6 forwarding is off in the namespace: force_forwarding on the TAP');
      const tap = await openTapSender({ name: 'weft-gso6', netns: a.name, source: '2001:db8:1::1', encapLength: 22 });
      tap.addPeer(0, '2001:db8:1::2', 8472);
      const batch = new PacketBatch(4, SLOT);
      putInner6(batch, 0, 20000, true);
      putInner6(batch, 1, 100, false);
      batch.count = 2;
      tap.sourcePorts.set([50001, 50002]);
      const pcap = join(scope.dir, 'wire6.pcap');
      const argv = ['timeout', '30', 'tcpdump', '--immediate-mode', '-ni', 'eth0', '-s', '0', '-U', '-w', pcap];
      const dump = scope.spawn('tcpdump', b, [...argv, 'udp', 'port', '8472']);
      for (let k = 0; k < 200 && !/listening on/.test(dump.log()); k++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      const before = await linkStats(b, 'flannel-v6.1');
      assert.is(tap.write(batch), 2);
      await new Promise((r) => setTimeout(r, 500));
      await dump.stop();
      assert.equal(tap.stats(), {
        txPackets: 2,
        txSuperPackets: 1,
        txErrors: 0,
        txTooBig: 0,
        txMalformed: 0,
        txUnknownPeer: 0,
        txSplitSuperPackets: 0,
      });
      const fields = ['frame.len', 'udp.srcport', 'vxlan.vni', 'tcp.seq_raw', 'tcp.len', 'udp.checksum.status'];
      const rows = (
        await tsharkFields(pcap, [...fields, 'tcp.checksum.status', 'ipv6.hlim'], {
          decodeAs: ['udp.port==8472,vxlan'],
          prefs: TSHARK_CHECK_CHECKSUMS,
          filter: 'ipv6.src == 2001:db8:1::1',
        })
      ).map((row) => row.map((f) => Number(f.split(',')[0])));
      const supers = rows.filter((x) => x[1] === 50001);
      assert.is(supers.length, Math.ceil(20000 / MSS), 'one frame per MSS');
      supers.forEach((x, k) => {
        assert.ok(x[0]! <= 1514, `segment ${k}: ${x[0]} bytes on the wire`);
        assert.is(x[2], 1, 'VNI 1');
        assert.is(x[3], 1000 + k * MSS, `segment ${k}: sequence number`);
        assert.is(x[4], Math.min(MSS, 20000 - k * MSS), `segment ${k}: payload`);
        assert.is(x[5], 1, `segment ${k}: outer UDP checksum good`);
        assert.is(x[6], 1, `segment ${k}: inner TCP checksum good`);
        assert.is(x[7], 64, `segment ${k}: hop limit 64 on the wire`);
      });
      const plain = rows.filter((x) => x[1] === 50002);
      assert.equal(
        plain.map((x) => [x[4], x[5], x[6]]),
        [[100, 1, 1]],
        'the plain packet as one frame, checksums good',
      );
      const after = await linkStats(b, 'flannel-v6.1');
      assert.ok(after.rx - before.rx >= supers.length + 1, 'the kernel vxlan device took them');
      assert.is((await linkStats(a, 'weft-gso6')).tx, 0, 'the kernel sent nothing into the TAP');
      tap.close();
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
