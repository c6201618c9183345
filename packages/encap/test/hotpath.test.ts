// The hot path's verdicts: each drop reason from the case that causes it, Ethernet padding trimmed, TTL handling
// as flanneld does it (and fixed where flanneld wraps), GBP bit positions, source ports, ICMP errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DROP_REASON_COUNT,
  DROP_REASON_NAMES,
  DropReason,
  ENCAP_OVERHEAD_UDP,
  ENCAP_OVERHEAD_VXLAN_IPV4,
  Icmpv4UnreachableCode,
  PacketSpan,
  VxlanTemplate,
  arpRequestTarget,
  arpReplyInPlace,
  buildIcmpv4DestUnreachable,
  decapsulateFlannelUdp,
  decapsulateVxlan,
  decodeIpv4Header,
  decodeVxlanHeader,
  dropReasonName,
  encapsulateFlannelUdp,
  encapsulateVxlan,
  encodeIpv4Header,
  internetChecksum,
  ipv4ChecksumValid,
  parseMac,
  vxlanSourcePort,
  ArpOp,
} from '../src/index.ts';
import { encodeArp } from '../src/arp.ts';
import { VXLAN_SOURCE_PORT_MAX, VXLAN_SOURCE_PORT_MIN, flowHash } from '../src/flow.ts';
import { ipv4Ttl, parseIpv4 } from '../src/ipv4.ts';
import { ENCAP_OVERHEAD_VXLAN_IPV6 } from '../src/overhead.ts';
import { encodeVxlanHeader } from '../src/vxlan.ts';

const A = parseMac('02:00:0a:f4:01:00');
const B = parseMac('02:00:0a:f4:02:00');
const tpl = new VxlanTemplate({ vni: 1, localMac: A, peerMac: B });
const span = new PacketSpan();

function ipv4(
  size: number,
  opts: { ttl?: number; protocol?: number; src?: string; dst?: string; frag?: number } = {},
): Buffer {
  const p = Buffer.alloc(size, 0x11);
  encodeIpv4Header(
    {
      dscp: 0,
      ecn: 0,
      totalLength: size,
      identification: 1,
      flags: 0,
      fragmentOffset: opts.frag ?? 0,
      ttl: opts.ttl ?? 64,
      protocol: opts.protocol ?? 6,
      src: parseIpv4(opts.src ?? '10.244.1.5'),
      dst: parseIpv4(opts.dst ?? '10.244.2.9'),
      options: Buffer.alloc(0),
    },
    p,
    0,
  );
  return p;
}
/** VXLAN payload (header + inner Ethernet + packet) as the kernel would send it, at offset 0. */
function vxlanPayload(p: Buffer): Buffer {
  const slot = Buffer.alloc(22 + p.length);
  p.copy(slot, 22);
  encapsulateVxlan(slot, 22, p.length, tpl);
  return slot;
}

test('overheads are the field sums flannel uses', () => {
  assert.is(ENCAP_OVERHEAD_UDP, 28);
  assert.is(ENCAP_OVERHEAD_VXLAN_IPV4, 50);
  assert.is(ENCAP_OVERHEAD_VXLAN_IPV6, 70);
});

test('drop reason names are dense, snake_case, and match the enum', () => {
  assert.is(DROP_REASON_NAMES.length, DROP_REASON_COUNT);
  for (let r = 0; r < DROP_REASON_COUNT; r++) {
    assert.ok(DropReason[r] !== undefined, `code ${r} in the enum`);
    assert.is(dropReasonName(r), DropReason[r]!.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase());
  }
  assert.is(dropReasonName(99), 'unknown');
});

test('VXLAN decapsulate: one case per drop reason', () => {
  const ok = vxlanPayload(ipv4(64));
  assert.is(decapsulateVxlan(ok, 0, ok.length, 1, span), DropReason.None);
  assert.is(decapsulateVxlan(ok, 0, 21, 1, span), DropReason.TooShort);
  const flags = Buffer.from(ok);
  flags[0] = 0x00;
  assert.is(decapsulateVxlan(flags, 0, ok.length, 1, span), DropReason.BadFlags);
  const reserved = Buffer.from(ok);
  reserved[0] = 0xff; // every R bit set: ignored on receipt (RFC 7348 section 5)
  reserved.fill(0xff, 1, 4);
  reserved[7] = 0xff;
  assert.is(decapsulateVxlan(reserved, 0, ok.length, 1, span), DropReason.None);
  assert.is(decapsulateVxlan(ok, 0, ok.length, 2, span), DropReason.WrongVni);
  const arp = Buffer.from(ok);
  arp.writeUInt16BE(0x0806, 20);
  assert.is(decapsulateVxlan(arp, 0, ok.length, 1, span), DropReason.NotIp);
  const v6type = Buffer.from(ok);
  v6type.writeUInt16BE(0x86dd, 20); // EtherType says IPv6, version nibble says 4
  assert.is(decapsulateVxlan(v6type, 0, ok.length, 1, span), DropReason.BadIpHeader);
  const ihl = Buffer.from(ok);
  ihl[22] = 0x44;
  assert.is(decapsulateVxlan(ihl, 0, ok.length, 1, span), DropReason.BadIpHeader);
  assert.is(decapsulateVxlan(ok, 0, ok.length - 1, 1, span), DropReason.LengthMismatch);
  assert.is(decapsulateVxlan(ok, 0, 22 + 19, 1, span), DropReason.TooShort);
});

test('VXLAN decapsulate trims Ethernet padding of short frames', () => {
  const small = ipv4(28); // 14 + 28 = 42 < 60: a NIC pads the frame with 18 bytes
  const padded = Buffer.concat([vxlanPayload(small), Buffer.alloc(18)]);
  assert.is(decapsulateVxlan(padded, 0, padded.length, 1, span), DropReason.None);
  assert.equal([span.offset, span.length, span.ipVersion], [22, 28, 4]);
});

test('VXLAN encapsulate: EtherType from the IP version, drops non-IP, refuses missing headroom', () => {
  const slot = Buffer.alloc(100);
  ipv4(40).copy(slot, 30);
  assert.is(encapsulateVxlan(slot, 30, 40, tpl), 8);
  assert.is(slot.toString('hex', 8, 30), '0800000000000100' + '02000af40200' + '02000af40100' + '0800');
  slot[30] = 0x60;
  assert.is(encapsulateVxlan(slot, 30, 40, tpl), 8);
  assert.is(slot.readUInt16BE(28), 0x86dd);
  slot[30] = 0x20;
  assert.is(encapsulateVxlan(slot, 30, 40, tpl), -DropReason.NotIp);
  assert.is(encapsulateVxlan(slot, 30, 0, tpl), -DropReason.TooShort);
  slot[21] = 0x45;
  assert.throws(() => encapsulateVxlan(slot, 21, 40, tpl), RangeError);
});

test('flannel-udp: TTL decremented each way with a valid checksum, dropped when it would reach 0', () => {
  const p = ipv4(64, { ttl: 3 });
  assert.is(encapsulateFlannelUdp(p, 0, 64), 0);
  assert.is(ipv4Ttl(p, 0), 2);
  assert.ok(ipv4ChecksumValid(p, 0));
  assert.is(decapsulateFlannelUdp(p, 0, 64, span), DropReason.None);
  assert.is(ipv4Ttl(p, 0), 1);
  assert.ok(ipv4ChecksumValid(p, 0));
  assert.is(encapsulateFlannelUdp(p, 0, 64), -DropReason.TtlExpired);
  assert.is(decapsulateFlannelUdp(p, 0, 64, span), DropReason.TtlExpired);
  assert.is(ipv4Ttl(p, 0), 1, 'a dropped packet is left as it was');
  const zero = ipv4(64, { ttl: 0 }); // flanneld's C would wrap this to 255 and forward it
  assert.is(decapsulateFlannelUdp(zero, 0, 64, span), DropReason.TtlExpired);
  const v6 = Buffer.alloc(48);
  v6[0] = 0x60;
  v6.writeUInt16BE(8, 4);
  v6[7] = 1;
  assert.is(decapsulateFlannelUdp(v6, 0, 48, span), DropReason.TtlExpired);
  v6[7] = 2;
  assert.is(decapsulateFlannelUdp(v6, 0, 48, span), DropReason.None);
  assert.equal([v6[7], span.ipVersion, span.length], [1, 6, 48]);
  assert.is(decapsulateFlannelUdp(Buffer.from([0x10, 0, 0]), 0, 3, span), DropReason.NotIp);
  assert.is(decapsulateFlannelUdp(p, 0, 19, span), DropReason.TooShort);
});

test('GBP bits sit where the draft and Linux put them', () => {
  const b = Buffer.alloc(8);
  encodeVxlanHeader({ vni: 0x123456, groupPolicy: { dontLearn: true, policyApplied: true, groupPolicyId: 0xabcd } }, b);
  assert.is(b.toString('hex'), '8848abcd12345600');
  assert.equal(decodeVxlanHeader(b), { vni: 0x123456 }, 'without the option the GBP bits are reserved, so ignored');
  assert.throws(
    () => encodeVxlanHeader({ vni: 0x1000000 }, b),
    (e: Error) => e.name === 'FieldRangeError' && /RFC 7348/.test(e.message),
  );
  assert.throws(
    () =>
      encodeVxlanHeader({ vni: 1, groupPolicy: { dontLearn: false, policyApplied: false, groupPolicyId: 0x10000 } }, b),
    (e: Error) => e.name === 'FieldRangeError' && /group-policy/.test(e.message),
  );
});

test('VXLAN source ports stay in 49152-65535, are stable per flow, and spread over flows', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const p = ipv4(40, { src: `10.244.1.${i % 250}`, dst: `10.244.2.${(i * 7) % 250}` });
    p.writeUInt16BE(1024 + i, 20); // TCP source port
    const port = vxlanSourcePort(p, 0, 40);
    assert.ok(port >= VXLAN_SOURCE_PORT_MIN && port <= VXLAN_SOURCE_PORT_MAX, String(port));
    assert.is(vxlanSourcePort(p, 0, 40), port);
    seen.add(port);
  }
  assert.ok(seen.size > 1800, `${seen.size} distinct ports for 2000 flows`);
  const a = ipv4(40);
  const b = Buffer.from(a);
  b.writeUInt16BE(4242, 22); // a different destination port is a different flow
  assert.is.not(flowHash(a, 0, 40), flowHash(b, 0, 40));
  b.writeUInt16BE(a.readUInt16BE(22), 22);
  b.fill(0x77, 24); // payload is not part of the flow
  assert.is(flowHash(a, 0, 40), flowHash(b, 0, 40));
});

test('ARP: a request for our address is answered in place; anything else is not a request', () => {
  const f = Buffer.alloc(60); // padded to the Ethernet minimum
  f.fill(0xff, 0, 6);
  A.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  encodeArp(
    {
      op: ArpOp.Request,
      senderMac: A,
      senderIp: parseIpv4('10.244.1.0'),
      targetMac: Buffer.alloc(6),
      targetIp: parseIpv4('10.244.2.0'),
    },
    f,
    14,
  );
  assert.is(arpRequestTarget(f, 0, 60), parseIpv4('10.244.2.0'));
  assert.is(arpRequestTarget(f, 0, 41), -1, 'too short');
  assert.is(arpReplyInPlace(f, 0, B), 42);
  assert.is(
    f.toString('hex', 0, 42),
    '02000af40100' +
      '02000af40200' +
      '0806' +
      '000108000604' +
      '0002' +
      '02000af40200' +
      '0af40200' +
      '02000af40100' +
      '0af40100',
  );
  assert.is(arpRequestTarget(f, 0, 60), -1, 'a reply');
});

test('ICMPv4 destination unreachable: RFC 792 layout, and not sent where RFC 1812 forbids', () => {
  const p = ipv4(100, { protocol: 17 });
  const out = Buffer.alloc(120, 0xee);
  const n = buildIcmpv4DestUnreachable(p, 0, 100, Icmpv4UnreachableCode.Net, parseIpv4('10.244.1.0'), out, 4, {
    ttl: 8,
  });
  assert.is(n, 20 + 8 + 20 + 8);
  const ip = decodeIpv4Header(out, 4);
  assert.equal(
    [ip.totalLength, ip.ttl, ip.protocol, ip.src, ip.dst],
    [n, 8, 1, parseIpv4('10.244.1.0'), parseIpv4('10.244.1.5')],
  );
  assert.ok(ipv4ChecksumValid(out, 4));
  assert.equal([out[24], out[25]], [3, 0]);
  assert.is(internetChecksum(out, 24, n - 20), 0, 'ICMP checksum');
  assert.equal(out.subarray(32, 32 + 28), p.subarray(0, 28), 'quotes the IP header + 8 bytes');
  assert.is(out[3], 0xee, 'nothing before outOffset');
  assert.is(out[4 + n], 0xee, 'nothing after');
  const mtu = buildIcmpv4DestUnreachable(p, 0, 100, Icmpv4UnreachableCode.FragmentationNeeded, 1, out, 0, {
    nextHopMtu: 1450,
  });
  assert.equal([out[21], out.readUInt16BE(26), mtu], [4, 1450, 56]);
  const none = (pkt: Buffer) => buildIcmpv4DestUnreachable(pkt, 0, pkt.length, 0, 1, out, 0);
  const icmpError = ipv4(56, { protocol: 1 });
  icmpError[20] = 11; // time exceeded
  assert.is(none(icmpError), 0, 'about an ICMP error');
  const echo = ipv4(56, { protocol: 1 });
  echo[20] = 8;
  assert.is(none(echo), 56, 'about an echo request: yes');
  assert.is(none(ipv4(56, { frag: 10 })), 0, 'non-first fragment');
  assert.is(none(ipv4(56, { dst: '224.0.0.5' })), 0, 'multicast destination');
  assert.is(none(ipv4(56, { src: '0.0.0.0' })), 0, 'unspecified source');
  assert.is(none(ipv4(56, { dst: '255.255.255.255' })), 0, 'broadcast');
  assert.is(none(ipv4(24)), 24 + 28, 'a short payload is quoted whole');
  assert.is(buildIcmpv4DestUnreachable(p, 0, 100, 0, 1, Buffer.alloc(50), 0), 0, 'no room');
  assert.is(none(Buffer.from([0x45, 0])), 0, 'not a valid packet');
});

test.run();
