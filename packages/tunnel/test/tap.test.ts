// TapSender on the real kernel: a VXLAN-encapsulated TCP super-packet handed to the TAP whole leaves the
// underlay as standard segments (tshark checks lengths, sequence numbers and checksums) that a kernel vxlan
// device accepts; a plain packet gets its partial checksum completed; malformed metadata is counted, not sent;
// and reverse-path filtering in the namespace makes openTapSender refuse with TunnelGsoUnavailableError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { canRunWith, tsharkFields, TSHARK_CHECK_CHECKSUMS, type Netns } from '@weft/lab';
import { PacketBatch, TCP_OFFLOADS, TunnelGsoUnavailableError, openTapSender, openTun } from '../src/index.ts';
import { quietNamespace, twoNamespaces } from './lab.ts';

const HEADROOM = 80;
const SLOT = HEADROOM + 65536 + 64;
const VXLAN_LEN = 22; // 8 VXLAN + 14 inner Ethernet
const MSS = 1398;
const PEER_MAC = [0x02, 0x00, 0x0a, 0xf4, 0x02, 0x00];
const OUR_MAC = [0x02, 0x00, 0x0a, 0xf4, 0x01, 0x00];

function sum16(b: Uint8Array, from: number, to: number, acc = 0): number {
  for (let i = from; i < to; i += 2) acc += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/**
 * Slot `i` as a TUN in whole mode leaves it: the 10-byte virtio header at the slot's start (GSO TCPv4 when
 * `gso`, NEEDS_CSUM either way, the TCP checksum field holding only the pseudo-header sum), the inner IPv4/TCP
 * packet at the headroom; then the VXLAN header and inner Ethernet in front, as the vxlan format writes them.
 */
function putInner(batch: PacketBatch, i: number, payload: number, gso: boolean, csumStart = 20): void {
  const slot = i * SLOT;
  const s = batch.slab;
  const vh = new DataView(s.buffer, slot, 10);
  vh.setUint8(0, 1);
  vh.setUint8(1, gso ? 1 : 0);
  vh.setUint16(2, 40, true);
  vh.setUint16(4, gso ? MSS : 0, true);
  vh.setUint16(6, csumStart, true);
  vh.setUint16(8, 16, true);
  const ip = slot + HEADROOM;
  const total = 40 + payload;
  s.set([0x45, 0, total >> 8, total & 0xff, 0, 1, 0, 0, 64, 6, 0, 0, 10, 244, 1, 5, 10, 244, 2, 0], ip);
  const hc = 0xffff - sum16(s, ip, ip + 20);
  s[ip + 10] = hc >> 8;
  s[ip + 11] = hc & 0xff;
  s.set([0x04, 0xd2, 0x13, 0x89, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], ip + 20);
  for (let k = 0; k < payload; k++) s[ip + 40 + k] = (k * 7) & 0xff;
  const pseudo = sum16(s, ip + 12, ip + 20, 6 + 20 + payload);
  s[ip + 36] = pseudo >> 8;
  s[ip + 37] = pseudo & 0xff;
  const start = ip - VXLAN_LEN;
  s.set([0x08, 0, 0, 0, 0, 0, 1, 0, ...PEER_MAC, ...OUR_MAC, 0x08, 0x00], start);
  batch.offsets[i] = start;
  batch.lengths[i] = VXLAN_LEN + total;
  batch.peers[i] = 0;
}

/** flannel's vxlan device in b, with a's VTEP as its one remote. */
async function kernelVtep(b: Netns): Promise<void> {
  await b.ipBatch([
    'link add flannel.1 type vxlan id 1 dstport 8472 local 192.0.2.2 dev eth0 nolearning',
    'link set flannel.1 address 02:00:0a:f4:02:00 mtu 1450 up',
    'addr add 10.244.2.0/32 dev flannel.1',
    'neigh replace 10.244.1.0 lladdr 02:00:0a:f4:01:00 dev flannel.1 nud permanent',
    'route replace 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink',
  ]);
  await b.exec([
    'bridge',
    'fdb',
    'append',
    '02:00:0a:f4:01:00',
    'dev',
    'flannel.1',
    'dst',
    '192.0.2.1',
    'self',
    'permanent',
  ]);
}

async function rxPackets(ns: Netns, dev: string): Promise<number> {
  const r = await ns.ip(['-s', '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
}

if (canRunWith('tunnel: TAP with UDP-tunnel GSO', ['ip', 'bridge', 'ethtool', 'tcpdump', 'tshark'])) {
  test('a super-packet written whole leaves as standard VXLAN segments the kernel accepts; bad metadata is counted', async () => {
    const { scope, a, b } = await twoNamespaces('h5-tap');
    try {
      await kernelVtep(b);
      // A NIC with no offloads: the kernel segments and checksums in software, so the capture shows the wire.
      await a.exec([
        'ethtool',
        '-K',
        'eth0',
        'tx',
        'off',
        'tx-udp_tnl-segmentation',
        'off',
        'tx-udp_tnl-csum-segmentation',
        'off',
      ]);
      const tap = await openTapSender({
        name: 'weft-gso0',
        netns: a.name,
        source: '192.0.2.1',
        encapLength: VXLAN_LEN,
        batchSize: 4,
      });
      tap.addPeer(0, '192.0.2.2', 8472);
      const batch = new PacketBatch(4, SLOT);
      putInner(batch, 0, 20000, true);
      putInner(batch, 1, 100, false);
      putInner(batch, 2, 3000, true, 60000); // checksum offset beyond the packet
      batch.count = 3;
      tap.sourcePorts.set([50001, 50002, 50003]);
      const pcap = join(scope.dir, 'wire.pcap');
      const dump = scope.spawn('tcpdump', b, [
        'timeout',
        '30',
        'tcpdump',
        '--immediate-mode',
        '-ni',
        'eth0',
        '-s',
        '0',
        '-U',
        '-w',
        pcap,
        'udp',
        'port',
        '8472',
      ]);
      for (let k = 0; k < 200 && !/listening on/.test(dump.log()); k++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      const before = await rxPackets(b, 'flannel.1');
      assert.is(tap.write(batch), 3, 'all three handled');
      await new Promise((r) => setTimeout(r, 500));
      await dump.stop();
      assert.equal(tap.stats(), {
        txPackets: 2,
        txSuperPackets: 1,
        txErrors: 0,
        txTooBig: 0,
        txMalformed: 1,
        txUnknownPeer: 0,
        txSplitSuperPackets: 0,
      });
      const fields = ['frame.len', 'udp.srcport', 'vxlan.vni', 'tcp.seq_raw', 'tcp.len', 'udp.checksum.status'];
      const rows = (
        await tsharkFields(pcap, [...fields, 'tcp.checksum.status'], {
          decodeAs: ['udp.port==8472,vxlan'],
          prefs: TSHARK_CHECK_CHECKSUMS,
          filter: 'ip.src == 192.0.2.1',
        })
      ).map((row) => row.map(Number));
      const supers = rows.filter((x) => x[1] === 50001);
      assert.is(supers.length, Math.ceil(20000 / MSS), 'one frame per MSS');
      supers.forEach((x, k) => {
        assert.ok(x[0]! <= 1514, `segment ${k}: ${x[0]} bytes on the wire`);
        assert.is(x[2], 1, 'VNI 1');
        assert.is(x[3], 1000 + k * MSS, `segment ${k}: sequence number`);
        assert.is(x[4], Math.min(MSS, 20000 - k * MSS), `segment ${k}: payload`);
        assert.is(x[5], 1, 'outer UDP checksum good');
        assert.is(x[6], 1, 'inner TCP checksum good');
      });
      const plain = rows.filter((x) => x[1] === 50002);
      assert.is(plain.length, 1, 'the plain packet as one frame');
      assert.equal([plain[0]![4], plain[0]![5], plain[0]![6]], [100, 1, 1], 'with its checksums completed');
      assert.not.ok(
        rows.some((x) => x[1] === 50003),
        'the malformed one never left',
      );
      assert.ok((await rxPackets(b, 'flannel.1')) - before >= supers.length + 1, 'the kernel vxlan device took them');
      tap.close();
    } finally {
      await scope.cleanup();
    }
  });

  test('reverse-path filtering in the namespace: openTapSender refuses with TunnelGsoUnavailableError', async () => {
    const { scope, a } = await twoNamespaces('h5-taprp');
    try {
      await a.exec(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=1']);
      const err = await openTapSender({ netns: a.name, source: '192.0.2.1', encapLength: VXLAN_LEN }).catch(
        (e: unknown) => e,
      );
      assert.instance(err, TunnelGsoUnavailableError);
      assert.match((err as Error).message, /rp_filter is 1/);
      const links = await a.ip(['-o', 'link', 'show']);
      assert.not.match(links.stdout, /weft-gso0/, 'no TAP left behind');
    } finally {
      await scope.cleanup();
    }
  });

  test('a TUN in whole mode refuses slots that cannot hold a 64 KB super-packet and its virtio header', async () => {
    const { scope, ns } = await quietNamespace('h5-whole');
    try {
      const tun = openTun({ name: 'flannel0', netns: ns.name, offloads: TCP_OFFLOADS, whole: true, batchSize: 4 });
      try {
        assert.throws(() => tun.read(new PacketBatch(4, 2048), HEADROOM), /whole mode needs/);
        assert.throws(
          () => tun.read(new PacketBatch(4, SLOT), 4),
          /whole mode needs/,
          'headroom below the 10-byte header',
        );
        assert.is(tun.read(new PacketBatch(4, SLOT), HEADROOM), 0, 'a fitting batch reads (nothing waits)');
      } finally {
        tun.close();
      }
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
