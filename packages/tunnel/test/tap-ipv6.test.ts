// TapSender with IPv6 outer headers: the exact virtio and outer header bytes the addon writes (golden bytes, a
// super-packet and a plain packet), and on the real kernel a VXLAN-over-IPv6 TCPv6 super-packet written whole
// reaches a kernel flannel-v6 style vxlan device at its defaults with every byte. With tx offloads off on weft's
// underlay veth it leaves as standard segments (tshark checks lengths, sequence numbers, hop limit and both
// checksums); with them at their defaults as the kernel passes it on (super-frames allowed). The namespace has
// IPv6 forwarding off: the TAP's own force_forwarding carries it. The kernel sends nothing into the TAP (no RS,
// ND or MLD).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type Netns } from '@weft/lab';
import { PacketBatch, openTapSender } from '../src/index.ts';
import { SLOT, V6, VXLAN_LEN, WEFT_OFFLOADS, putInner, sum16, tapUnderlay, withVtepLab } from './support/tap-lab.ts';
import { sendAndCheck } from './support/tap-wire.ts';

const MSS = V6.mss;
const SRC6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]; // 2001:db8:1::1
const DST6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]; // 2001:db8:1::2

async function tapTxPackets(ns: Netns, dev: string): Promise<number> {
  const r = await ns.ip(['-s', '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { stats64: { tx: { packets: number } } }[])[0]!.stats64.tx.packets;
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

if (canRunWith('tunnel: IPv6 TAP with UDP-tunnel GSO', ['ip', 'bridge', 'ethtool', 'nstat', 'tcpdump', 'tshark'])) {
  test('golden bytes: IPv6 outer header and 24-byte virtio header for a super-packet and a plain packet', async () => {
    const { scope, a } = await tapUnderlay('h1-tap6gold', V6);
    try {
      const tap = await openTapSender({ name: 'weft-gso6', netns: a.name, source: '2001:db8:1::1', encapLength: 22 });
      try {
        assert.is(tap.family, 6);
        assert.ok(tap.outerChecksum, 'IPv6 needs the outer checksum offload');
        tap.addPeer(0, '2001:db8:1::2', 8472);
        const link = JSON.parse((await a.ip(['-j', 'link', 'show', 'weft-gso6'])).stdout) as { address: string }[];
        const mac = link[0]!.address.split(':').map((x) => Number.parseInt(x, 16));
        const batch = new PacketBatch(2, SLOT);
        putInner(batch, 0, V6, 20000, true);
        putInner(batch, 1, V6, 101, false);
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

  for (const offloads of WEFT_OFFLOADS) {
    const scopeName = offloads === 'defaults' ? 'h1-tap6-def' : 'h1-tap6-off';
    test(`an IPv6 super-packet written whole reaches flannel-v6.1 at its defaults (weft's veth: ${offloads})`, () =>
      withVtepLab(scopeName, V6, offloads, async (lab) => {
        const fwd = await lab.a.exec(['sysctl', '-n', 'net.ipv6.conf.all.forwarding']);
        assert.is(fwd.stdout.trim(), '0', 'IPv6 forwarding is off in the namespace: force_forwarding on the TAP');
        const tap = await openTapSender({ name: 'weft-gso6', netns: lab.a.name, source: V6.source, encapLength: 22 });
        try {
          tap.addPeer(0, V6.peer, 8472);
          await sendAndCheck(lab, V6, tap, offloads, false);
          assert.is(await tapTxPackets(lab.a, 'weft-gso6'), 0, 'the kernel sent nothing into the TAP');
        } finally {
          tap.close();
        }
      }));
  }
}

test.run();
