// The explainer on the golden bytes other packages captured from real peers: frames of the Linux vxlan driver
// (packages/encap/test/fixtures) and BGP messages of BIRD 2 (packages/route-sync/test/fixtures). Field boundaries
// must agree with the fixtures' per-field annotation, and values with route-sync's decoded messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KERNEL_VXLAN } from '../../encap/test/fixtures/kernel-vxlan.ts';
import { BIRD_GOLDEN } from '../../route-sync/test/fixtures/bgpc-bird.ts';
import { AttrType, MessageType, type Message, type Prefix } from '@weft/route-sync';
import { Explainer, type ExplainedPacket } from '../src/index.ts';

const values = (pkt: ExplainedPacket, name: string) =>
  pkt
    .flatMap((l) => l.fields)
    .filter((f) => f.name === name)
    .map((f) => f.value);
const prefixes = (list: readonly Prefix[]) => list.map((p) => `${p.addr}/${p.length}`);

test("kernel vxlan frames: our field boundaries are the fixture's, values as annotated", () => {
  for (const [kind, fields] of Object.entries(KERNEL_VXLAN)) {
    const frame = Buffer.from(fields.map((f) => f[0]).join(''), 'hex');
    const pkt = new Explainer().explain(frame);
    const starts = new Set<number>();
    fields.reduce((o, f) => (starts.add(o), o + f[0].length / 2), 0);
    for (const f of pkt.flatMap((l) => l.fields)) {
      if (f.length === 0 || f.name === 'data' || f.name === 'padding') continue;
      assert.ok(starts.has(f.offset), `${kind}: ${f.name} at ${f.offset} starts where a fixture field starts`);
    }
    assert.equal(values(pkt, 'ip.src')[0], kind.endsWith('Reply') ? '192.0.2.2' : '192.0.2.1', kind);
    assert.equal(values(pkt, 'vxlan.vni'), [1], kind);
    assert.is(values(pkt, 'udp.dstport')[0], 8472, kind);
    if (kind.startsWith('icmp4')) assert.equal(values(pkt, 'icmp.type'), [kind.endsWith('Request') ? 8 : 0], kind);
    if (kind.startsWith('icmp6'))
      assert.equal(values(pkt, 'icmpv6.type'), [kind.endsWith('Request') ? 128 : 129], kind);
    const verdicts = pkt.flatMap((l) => l.problems).map((p) => p.verdict);
    // weft answers ARP for its own VTEP address separately; the forwarding path drops it as not IP.
    assert.equal(verdicts, kind.startsWith('arp') ? ['not_ip'] : [], kind);
    if (kind.startsWith('arp')) assert.is(values(pkt, 'arp.opcode')[0], kind === 'arpRequest' ? 1 : 2);
  }
});

function checkMessage(name: string, pkt: ExplainedPacket, m: Message): void {
  assert.equal(values(pkt, 'bgp.type'), [m.type], name);
  if (m.type === MessageType.Open) {
    assert.equal(
      [values(pkt, 'bgp.open.myas')[0], values(pkt, 'bgp.open.holdtime')[0], values(pkt, 'bgp.open.identifier')[0]],
      [m.myAs, m.holdTime, m.bgpId],
      name,
    );
    assert.is(values(pkt, 'bgp.cap').length, m.capabilities.length, name);
  } else if (m.type === MessageType.Update) {
    assert.equal(values(pkt, 'bgp.nlri_prefix'), prefixes(m.nlri), name);
    assert.equal(values(pkt, 'bgp.withdrawn_prefix'), prefixes(m.withdrawn), name);
    assert.is(values(pkt, 'bgp.update.path_attribute').length, m.attributes.length, name);
    for (const a of m.attributes) {
      if (a.type === AttrType.MpReachNlri)
        assert.equal(values(pkt, 'bgp.mp_reach_nlri_prefix'), prefixes(a.nlri), name);
      if (a.type === AttrType.MpUnreachNlri)
        assert.equal(values(pkt, 'bgp.mp_unreach_nlri.withdrawn_prefix'), prefixes(a.withdrawn), name);
      if (a.type === AttrType.NextHop)
        assert.equal(values(pkt, 'bgp.update.path_attribute.next_hop'), [a.nextHop], name);
      if (a.type === AttrType.MultiExitDisc)
        assert.equal(values(pkt, 'bgp.update.path_attribute.multi_exit_disc'), [a.med], name);
      if (a.type === AttrType.LocalPref)
        assert.equal(values(pkt, 'bgp.update.path_attribute.local_pref'), [a.localPref], name);
      if (a.type === AttrType.Communities)
        assert.is(values(pkt, 'bgp.update.path_attribute.community').length, a.communities.length, name);
    }
  } else if (m.type === MessageType.Notification) {
    assert.equal(
      [values(pkt, 'bgp.notify.major_error')[0], values(pkt, 'bgp.notify.minor_error')[0]],
      [m.code, m.subcode],
      name,
    );
  }
}

test("BIRD messages: every one explains without problems, values equal route-sync's decoding", () => {
  for (const g of BIRD_GOLDEN) {
    const pkt = new Explainer({ start: 'bgp' }).explain(g.bytes);
    assert.equal(
      pkt.flatMap((l) => l.problems),
      [],
      g.name,
    );
    assert.is(pkt.filter((l) => l.name === 'bgp').length, 1, g.name);
    checkMessage(g.name, pkt, g.message);
    const last = pkt.at(-1)!.fields.at(-1)!;
    assert.ok(last.offset + last.length <= g.bytes.length, g.name);
  }
});

test.run();
