// The receive side on a real TUN device: decapsulated packets as a kernel VTEP sends them (TCP super-packets,
// partial checksums) written with TunDevice.write, with offloads (vnet header: one GSO write, NEEDS_CSUM) and
// without (segmented and completed here). The namespace's kernel is the judge: its TCP answers a data segment to
// a closed port with a RST only when the checksum verifies (else it counts InCsumErrors), its UDP socket gets a
// datagram only when the checksum verifies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type Netns } from '@weft/lab';
import { PacketBatch, TCP_OFFLOADS, configureLink, openTun, openUdp } from '../src/index.ts';
import { quietNamespace } from './lab.ts';
import { pattern, tcp4, udp4, waitFor } from './packets.ts';

const HOST = '10.244.9.1';
const REMOTE = '10.244.9.2';
const MTU = 1450;

const rd16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
/** The folded pseudo-header sum a kernel leaves in a CHECKSUM_PARTIAL packet's TCP/UDP checksum field. */
function partial(p: Uint8Array, field: number): Uint8Array {
  let acc = rd16(p, 12) + rd16(p, 14) + rd16(p, 16) + rd16(p, 18) + p[9]! + (p.length - 20);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  p[field] = acc >> 8;
  p[field + 1] = acc & 0xff;
  return p;
}

async function snmp(ns: Netns, proto: 'Tcp' | 'Udp'): Promise<Record<string, number>> {
  const lines = (await ns.exec(['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith(`${proto}:`));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Object.fromEntries(names!.map((n, i) => [n, Number(values![i])]));
}

/** Polls an async condition every 20 ms for up to 3 s. */
async function eventually(cond: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function rxPackets(ns: Netns, dev: string): Promise<number> {
  const r = await ns.ip(['-s', '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
}

const superTcp = (seq: number) =>
  tcp4({ src: REMOTE, dst: HOST, sport: 40000, dport: 9, seq, flags: 0x18 }, pattern(4000, seq));

for (const offloads of [true, false]) {
  const mode = offloads ? 'offloads on (vnet header)' : 'offloads off';
  if (canRunWith(`tunnel: receive side, ${mode}`, ['ip'])) {
    test(`${mode}: a partial TCP super-packet is accepted whole or segmented, a corrupt one dropped and counted`, async () => {
      const { scope, ns } = await quietNamespace(`h4-tunrx-${offloads ? 'on' : 'off'}`);
      try {
        const tun = openTun({ name: 'flannel0', netns: ns.name, offloads: offloads ? TCP_OFFLOADS : 0, mtu: MTU });
        await configureLink(tun.name, { mtu: MTU, addresses: [`${HOST}/24`] }, ns.name);
        const b = new PacketBatch(2, 8192);
        const before = await snmp(ns, 'Tcp');
        const rxBefore = await rxPackets(ns, 'flannel0');
        b.set(0, partial(superTcp(1000), 36), 0, 0);
        const corrupt = superTcp(90_000);
        corrupt[corrupt.length - 1]! ^= 1; // complete checksum, wrong data
        b.set(1, corrupt, 0, 0);
        b.count = 2;
        assert.is(tun.write(b), 2);
        assert.ok(
          await eventually(async () => (await snmp(ns, 'Tcp')).OutRsts! > before.OutRsts!),
          'the kernel answered the data with a RST',
        );
        const after = await snmp(ns, 'Tcp');
        assert.is(after.InCsumErrors, before.InCsumErrors, 'no checksum error in the kernel');
        const s = tun.stats();
        assert.is(s.txChecksumDrops, 1, 'the corrupt super-packet dropped before the kernel');
        assert.is(s.txPartialChecksums, 1);
        const segments = Math.ceil(4000 / (MTU - 40));
        if (offloads)
          assert.ok(s.txGsoWhole === 1 && (await rxPackets(ns, 'flannel0')) - rxBefore === 1, 'one GSO write');
        else
          assert.ok(
            s.txSegmentedSuper === 1 && (await rxPackets(ns, 'flannel0')) - rxBefore === segments,
            `${segments} segments`,
          );
        tun.close();
      } finally {
        await scope.cleanup();
      }
    });

    test(`${mode}: a UDP datagram with a partial checksum reaches its socket`, async () => {
      const { scope, ns } = await quietNamespace(`h4-tunru-${offloads ? 'on' : 'off'}`);
      try {
        const tun = openTun({ name: 'flannel0', netns: ns.name, offloads: offloads ? TCP_OFFLOADS : 0, mtu: MTU });
        await configureLink(tun.name, { mtu: MTU, addresses: [`${HOST}/24`] }, ns.name);
        const sock = openUdp({ address: HOST, port: 7001, netns: ns.name, gso: false, gro: false });
        const b = new PacketBatch(1, 2048);
        b.set(0, partial(udp4(REMOTE, HOST, 7000, 7001, pattern(600, 5)), 26), 0, 0);
        b.count = 1;
        assert.is(tun.write(b), 1);
        const rb = new PacketBatch(4, 2048);
        assert.ok(await waitFor(() => sock.read(rb, 0) === 1), 'delivered');
        assert.equal(rb.packet(0), pattern(600, 5));
        assert.is(tun.stats().txPartialChecksums, 1);
        sock.close();
        tun.close();
      } finally {
        await scope.cleanup();
      }
    });
  }
}

test.run();
