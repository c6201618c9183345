// The explainer on real packets built with @weft/encap and @weft/route-sync, well-formed and malformed: every
// verdict must be the one the dataplane (encap's decapsulate) or the BGP session (route-sync's decoder) reaches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DropReason,
  PacketSpan,
  VXLAN_ENCAP_HEADROOM,
  VxlanTemplate,
  buildIcmpv4DestUnreachable,
  decapsulateVxlan,
  dropReasonName,
  encapsulateVxlan,
  parseMac,
} from '@weft/encap';
import { parseIpv4 } from '@weft/netaddr';
import { AttrType, MessageType, Origin, encodeMessageToBuffer, type Message } from '@weft/route-sync';
import { Explainer, parseHexPackets, renderText, type ExplainedPacket } from '../src/index.ts';
import { parseHex } from '../src/hex.ts';
import { icmpEcho, tcpSegment } from './helpers.ts';

const tpl = new VxlanTemplate({
  vni: 1,
  localMac: parseMac('02:00:0a:f4:01:00'),
  peerMac: parseMac('02:00:0a:f4:02:00'),
});

/** A VXLAN UDP payload (what the receiving socket returns) carrying an ICMP echo. */
function vxlanPayload(): Buffer {
  const p = icmpEcho('10.244.1.5', '10.244.2.7', 1, 'hello', VXLAN_ENCAP_HEADROOM);
  const start = encapsulateVxlan(p.buf, p.offset, p.length, tpl);
  return Buffer.from(p.buf.subarray(start, p.offset + p.length));
}

const fields = (pkt: ExplainedPacket, name: string) => pkt.flatMap((l) => l.fields).filter((f) => f.name === name);
const value = (pkt: ExplainedPacket, name: string, nth = 0) => fields(pkt, name)[nth]?.value;
const problems = (pkt: ExplainedPacket) => pkt.flatMap((l) => l.problems);
const explainOne = (buf: Buffer, opts = {}) => new Explainer(opts).explain(buf);

test('a VXLAN payload explains layer by layer with offsets and raw bytes', () => {
  const pkt = explainOne(vxlanPayload(), { start: 'udp-payload' });
  assert.equal(
    pkt.map((l) => l.name),
    ['frame', 'vxlan', 'eth', 'ip', 'icmp', 'data'],
  );
  const vni = fields(pkt, 'vxlan.vni')[0]!;
  assert.equal([vni.offset, vni.length, vni.hex, vni.value, vni.rfc], [4, 3, '000001', 1, 'RFC 7348 §5']);
  assert.is(value(pkt, 'eth.dst'), '02:00:0a:f4:02:00');
  assert.is(value(pkt, 'ip.src'), '10.244.1.5');
  assert.is(fields(pkt, 'ip.src')[0]!.offset, 22 + 12);
  assert.is(value(pkt, 'icmp.type'), 8);
  assert.equal(problems(pkt), []);
  assert.is(pkt.find((l) => l.name === 'ip')!.depth, 1);
  assert.match(renderText([pkt]), /0x0004 {2}00 00 01 +vxlan\.vni +1 /);
});

test('each VXLAN drop is the verdict of encap.decapsulateVxlan, pointed at the field', () => {
  const cases: [string, (b: Buffer) => void, string, number][] = [
    [
      'I flag clear',
      (b) => {
        b[0] = 0;
      },
      'vxlan.flags',
      0,
    ],
    [
      'wrong VNI',
      (b) => {
        b[6] = 2;
      },
      'vxlan.vni',
      4,
    ],
    [
      'inner not IP',
      (b) => {
        b.writeUInt16BE(0x88cc, 20);
      },
      'eth.type',
      20,
    ],
    [
      'inner IP longer than the datagram',
      (b) => {
        b.writeUInt16BE(200, 22 + 2);
      },
      'inner headers',
      24,
    ],
  ];
  for (const [what, spoil, field, offset] of cases) {
    const buf = vxlanPayload();
    spoil(buf);
    const expected = decapsulateVxlan(buf, 0, buf.length, 1, new PacketSpan());
    assert.is.not(expected, DropReason.None, what);
    const vx = explainOne(buf, { start: 'vxlan' }).find((l) => l.name === 'vxlan')!;
    assert.is(vx.problems.length, 1, what);
    const p = vx.problems[0]!;
    assert.is(p.verdict, dropReasonName(expected), what);
    assert.is(p.offset, offset, what);
    assert.is(p.field ?? 'inner headers', field === 'eth.type' ? 'inner headers' : field, what);
    assert.match(p.action, `reason="${dropReasonName(expected)}"`);
  }
});

test('the receiver VNI option changes the verdict as it would for the dataplane', () => {
  const pkt = explainOne(vxlanPayload(), { start: 'vxlan', vni: 7 });
  assert.equal(
    problems(pkt).map((p) => p.verdict),
    ['wrong_vni'],
  );
  assert.match(fields(pkt, 'vxlan.vni')[0]!.meaning, /expects 7/);
});

test('flannel-udp: a TTL of 1 is a ttl_expired drop at ip.ttl; the input is not modified', () => {
  const p = icmpEcho('10.244.2.7', '10.244.1.5', 3, 'x', 0, 1);
  const before = Buffer.from(p.buf);
  const pkt = explainOne(p.buf, { start: 'flannel-udp' });
  assert.ok(p.buf.equals(before), 'flannel decapsulation decrements TTL in place, so explain runs it on a copy');
  const [prob] = problems(pkt);
  assert.equal([prob?.verdict, prob?.field, prob?.offset], ['ttl_expired', 'ip.ttl', 8]);
  assert.equal(problems(explainOne(icmpEcho('10.244.2.7', '10.244.1.5', 3).buf, { start: 'flannel-udp' })), []);
});

test('IP header errors from encap are pointed at the field; bad checksums are found', () => {
  const p = icmpEcho('10.244.1.5', '10.244.2.7', 1);
  const badIhl = Buffer.from(p.buf);
  badIhl[0] = 0x44;
  const a = problems(explainOne(badIhl, { start: 'ip' }));
  assert.is(a.length, 1);
  assert.equal([a[0]!.field, a[0]!.offset], ['ip.version/ihl', 0]);
  assert.match(a[0]!.message, /IHL 4 is below the minimum of 5/);
  const badSum = Buffer.from(p.buf);
  badSum[10]! ^= 0xff;
  assert.equal(
    problems(explainOne(badSum)).map((x) => x.field),
    ['ip.checksum'],
  );
  const badIcmp = Buffer.from(p.buf);
  badIcmp[30]! ^= 1;
  assert.equal(
    problems(explainOne(badIcmp)).map((x) => x.field),
    ['icmp.checksum'],
  );
});

test('an ICMP fragmentation-needed error built by encap shows the MTU and the quoted packet', () => {
  const big = icmpEcho('10.244.1.5', '10.244.2.7', 3, 'x'.repeat(1400));
  const out = Buffer.alloc(128);
  const n = buildIcmpv4DestUnreachable(big.buf, 0, big.length, 4, parseIpv4('10.244.1.0'), out, 0, {
    nextHopMtu: 1450,
  });
  const pkt = explainOne(out.subarray(0, n));
  assert.equal(
    pkt.map((l) => l.name),
    ['frame', 'ip', 'icmp', 'ip', 'data'],
  );
  assert.equal([value(pkt, 'icmp.type'), value(pkt, 'icmp.code'), value(pkt, 'icmp.mtu')], [3, 4, 1450]);
  assert.equal([value(pkt, 'ip.src', 1), value(pkt, 'ip.len', 1)], ['10.244.1.5', 1428]);
  assert.match(pkt[3]!.title, /quoted/);
  assert.equal(problems(pkt), [], 'a quoted header is short by design, not malformed');
});

test('truncated packets never throw: every prefix of a VXLAN frame explains', () => {
  const buf = vxlanPayload();
  for (let n = 0; n <= buf.length; n++) {
    const pkt = explainOne(buf.subarray(0, n), { start: 'vxlan' });
    const expected = decapsulateVxlan(buf, 0, n, 1, new PacketSpan());
    const verdicts = problems(pkt).map((p) => p.verdict);
    if (expected !== DropReason.None) assert.ok(verdicts.includes(dropReasonName(expected)), `length ${n}`);
    for (const f of pkt.flatMap((l) => l.fields))
      assert.ok(f.offset + f.length <= n || f.name.startsWith('frame'), `${f.name} past the end at length ${n}`);
  }
});

/** A plain OPEN (AS 64512, hold time 9, no capabilities). */
const OPEN: Message = {
  type: MessageType.Open,
  version: 4,
  myAs: 64512,
  holdTime: 9,
  bgpId: '192.0.2.1',
  capabilities: [],
};

const UPDATE: Message = {
  type: MessageType.Update,
  withdrawn: [{ afi: 1, length: 24, addr: '10.244.9.0' }],
  nlri: [{ afi: 1, length: 24, addr: '10.244.2.0' }],
  attributes: [
    { type: AttrType.Origin, origin: Origin.Igp },
    { type: AttrType.AsPath, segments: [{ type: 2, asns: [64512, 4200000000] }] },
    { type: AttrType.NextHop, nextHop: '192.0.2.2' },
    { type: AttrType.LocalPref, localPref: 100 },
    { type: AttrType.Communities, communities: [0xfc000064, 0xffffff01] },
  ],
};

test('BGP UPDATE: every attribute and prefix annotated, values as encoded by route-sync', () => {
  const bytes = encodeMessageToBuffer(UPDATE, { fourOctetAs: true });
  const pkt = explainOne(bytes, { start: 'bgp' });
  assert.is(value(pkt, 'bgp.type'), 2);
  assert.is(value(pkt, 'bgp.withdrawn_prefix'), '10.244.9.0/24');
  assert.is(value(pkt, 'bgp.nlri_prefix'), '10.244.2.0/24');
  assert.is(value(pkt, 'bgp.update.path_attribute.origin'), 'Igp');
  assert.is(value(pkt, 'bgp.update.path_attribute.as_path_segment'), 'AS_SEQUENCE [64512 4200000000]');
  assert.is(value(pkt, 'bgp.update.path_attribute.next_hop'), '192.0.2.2');
  assert.is(value(pkt, 'bgp.update.path_attribute.local_pref'), 100);
  assert.equal(
    fields(pkt, 'bgp.update.path_attribute.community').map((f) => f.value),
    ['64512:100', '65535:65281'],
  );
  assert.match(fields(pkt, 'bgp.update.path_attribute.community')[1]!.meaning, /NO_EXPORT/);
  assert.is(fields(pkt, 'bgp.update.path_attribute').length, 5);
  assert.equal(problems(pkt), []);
});

test("BGP errors carry route-sync's NOTIFICATION code/subcode or RFC 7606 handling", () => {
  const open = encodeMessageToBuffer(OPEN);
  const v3 = Buffer.from(open);
  v3[19] = 3;
  const [a] = problems(explainOne(v3, { start: 'bgp' }));
  assert.equal([a?.verdict, a?.field, a?.offset], ['bgp:2/1', 'bgp.open.version', 19]);
  assert.match(
    a!.action,
    /NOTIFICATION 2\/1 \(Open Message Error \/ Unsupported Version Number\) and closes the session/,
  );
  const shortLen = Buffer.from(open);
  shortLen.writeUInt16BE(18, 16);
  assert.equal(
    problems(explainOne(shortLen, { start: 'bgp' })).map((p) => [p.verdict, p.field, p.offset]),
    [['bgp:1/2', 'bgp.length', 16]],
  );
  const upd = encodeMessageToBuffer(UPDATE, { fourOctetAs: true });
  const originAt = upd.indexOf(Buffer.from([0x40, 0x01, 0x01, 0x00]));
  upd[originAt + 3] = 7; // ORIGIN 7: RFC 7606 §7.1 treat-as-withdraw
  const [w] = problems(explainOne(upd, { start: 'bgp' }));
  assert.is(w?.verdict, 'bgp:3/6');
  assert.is(w?.offset, originAt);
  assert.match(w!.action, /treat-as-withdraw.*no NOTIFICATION/);
});

test('a BGP message split over two segments is reassembled by the per-flow framer', () => {
  const bytes = encodeMessageToBuffer(UPDATE, { fourOctetAs: true });
  const ex = new Explainer({ start: 'bgp' });
  const first = ex.explain(bytes.subarray(0, 30));
  assert.equal(
    first.map((l) => l.title),
    ['Packet 1', 'BGP (continues in the next segment)'],
  );
  const second = ex.explain(bytes.subarray(30));
  const bgp = second.find((l) => l.name === 'bgp')!;
  assert.match(bgp.title, /^BGP UPDATE \(reassembled/);
  assert.is(value(second, 'bgp.nlri_prefix'), '10.244.2.0/24');
});

test('BGP over TCP: retransmitted bytes are skipped, a capture started mid-stream resynchronizes on a marker', () => {
  const open = encodeMessageToBuffer(OPEN);
  const keepalive = encodeMessageToBuffer({ type: MessageType.Keepalive });
  const seg = (seq: number, flags: number, payload?: Uint8Array) =>
    tcpSegment('192.0.2.1', '192.0.2.2', 40000, 179, seq, flags, payload);
  const ex = new Explainer();
  const titles = (pkt: ExplainedPacket) => pkt.filter((l) => l.name === 'bgp').map((l) => l.title);
  assert.equal(titles(ex.explain(seg(999, 0x02))), []);
  const first = Buffer.concat([open, keepalive.subarray(0, 10)]);
  assert.equal(titles(ex.explain(seg(1000, 0x18, first))), ['BGP OPEN', 'BGP (continues in the next segment)']);
  const rest = keepalive.subarray(10);
  assert.match(titles(ex.explain(seg(1000 + first.length, 0x18, rest)))[0]!, /^BGP KEEPALIVE \(reassembled/);
  const again = ex.explain(seg(1000 + first.length, 0x18, rest));
  assert.equal(titles(again), ['BGP (bytes skipped)'], 'a retransmission is not read twice');
  assert.equal(problems(again), []);
  const late = new Explainer();
  const mid = late.explain(seg(5000, 0x18, Buffer.concat([open.subarray(open.length - 5), keepalive])));
  assert.equal(titles(mid), ['BGP (bytes skipped)', 'BGP KEEPALIVE']);
  assert.equal(value(mid, 'bgp.skipped'), '5 bytes');
  assert.equal(problems(mid), []);
});

test('capture link types: raw IP, Linux cooked (SLL, SLL2) start at the right layer', () => {
  const ip = icmpEcho('10.244.1.5', '10.244.2.7', 1).buf;
  const sll = Buffer.concat([Buffer.from('00000001000600000000000000000800', 'hex'), ip]);
  const sll2 = Buffer.concat([Buffer.from('080000000000000200010400000000000000000000'.slice(0, 40), 'hex'), ip]);
  for (const [linkType, bytes] of [
    [101, ip],
    [113, sll],
    [276, sll2],
  ] as const) {
    const pkt = new Explainer().explain(bytes, { linkType });
    assert.is(value(pkt, 'ip.src'), '10.244.1.5', `link type ${linkType}`);
    assert.is(value(pkt, 'icmp.type'), 8, `link type ${linkType}`);
  }
});

test('hex input: xxd -p, spaces, colons, 0x, several packets', () => {
  assert.equal(parseHex('0x45 00:00-1c').toString('hex'), '4500001c');
  assert.equal(
    parseHexPackets('aabb\nccdd\n').map((b) => b.toString('hex')),
    ['aabb', 'ccdd'],
  );
  assert.equal(
    parseHexPackets('aa bb\ncc\n\ndd # comment\n').map((b) => b.toString('hex')),
    ['aabbcc', 'dd'],
  );
  const wrapped = `${'ab'.repeat(30)}\n${'ab'.repeat(30)}\ncd\n`;
  assert.is(parseHexPackets(wrapped).length, 1);
  assert.throws(() => parseHex('abc'), /odd number/);
  assert.throws(
    () => parseHex('zz'),
    (e: Error) => e.name === 'HexInputError',
  );
});

test.run();
