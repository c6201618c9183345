// weft explain against tshark on packets the Linux kernel wrote: two namespaces joined by a veth with an IPv6
// underlay, a kernel VXLAN device on each (flannel-v6 style: VNI 1, port 8472, no learning) with the group policy
// extension on, and no static neighbours, so the kernel's own neighbour discovery (and MLD, router solicitations)
// crosses the tunnel. `ping -m`
// marks the echo requests: Linux copies the mark into the GBP header (group ID = low 16 bits, D = bit 22,
// A = bit 19), which checks our reading of the D and A bits against the kernel's. tcpdump captures the underlay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import type { ExplainedPacket } from '../src/index.ts';
import { explainFile, tsharkJson, tsharkValues } from './helpers.ts';

const UL = { a: '2001:db8:0:1::1', b: '2001:db8:0:1::2' };
const POD = { a: 'fd00:10:244::1', b: 'fd00:10:244::2' };
/** Group ID 0x1234, D (0x400000) and A (0x080000): what the kernel puts in the GBP header for this mark. */
const MARK = 0x4c1234;

async function vtep(ns: Netns, me: 'a' | 'b', peer: 'a' | 'b'): Promise<void> {
  await ns.ipBatch([
    `link add flannel-v6.1 type vxlan id 1 dstport 8472 local ${UL[me]} dev eth0 nolearning gbp`,
    `link set flannel-v6.1 address 02:00:0a:f4:00:0${me === 'a' ? 1 : 2} mtu 1430 up`,
    `addr add ${POD[me]}/64 dev flannel-v6.1 nodad`,
  ]);
  // Every frame to the peer, multicast neighbour solicitations included, goes to its underlay address.
  await ns.exec(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'flannel-v6.1', 'dst', UL[peer]]);
}

async function waitFor(what: string, tries: number, check: () => boolean): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ours = (pkt: ExplainedPacket, name: string) =>
  pkt
    .flatMap((l) => l.fields)
    .filter((f) => f.name === name)
    .map((f) => (typeof f.value === 'boolean' ? (f.value ? '1' : '0') : String(f.value)));

const GBP_FIELDS = ['vxlan.flag_g', 'vxlan.flag_d', 'vxlan.flag_a', 'vxlan.gbp'];

const SAME = [
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.plen',
  'udp.dstport',
  'ipv6.hopopts.nxt',
  'ipv6.hopopts.len',
  'ipv6.opt.type',
  'ipv6.opt.length',
  'vxlan.vni',
  'vxlan.flag_g',
  'vxlan.flag_d',
  'vxlan.flag_a',
  'vxlan.gbp',
  'eth.src',
  'eth.dst',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.na.flag.r',
  'icmpv6.nd.na.flag.s',
  'icmpv6.nd.na.flag.o',
  'icmpv6.opt.type',
  'icmpv6.opt.length',
  'icmpv6.opt.src_linkaddr',
  'icmpv6.opt.target_linkaddr',
];

/** Two namespaces, the underlay up, tcpdump on A's eth0, then the VTEPs and two marked pings. Returns the pcap. */
async function capture(scope: LabScope): Promise<string> {
  const a = await scope.netns('a');
  const b = await scope.netns('b');
  await scope.veth(a, 'eth0', b, 'eth0');
  await a.ip(['addr', 'add', `${UL.a}/64`, 'dev', 'eth0', 'nodad']);
  await b.ip(['addr', 'add', `${UL.b}/64`, 'dev', 'eth0', 'nodad']);
  const pcap = join(scope.dir, 'gbp.pcap');
  const argv = ['tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-s', '0', '-w', pcap, 'udp port 8472'];
  const dump = scope.spawn('tcpdump', a, argv);
  await waitFor('tcpdump', 40, () => dump.log().includes('listening on'));
  // Devices come up under capture: their duplicate address detection, MLD reports (behind a hop-by-hop router
  // alert) and router solicitations cross the tunnel too.
  await vtep(a, 'a', 'b');
  await vtep(b, 'b', 'a');
  await new Promise((r) => setTimeout(r, 2500));
  await a.exec(['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', '-m', String(MARK), POD.b], { timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 300));
  await dump.stop();
  return pcap;
}

/** Packet `i` field by field against tshark's layers; returns the fields it had. */
function compare(pkt: ExplainedPacket, layers: unknown, i: number): string[] {
  const gbp = ours(pkt, 'vxlan.flag_g').length > 0;
  // tshark shows G, D, A and the group ID on every VXLAN header; we show them only when G says they are there.
  if (!gbp) assert.equal(tsharkValues(layers, 'vxlan.flag_g'), ['0'], `packet ${i + 1}: G clear`);
  const had: string[] = [];
  for (const name of SAME) {
    if (!gbp && GBP_FIELDS.includes(name)) continue;
    const v = ours(pkt, name);
    if (v.length) had.push(name);
    assert.equal(v, tsharkValues(layers, name), `packet ${i + 1}: ${name}`);
  }
  const sums = pkt.flatMap((l) => l.fields).filter((f) => f.name === 'icmpv6.checksum');
  assert.ok(
    sums.every((f) => f.meaning.endsWith('correct')),
    `packet ${i + 1}: the kernel's ICMPv6 checksums verify`,
  );
  assert.equal(
    pkt.flatMap((l) => l.problems),
    [],
    `packet ${i + 1}: nothing wrong`,
  );
  return had;
}

if (canRunWith('weft explain vs tshark on a kernel VXLAN-GBP capture over IPv6', ['tshark', 'tcpdump'])) {
  test('kernel neighbour discovery and marked pings over VXLAN-GBP on IPv6 match tshark', async () => {
    const scope = new LabScope('v6p-gbp');
    try {
      const pcap = await capture(scope);
      const mine = explainFile(pcap);
      const t = await tsharkJson(pcap);
      assert.is(t.code, 0, t.stderr);
      assert.is(t.layers.length, mine.length);
      const seen = new Set(mine.flatMap((pkt, i) => compare(pkt, t.layers[i], i)));
      for (const name of ['icmpv6.nd.ns.target_address', 'icmpv6.nd.na.target_address', 'vxlan.gbp'])
        assert.ok(seen.has(name), `the capture has ${name}`);
      const requests = mine.filter((p) => ours(p, 'icmpv6.type').includes('128'));
      assert.is(requests.length, 2, 'both echo requests');
      for (const r of requests)
        assert.equal(
          GBP_FIELDS.map((n) => ours(r, n)[0]),
          ['1', '1', '1', String(MARK & 0xffff)],
          'the mark in the GBP header: group 0x1234, D and A set',
        );
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
