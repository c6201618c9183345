// weft explain against tshark on one live capture: the kernel vxlan driver (flannel style) carrying pings, two
// BIRD 2 daemons peering over the same underlay, one flannel-udp datagram and one VXLAN datagram with its I flag
// clear. tcpdump writes the pcap inside the test's namespaces; every packet is explained by us and decoded by
// `tshark -T json`, and the fields are compared one by one (VNI, addresses, ports, MACs, ICMP type, BGP message
// type, AS, hold time, identifier, prefixes, next hop).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { MessageType, encodeMessageToBuffer } from '@weft/route-sync';
import type { ExplainedPacket } from '../src/index.ts';
import { explainFile, icmpEcho, tsharkJson, tsharkValues } from './helpers.ts';

const UL = { a: '192.0.2.1', b: '192.0.2.2' };
const MAC = { a: '02:00:0a:f4:01:00', b: '02:00:0a:f4:02:00' };
const N = { a: 1, b: 2 };
type Node = 'a' | 'b';

async function vtep(ns: Netns, me: Node, peer: Node): Promise<void> {
  await ns.ipBatch([
    `link add flannel.1 type vxlan id 1 dstport 8472 local ${UL[me]} dev eth0 nolearning`,
    `link set flannel.1 address ${MAC[me]} mtu 1450 up`,
    `addr add 10.244.${N[me]}.0/32 dev flannel.1`,
    `neigh replace 10.244.${N[peer]}.0 lladdr ${MAC[peer]} dev flannel.1 nud permanent`,
    `route replace 10.244.${N[peer]}.0/24 via 10.244.${N[peer]}.0 dev flannel.1 onlink`,
  ]);
  await ns.exec(['bridge', 'fdb', 'append', MAC[peer], 'dev', 'flannel.1', 'dst', UL[peer], 'self', 'permanent']);
}

function birdConfig(me: Node, peer: Node, ctl: string): string {
  return `router id ${UL[me]};
protocol device { scan time 10; }
protocol static pods { ipv4; route 10.244.${N[me]}.0/24 blackhole; }
protocol bgp peer {
  local ${UL[me]} as 64512; neighbor ${UL[peer]} as 64512; direct;
  connect delay time 1; connect retry time 2;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}
${me === 'a' ? `protocol bgp probe { local ${UL.a} as 64512; neighbor ${PROBE} as 64513; passive; ipv4 { import none; export none; }; }` : ''}
# control socket ${ctl}
`;
}

/** A third address on B from which a malformed OPEN is sent to BIRD A (its "probe" neighbour). */
const PROBE = '192.0.2.3';

/** Connects from PROBE to BIRD A, sends `open`, and waits (bounded) for BIRD to answer and close. */
function sendBadOpen(ns: Netns, open: Buffer) {
  const js =
    `const c=require('net').connect({host:'${UL.a}',port:179,localAddress:'${PROBE}'},()=>c.write(Buffer.from('${open.toString('hex')}','hex')));` +
    `c.on('data',()=>{});c.on('error',()=>{});c.on('close',()=>process.exit(0));setTimeout(()=>process.exit(0),5000)`;
  return ns.exec(['node', '-e', js], { timeoutMs: 10_000 });
}

async function waitFor(what: string, tries: number, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sends one UDP datagram from inside `ns` (source port `srcPort`, 0 for an ephemeral one). */
function sendUdp(ns: Netns, from: string, srcPort: number, to: string, port: number, payload: Buffer) {
  const js = `const s=require('dgram').createSocket('udp4');s.bind(${srcPort},'${from}',()=>s.send(Buffer.from('${payload.toString('hex')}','hex'),${port},'${to}',()=>s.close()))`;
  return ns.exec(['node', '-e', js]);
}

async function capture(scope: LabScope): Promise<string> {
  const a = await scope.netns('a');
  const b = await scope.netns('b');
  await scope.veth(a, 'eth0', b, 'eth0');
  await a.ip(['addr', 'add', `${UL.a}/24`, 'dev', 'eth0']);
  await b.ip(['addr', 'add', `${UL.b}/24`, 'dev', 'eth0']);
  await b.ip(['addr', 'add', `${PROBE}/24`, 'dev', 'eth0']);
  await vtep(a, 'a', 'b');
  await vtep(b, 'b', 'a');
  const pcap = join(scope.dir, 'cap.pcap');
  const dump = scope.spawn('tcpdump', a, [
    'tcpdump',
    '-i',
    'eth0',
    '--immediate-mode',
    '-U',
    '-s',
    '0',
    '-w',
    pcap,
    'udp port 8472 or udp port 8285 or tcp port 179',
  ]);
  await waitFor('tcpdump', 20, async () => dump.log().includes('listening on'));
  await a.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.244.2.0']);
  for (const [me, peer, ns] of [
    ['a', 'b', a],
    ['b', 'a', b],
  ] as const) {
    const conf = join(scope.dir, `bird-${me}.conf`);
    const ctl = join(scope.dir, `bird-${me}.ctl`);
    writeFileSync(conf, birdConfig(me, peer, ctl));
    scope.spawn(`bird-${me}`, ns, ['bird', '-f', '-c', conf, '-s', ctl]);
  }
  const ctlA = join(scope.dir, 'bird-a.ctl');
  await waitFor('BGP route from B', 60, async () =>
    (await a.exec(['birdc', '-s', ctlA, 'show', 'route', 'protocol', 'peer'], { allowFailure: true })).stdout.includes(
      '10.244.2.0/24',
    ),
  );
  const inner = icmpEcho('10.244.2.7', '10.244.1.5', 9, 'flannel-udp');
  await sendUdp(b, UL.b, 8285, UL.a, 8285, inner.buf);
  const bad = Buffer.concat([Buffer.from('0000000000000100', 'hex'), Buffer.alloc(14), inner.buf]);
  await sendUdp(b, UL.b, 0, UL.a, 8472, bad); // the kernel VTEP holds port 8472 in B
  const badOpen = encodeMessageToBuffer({
    type: MessageType.Open,
    version: 4,
    myAs: 64513,
    holdTime: 90,
    bgpId: PROBE,
    capabilities: [],
  });
  badOpen[19] = 3; // BGP version 3
  await sendBadOpen(b, badOpen);
  await new Promise((r) => setTimeout(r, 300));
  await dump.stop();
  return pcap;
}

const ours = (pkt: ExplainedPacket, name: string) =>
  pkt
    .flatMap((l) => l.fields)
    .filter((f) => f.name === name)
    .map((f) => String(f.value));

/** Our field name -> tshark's, for fields whose values print the same way. */
const SAME: Record<string, string> = {
  'ip.src': 'ip.src',
  'ip.dst': 'ip.dst',
  'udp.srcport': 'udp.srcport',
  'udp.dstport': 'udp.dstport',
  'eth.src': 'eth.src',
  'eth.dst': 'eth.dst',
  'vxlan.vni': 'vxlan.vni',
  'icmp.type': 'icmp.type',
  'icmp.seq': 'icmp.seq',
  'tcp.srcport': 'tcp.srcport',
  'tcp.dstport': 'tcp.dstport',
  'bgp.type': 'bgp.type',
  'bgp.open.myas': 'bgp.open.myas',
  'bgp.open.holdtime': 'bgp.open.holdtime',
  'bgp.open.identifier': 'bgp.open.identifier',
  'bgp.update.path_attribute.next_hop': 'bgp.update.path_attribute.next_hop',
  'bgp.update.path_attribute.local_pref': 'bgp.update.path_attribute.local_pref',
  'bgp.cap.4as': 'bgp.cap.4as',
  'bgp.notify.major_error': 'bgp.notify.major_error',
};

if (canRunWith('weft explain vs tshark on a live capture', ['tshark', 'tcpdump', 'bird', 'birdc'])) {
  test('every packet of a kernel-vxlan + BIRD + flannel-udp capture matches tshark field by field', async () => {
    const scope = new LabScope('expl-ts');
    try {
      const pcap = await capture(scope);
      const mine = explainFile(pcap);
      const t = await tsharkJson(pcap);
      assert.is(t.code, 0);
      assert.is(t.layers.length, mine.length);
      const seen = new Set<string>();
      mine.forEach((pkt, i) => {
        for (const [our, theirs] of Object.entries(SAME)) {
          const a = ours(pkt, our);
          if (a.length) seen.add(our);
          assert.equal(a, tsharkValues(t.layers[i], theirs), `packet ${i + 1}: ${our}`);
        }
        const prefixes = ours(pkt, 'bgp.nlri_prefix');
        const tp = tsharkValues(t.layers[i], 'bgp.nlri_prefix').map(
          (p, j) => `${p}/${tsharkValues(t.layers[i], 'bgp.prefix_length')[j]}`,
        );
        assert.equal(prefixes, tp, `packet ${i + 1}: NLRI`);
        prefixes.forEach(() => seen.add('bgp.nlri_prefix'));
      });
      for (const f of [
        ...Object.keys(SAME).filter((k) => !k.startsWith('bgp.update.path_attribute.local') && k !== 'icmp.seq'),
        'bgp.nlri_prefix',
      ]) {
        assert.ok(seen.has(f), `the capture exercised ${f}`);
      }
      const bad = mine.find((p) => ours(p, 'vxlan.flags')[0] === '0x00');
      assert.ok(bad, 'the malformed VXLAN datagram was captured');
      assert.equal(
        bad!.flatMap((l) => l.problems).map((p) => [p.field, p.verdict]),
        [['vxlan.flags', 'bad_flags']],
      );
      // The malformed OPEN: our verdict (from route-sync) must be the NOTIFICATION BIRD actually sent back.
      const badIdx = mine.findIndex((p) => p.some((l) => l.problems.some((x) => x.verdict?.startsWith('bgp:'))));
      assert.ok(badIdx >= 0, 'the malformed OPEN was captured and found malformed');
      const verdict = mine[badIdx]!.flatMap((l) => l.problems).find((x) => x.verdict?.startsWith('bgp:'))!.verdict;
      const replyIdx = mine.findIndex(
        (p, i) => i > badIdx && ours(p, 'bgp.notify.major_error').length > 0 && ours(p, 'ip.src')[0] === UL.a,
      );
      assert.ok(replyIdx > badIdx, 'BIRD answered with a NOTIFICATION');
      // tshark names the subcode field after the error code (bgp.notify.minor_error_open, ..._update, ...).
      const minor = /"bgp\.notify\.minor_error[a-z_]*":\s*"(\d+)"/.exec(JSON.stringify(t.layers[replyIdx]))?.[1];
      assert.is(
        verdict,
        `bgp:${tsharkValues(t.layers[replyIdx], 'bgp.notify.major_error')[0]}/${minor}`,
        "explain predicts BIRD's NOTIFICATION",
      );
      assert.is(verdict, 'bgp:2/1');
      const fudp = mine.find((p) => p.some((l) => l.name === 'flannel-udp'));
      assert.equal(ours(fudp!, 'ip.src'), [UL.b, '10.244.2.7']);
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
