// Wire compatibility in both families: a dual-stack weft vxlan node beside a dual-stack kernel flannel node
// (flannel.1 and flannel-v6.1 programmed as flanneld programs them: static neighbour, FDB and onlink route per
// family), every offload at its default. Pods ping each other in both families both ways, 1400-byte IPv6 packets
// cross with DF, 50 MB over TCP/IPv6 goes both ways checksummed (weft sending it as super-packets through its
// IPv6 TAP). Then the kernel node sends hostile IPv6 to weft's IPv6 VTEP (spoofed inner sources, a wrong VNI, a
// truncated extension header, random bytes behind valid outer headers): every one is dropped and counted, and
// nothing is written to flannel0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lab, canRunWith, type LabNode, type LabPod } from '@weft/lab';
import { parseMac } from '@weft/encap';
import {
  KERNEL_FLANNEL,
  KERNEL_FLANNEL6,
  addPodsIpv6,
  programKernelFlannel,
  programKernelFlannel6,
  startWeftBesideKernel,
  type WeftVtep,
} from 'weft/lab/kernel-flannel';
import { tcpTransfer } from './support/transfer.ts';
import { ipv6 } from '../packages/agent/test/support/ipv6-packets.ts';

const MB = 1024 * 1024;
type Counted = { counters: Record<string, number>; drops: Record<string, number> };

async function ping(from: LabPod, to: string, extra: string[] = []): Promise<string> {
  const r = await from.ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', ...extra, to], { allowFailure: true });
  return r.stdout;
}

/** Sends each hex datagram from `from` (bound to its IPv6 underlay address, so weft knows the peer) to `to`:8472. */
const SENDER = `
const dgram = require('node:dgram');
const [from, to, ...hex] = process.argv.slice(1);
const s = dgram.createSocket('udp6');
s.bind(0, from, async () => {
  for (const h of hex) await new Promise((r) => s.send(Buffer.from(h, 'hex'), 8472, to, r));
  s.close();
});
`;

function hostileDatagrams(
  weft: WeftVtep,
  weftPod: LabPod,
  kernelPod: LabPod,
): { datagrams: Buffer[]; named: Record<string, number> } {
  const v6 = weft.v6!;
  const eth = Buffer.concat([parseMac(v6.vtepMac), parseMac(KERNEL_FLANNEL6.vtepMac), Buffer.from('86dd', 'hex')]);
  const vxlan = (vni: number, inner: Buffer) =>
    Buffer.concat([Buffer.from([0x08, 0, 0, 0, vni >> 16, (vni >> 8) & 0xff, vni & 0xff, 0]), eth, inner]);
  const body = 'hostile';
  const datagrams = [
    vxlan(1, ipv6('fd00:10:244:99::9', weftPod.ip6!, 64, body)), // a source no node owns
    vxlan(1, ipv6(`${v6.vtepIp}9`, weftPod.ip6!, 64, body)), // weft's own subnet, from the kernel node
    vxlan(2, ipv6(kernelPod.ip6!, weftPod.ip6!, 64, body)), // wrong VNI
    vxlan(1, ipv6(kernelPod.ip6!, weftPod.ip6!, 64, 0, Buffer.from([17, 9, 0, 0, 0, 0, 0, 0]))), // truncated
  ];
  let seed = 0x2545f491;
  const rand = () => (seed = (Math.imul(seed ^ (seed >>> 13), 0x5bd1e995) + 0x3c6ef372) >>> 0) & 0xff;
  for (let i = 0; i < 20; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + rand() * 4 }, rand));
    junk[0] = (junk[0]! & 0x0f) | 0x60;
    datagrams.push(vxlan(1, junk));
  }
  return { datagrams, named: { spoofed_source: 2, wrong_vni: 1, bad_ipv6_chain: 1 } };
}

if (canRunWith('weft dual-stack vxlan <-> kernel dual-stack flannel', ['ip', 'bridge', 'ping'])) {
  test('dual-stack weft vxlan node and a dual-stack kernel flannel node: both families both ways, hostile IPv6 dropped', async () => {
    const lab = await Lab.create({ name: 'v6d-kf', nodes: 2, ipv6: true });
    try {
      const [n1, n2] = lab.nodes as [LabNode, LabNode];
      const weft = await startWeftBesideKernel(lab, n1, n2);
      assert.ok(weft.v6, 'the weft node holds a dual-stack lease');
      await programKernelFlannel(n2, weft);
      await programKernelFlannel6(n2, weft);
      await lab.addPods(n1, weft.subnet, 1, 1450);
      await addPodsIpv6(n1, weft.v6!.subnet);
      await lab.addPods(n2, KERNEL_FLANNEL.subnet, 1, 1450);
      await addPodsIpv6(n2, KERNEL_FLANNEL6.subnet);
      const weftPod = n1.pods[0]!;
      const kernelPod = n2.pods[0]!;
      for (const [a, b] of [
        [weftPod, kernelPod],
        [kernelPod, weftPod],
      ] as const) {
        assert.match(await ping(a, b.ip), / 3 received/, `IPv4 ${a.name} -> ${b.name}`);
        assert.match(await ping(a, b.ip6!), / 3 received/, `IPv6 ${a.name} -> ${b.name}`);
        // 1352 bytes of ICMPv6 payload + 8 + 40 = 1400-byte IPv6 packets, DF (IPv6 never fragments on the way).
        assert.match(
          await ping(a, b.ip6!, ['-s', '1352', '-M', 'do']),
          / 3 received/,
          `1400-byte IPv6 ${a.name} -> ${b.name}`,
        );
      }
      const there = await tcpTransfer(weftPod.ns, kernelPod.ns, kernelPod.ip6!, 50 * MB, 15071);
      assert.is(there.received.bytes, 50 * MB, 'weft -> kernel over IPv6: every byte arrived');
      assert.is(there.received.sha256, there.sent.sha256, 'and unchanged');
      const sent = (await weft.status()) as Counted;
      assert.ok(
        sent.counters.tx_super_packets_whole_ipv6! > 0,
        `weft sent IPv6 as super-packets through weft-gso6: ${sent.counters.tx_super_packets_whole_ipv6}`,
      );
      assert.is(sent.counters.tx_tap_errors_ipv6, 0, 'no write refused');
      const back = await tcpTransfer(kernelPod.ns, weftPod.ns, weftPod.ip6!, 50 * MB, 15072);
      assert.is(back.received.bytes, 50 * MB, 'kernel -> weft over IPv6: every byte arrived');
      assert.is(back.received.sha256, back.sent.sha256, 'and unchanged');

      const before = (await weft.status()) as Counted;
      const { datagrams, named } = hostileDatagrams(weft, weftPod, kernelPod);
      await n2.ns.exec([
        process.execPath,
        '-e',
        SENDER,
        n2.underlayIp6!,
        n1.underlayIp6!,
        ...datagrams.map((d) => d.toString('hex')),
      ]);
      const total = (d: Record<string, number>) => Object.values(d).reduce((x, y) => x + y, 0);
      let after = before;
      for (let i = 0; i < 50 && total(after.drops) - total(before.drops) < datagrams.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = (await weft.status()) as Counted;
      }
      assert.is(
        total(after.drops) - total(before.drops),
        datagrams.length,
        `every hostile datagram dropped: ${JSON.stringify(after.drops)}`,
      );
      for (const [k, v] of Object.entries(named)) assert.is(after.drops[k]! - before.drops[k]!, v, k);
      assert.is(after.counters.rx_packets, before.counters.rx_packets, 'nothing written to flannel0');
    } finally {
      await lab.teardown();
    }
  });
}

test.run();
