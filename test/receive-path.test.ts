// Property tests of the receive path for super-packets, without a kernel: a datagram as a Linux VTEP (or anyone)
// may send it -> the format's decapsulation (@weft/encap) -> the TUN write planner (@weft/tunnel's addon). Any
// datagram, of any size up to 64 KB, with partial or complete or corrupt inner checksums, lying lengths or
// truncated headers, is either delivered correctly or dropped with a reason (a DropReason or an InnerVerdict);
// never a crash. "Delivered correctly" is checked against an independent checksum written here in TypeScript,
// and for super-packets against the original payload, addresses and MTU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { DropReason, PacketSpan, decapsulateVxlan, decapsulateFlannelUdp } from '@weft/encap';
import { InnerVerdict, PacketBatch, planInnerWrite } from '@weft/tunnel';
import { tcp4, udp4, pattern } from '../packages/tunnel/test/packets.ts';

const VXLAN_PREFIX = 8 + 14; // VXLAN header + inner Ethernet

function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  return acc;
}
const fold = (acc: number): number => {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
};
const rd16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const wr16 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
};
/** Folded TCP/UDP pseudo-header sum of an IPv4 packet: what a partial checksum field holds. */
const pseudo = (p: Uint8Array): number => fold(sum16(p, 12, 20) + p[9]! + (rd16(p, 2) - (p[0]! & 15) * 4));
/** Whether the IPv4 packet's TCP/UDP checksum verifies (an implementation independent of the addon's). */
function l4Ok(p: Uint8Array): boolean {
  const ihl = (p[0]! & 15) * 4;
  const total = rd16(p, 2);
  return fold(sum16(p, ihl, total, pseudo(p))) === 0xffff;
}
const ipv4HeaderOk = (p: Uint8Array): boolean => fold(sum16(p, 0, (p[0]! & 15) * 4)) === 0xffff;

/** The kernel's NEEDS_CSUM completion: the one's-complement sum from csum_start, the field included. */
function complete(p: Uint8Array, start: number, offset: number): void {
  wr16(p, start + offset, 0xffff - fold(sum16(p, start, p.length)));
}

type Csum = 'partial' | 'complete' | 'corrupt-payload' | 'corrupt-field';

interface Case {
  payload: number;
  options: boolean;
  csum: Csum;
  udp: boolean;
  mtu: number;
  vnet: boolean;
  vxlan: boolean;
  seed: number;
  /** A lie: none, the IP total length, the TCP data offset, or the datagram cut short. */
  lie: { kind: 'none' | 'total' | 'doff' | 'cut'; value: number };
}

/** The inner packet as the sending kernel left it, and the datagram that carries it. */
function build(c: Case): { inner: Uint8Array; datagram: Uint8Array } {
  const data = pattern(c.payload, c.seed);
  const inner = c.udp
    ? udp4('10.244.200.2', '10.244.1.2', 4000, 5000, data)
    : tcp4(
        {
          src: '10.244.200.2',
          dst: '10.244.1.2',
          sport: 4000,
          dport: 5000,
          seq: c.seed,
          options: c.options ? pattern(12, 7) : undefined,
        },
        data,
      );
  const field = c.udp ? 26 : 36;
  if (c.csum === 'partial') wr16(inner, field, pseudo(inner));
  if (c.csum === 'corrupt-payload' && c.payload > 0) inner[inner.length - 1 - (c.seed % c.payload)]! ^= 0x5a;
  if (c.csum === 'corrupt-field') wr16(inner, field, rd16(inner, field) ^ (1 + (c.seed % 0xfffe)));
  const datagram = new Uint8Array((c.vxlan ? VXLAN_PREFIX : 0) + inner.length);
  if (c.vxlan) {
    datagram.set([0x08, 0, 0, 0, 0, 0, 1, 0], 0); // I flag, VNI 1
    datagram.set([2, 0, 10, 244, 1, 0, 2, 0, 10, 244, 200, 0, 0x08, 0x00], 8); // dst MAC, src MAC, IPv4
  }
  datagram.set(inner, c.vxlan ? VXLAN_PREFIX : 0);
  const at = c.vxlan ? VXLAN_PREFIX : 0;
  if (c.lie.kind === 'total') wr16(datagram, at + 2, c.lie.value & 0xffff);
  if (c.lie.kind === 'doff' && !c.udp) datagram[at + 32] = (c.lie.value & 15) << 4;
  const cut = c.lie.kind === 'cut' ? Math.min(datagram.length, c.lie.value) : datagram.length;
  return { inner, datagram: datagram.subarray(0, cut) };
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    payload: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 65535 - 20 - 32 })),
    options: fc.boolean(),
    csum: fc.constantFrom<Csum>('partial', 'partial', 'complete', 'corrupt-payload', 'corrupt-field'),
    udp: fc.constantFrom(false, false, false, true),
    mtu: fc.constantFrom(1450, 1500, 576, 9000),
    vnet: fc.boolean(),
    vxlan: fc.boolean(),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    lie: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ kind: 'none' as const, value: 0 }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constantFrom('total' as const, 'doff' as const, 'cut' as const),
          value: fc.integer({ min: 0, max: 70000 }),
        }),
      },
    ),
  })
  .filter((c) => !c.udp || c.payload <= 65535 - 28);

const span = new PacketSpan();
const vnetHeader = new Uint8Array(10);
const segments = new PacketBatch(256, 9200);
const counted = new Map<string, number>();
const count = (k: string): void => void counted.set(k, (counted.get(k) ?? 0) + 1);

/** Checks a delivered super-packet's segments: valid checksums, same addresses, the payload whole and in order. */
function checkSegments(inner: Uint8Array, mtu: number): void {
  const hdr = 20 + (inner[32]! >> 4) * 4;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < segments.count; i++) {
    const seg = segments.packet(i);
    assert.ok(seg.length <= mtu, `segment ${i} fits the MTU`);
    assert.ok(ipv4HeaderOk(seg) && l4Ok(seg), `segment ${i} checksums`);
    assert.equal(seg.subarray(12, 20), inner.subarray(12, 20), 'addresses of the checked super-packet');
    parts.push(seg.subarray(hdr));
  }
  assert.equal(Buffer.concat(parts), Buffer.from(inner.subarray(hdr)), 'payload whole and in order');
}

function run(c: Case): void {
  const { inner, datagram } = build(c);
  const reason = c.vxlan
    ? decapsulateVxlan(datagram, 0, datagram.length, 1, span)
    : decapsulateFlannelUdp(datagram, 0, datagram.length, span);
  if (reason !== DropReason.None) return count(`decap:${DropReason[reason]}`);
  const pkt = datagram.subarray(span.offset, span.offset + span.length);
  const plan = planInnerWrite(pkt, c.mtu, c.vnet, vnetHeader, segments);
  count(InnerVerdict[plan.verdict]!);
  assert.ok(plan.verdict >= 0 && plan.verdict <= InnerVerdict.UdpSuperPacket, 'a known verdict');
  assert.ok(plan.length <= pkt.length, 'never more bytes than received');
  if (c.lie.kind !== 'none') return; // lies: any counted verdict will do, without a crash; checked below when honest
  if (!c.vxlan) inner[8]!--, wr16(inner, 10, 0), wr16(inner, 10, 0xffff - fold(sum16(inner, 0, 20))); // flannel-udp: TTL - 1
  const corrupt = (c.csum === 'corrupt-payload' && c.payload > 0) || c.csum === 'corrupt-field';
  const headers = 20 + (c.udp ? 8 : (inner[32]! >> 4) * 4);
  const isSuper = inner.length - headers > c.mtu - headers;
  if (isSuper && c.udp)
    return assert.is(plan.verdict, InnerVerdict.UdpSuperPacket, 'UDP super-packet: boundaries lost, dropped');
  const field = c.udp ? 26 : 36;
  const looksPartial = rd16(inner, field) === pseudo(inner);
  if (corrupt && !looksPartial) {
    // Never trusted: a super-packet is dropped here; a single one is left for a verifying step (coalesce or the
    // kernel), which sees a checksum that fails.
    if (isSuper) assert.is(plan.verdict, InnerVerdict.BadChecksum, 'corrupt super-packet dropped');
    else assert.ok(plan.verdict === InnerVerdict.Write && !l4Ok(pkt), 'corrupt single left to fail its check');
    return;
  }
  if (plan.verdict === InnerVerdict.WriteGso || plan.verdict === InnerVerdict.WriteNeedsCsum) {
    assert.ok(c.vnet, 'vnet headers only with offloads');
    const start = (rd16(vnetHeader, 6) >> 8) | ((rd16(vnetHeader, 6) & 0xff) << 8);
    const offset = vnetHeader[8]! | (vnetHeader[9]! << 8);
    assert.is(vnetHeader[0], 1, 'NEEDS_CSUM');
    const copy = Uint8Array.from(pkt);
    complete(copy, start, offset);
    assert.ok(l4Ok(copy), 'the kernel completes it into a valid checksum');
    assert.equal(copy.subarray(headers), inner.subarray(headers), 'payload unchanged');
    if (plan.verdict === InnerVerdict.WriteGso) {
      const gsoSize = vnetHeader[4]! | (vnetHeader[5]! << 8);
      assert.ok(isSuper && vnetHeader[1] === 1 && gsoSize === c.mtu - headers, 'GSO TCPV4, gso_size = MTU - headers');
    }
  } else if (plan.verdict === InnerVerdict.Segmented) {
    assert.ok(!c.vnet && isSuper, 'segmented only without offloads');
    checkSegments(inner, c.mtu);
  } else {
    assert.is(plan.verdict, InnerVerdict.Write, `an honest packet is delivered (${InnerVerdict[plan.verdict]})`);
    assert.ok(!isSuper, 'super-packets never go out as one plain write');
    assert.ok(l4Ok(pkt) || (c.vnet && !looksPartial), 'written with a valid checksum (completed if it was partial)');
  }
}

test('any datagram is delivered correctly or dropped with a reason; never a crash', () => {
  fc.assert(fc.property(caseArb, run), {
    numRuns: 600,
    verbose: 1,
    seed: Number(process.env.FC_SEED ?? Date.now() % 100000),
  });
  for (const k of ['WriteGso', 'WriteNeedsCsum', 'Segmented', 'BadChecksum', 'Write'])
    assert.ok((counted.get(k) ?? 0) > 0, `${k} was exercised: ${JSON.stringify([...counted])}`);
});

test('random bytes after a valid VXLAN header never crash the planner', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.boolean(), (bytes, vnet) => {
      const d = new Uint8Array(VXLAN_PREFIX + bytes.length);
      d.set([0x08, 0, 0, 0, 0, 0, 1, 0, 2, 0, 10, 244, 1, 0, 2, 0, 10, 244, 200, 0, 0x08, 0x00]);
      d.set(bytes, VXLAN_PREFIX);
      if (decapsulateVxlan(d, 0, d.length, 1, span) !== DropReason.None) return;
      const plan = planInnerWrite(d.subarray(span.offset, span.offset + span.length), 1450, vnet, vnetHeader, segments);
      assert.ok(plan.verdict >= 0 && plan.verdict <= InnerVerdict.UdpSuperPacket);
    }),
    { numRuns: 2000 },
  );
});

test('a partial checksum is told from a corrupt one by its value alone: the folded pseudo-header sum', () => {
  const honest = tcp4({ src: '10.244.200.2', dst: '10.244.1.2', sport: 1, dport: 2, seq: 9 }, pattern(3000, 3));
  const partial = Uint8Array.from(honest);
  wr16(partial, 36, pseudo(partial));
  const plan = planInnerWrite(partial, 1450, true, vnetHeader, segments);
  assert.is(plan.verdict, InnerVerdict.WriteGso);
  assert.ok(plan.partial);
  const wrong = Uint8Array.from(honest);
  wr16(wrong, 36, (pseudo(wrong) + 1) & 0xffff);
  assert.is(
    planInnerWrite(wrong, 1450, true, vnetHeader, segments).verdict,
    InnerVerdict.BadChecksum,
    'one off is corrupt',
  );
});

test.run();
