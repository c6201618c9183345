// What the kernel's VXLAN frames must satisfy, checked the same way against the committed fixture and against a
// fresh capture: every header decodes to what the kernel meant, re-encoding reproduces the kernel's bytes exactly,
// decapsulate accepts the data frames, encapsulate rebuilds the VXLAN payload byte for byte, and the ARP reply
// built in place from the kernel's request equals the kernel's own reply.
import * as assert from 'uvu/assert';
import {
  ArpOp,
  DropReason,
  EtherType,
  PacketSpan,
  VxlanTemplate,
  arpReplyInPlace,
  arpRequestTarget,
  decapsulateVxlan,
  decodeArp,
  decodeIpv4Header,
  decodeIpv6Header,
  decodeUdpHeader,
  decodeVxlanHeader,
  encapsulateVxlan,
  encodeIpv4Header,
  encodeIpv6Header,
  encodeUdpHeader,
  formatMac,
  internetChecksum,
  ipv4ChecksumValid,
  parseMac,
  IPV6_HEADER_LENGTH,
} from '../src/index.ts';
import { encodeArp } from '../src/arp.ts';
import { onesComplementSum } from '../src/checksum.ts';
import { decodeEthernet, encodeEthernet } from '../src/ethernet.ts';
import { formatIpv4, parseIpv4 } from '../src/ipv4.ts';
import { parseIpv6 } from '../src/ipv6.ts';
import { encodeVxlanHeader } from '../src/vxlan.ts';
import { TOPOLOGY, type PacketKind } from './kernel-vxlan.ts';

const OUTER = 14 + 20 + 8; // outer Ethernet + IPv4 + UDP: where the VXLAN header starts
const INNER = OUTER + 8; // the inner Ethernet frame
const macA = parseMac(TOPOLOGY.a.vtepMac);
const macB = parseMac(TOPOLOGY.b.vtepMac);
const fromA = (kind: PacketKind) => kind.endsWith('Request');

/** Each header of the outer frame decodes as the kernel meant and re-encodes to the same bytes. */
function checkOuter(kind: PacketKind, f: Buffer): void {
  const eth = decodeEthernet(f, 0);
  assert.is(eth.etherType, EtherType.Ipv4, `${kind}: outer EtherType`);
  const again = Buffer.alloc(14);
  encodeEthernet(eth, again, 0);
  assert.equal(again, f.subarray(0, 14), `${kind}: outer Ethernet re-encodes`);

  const ip = decodeIpv4Header(f, 14);
  assert.ok(ipv4ChecksumValid(f, 14), `${kind}: outer IPv4 checksum`);
  assert.is(formatIpv4(ip.src), fromA(kind) ? TOPOLOGY.a.underlay : TOPOLOGY.b.underlay, `${kind}: outer source`);
  assert.is(ip.protocol, 17);
  assert.is(ip.totalLength, f.length - 14, `${kind}: outer total length covers the frame`);
  const ipAgain = Buffer.alloc(20);
  encodeIpv4Header(ip, ipAgain, 0);
  assert.equal(ipAgain, f.subarray(14, 34), `${kind}: outer IPv4 re-encodes`);
  encodeIpv4Header({ ...ip, checksum: undefined }, ipAgain, 0);
  assert.equal(ipAgain, f.subarray(14, 34), `${kind}: outer IPv4 checksum recomputed equals the kernel's`);

  const udp = decodeUdpHeader(f, 34);
  assert.is(udp.dstPort, TOPOLOGY.port, `${kind}: UDP destination port`);
  assert.is(udp.length, f.length - 34, `${kind}: UDP length`);
  // Checksum offload: the field carries the (uncomplemented) pseudo-header sum: src, dst, protocol, UDP length.
  const pseudo = Buffer.alloc(12);
  f.copy(pseudo, 0, 26, 34);
  pseudo.writeUInt16BE(17, 8);
  pseudo.writeUInt16BE(udp.length, 10);
  assert.is(udp.checksum, onesComplementSum(pseudo, 0, 12), `${kind}: UDP checksum field is the pseudo-header sum`);
  const udpAgain = Buffer.alloc(8);
  encodeUdpHeader(udp, udpAgain, 0);
  assert.equal(udpAgain, f.subarray(34, 42), `${kind}: UDP header re-encodes`);

  assert.equal(decodeVxlanHeader(f, OUTER), { vni: TOPOLOGY.vni }, `${kind}: VXLAN header`);
  const vx = Buffer.alloc(8);
  encodeVxlanHeader({ vni: TOPOLOGY.vni }, vx, 0);
  assert.equal(vx, f.subarray(OUTER, INNER), `${kind}: VXLAN header re-encodes`);
}

/** An ICMP echo over IPv4 or IPv6: decapsulate accepts it, encapsulate rebuilds the VXLAN payload exactly. */
function checkData(kind: PacketKind, f: Buffer): void {
  const span = new PacketSpan();
  const payload = f.length - OUTER;
  assert.is(decapsulateVxlan(f, OUTER, payload, TOPOLOGY.vni, span), DropReason.None, `${kind}: decapsulate accepts`);
  assert.is(span.offset, INNER + 14);
  assert.is(span.length, payload - 22, `${kind}: inner length (no padding in VXLAN frames)`);
  assert.is(decapsulateVxlan(f, OUTER, payload, TOPOLOGY.vni + 1, span), DropReason.WrongVni);
  const inner = f.subarray(INNER + 14, f.length);
  if (kind.startsWith('icmp4')) {
    const ip = decodeIpv4Header(f, INNER + 14);
    assert.ok(ipv4ChecksumValid(f, INNER + 14), `${kind}: inner IPv4 checksum`);
    assert.is(internetChecksum(inner, 20, inner.length - 20), 0, `${kind}: ICMP checksum verifies`);
    const again = Buffer.alloc(20);
    encodeIpv4Header(ip, again, 0);
    assert.equal(again, inner.subarray(0, 20), `${kind}: inner IPv4 re-encodes`);
  } else {
    const ip = decodeIpv6Header(f, INNER + 14);
    assert.equal(ip.src, parseIpv6(fromA(kind) ? TOPOLOGY.a.vtep6 : TOPOLOGY.b.vtep6), `${kind}: inner IPv6 source`);
    const pseudo = Buffer.alloc(40);
    inner.copy(pseudo, 0, 8, 40);
    pseudo.writeUInt32BE(ip.payloadLength, 32);
    pseudo[39] = ip.nextHeader;
    const initial = onesComplementSum(pseudo, 0, 40);
    assert.is(
      internetChecksum(inner, IPV6_HEADER_LENGTH, ip.payloadLength, initial),
      0,
      `${kind}: ICMPv6 checksum verifies`,
    );
    const again = Buffer.alloc(40);
    encodeIpv6Header(ip, again, 0);
    assert.equal(again, inner.subarray(0, 40), `${kind}: inner IPv6 re-encodes`);
  }
  // Rebuild: the inner IP packet alone in a slab slot with headroom, as a TUN read leaves it.
  const slot = Buffer.alloc(2048, 0xa5);
  inner.copy(slot, 128);
  const tpl = new VxlanTemplate({
    vni: TOPOLOGY.vni,
    localMac: fromA(kind) ? macA : macB,
    peerMac: fromA(kind) ? macB : macA,
  });
  const start = encapsulateVxlan(slot, 128, inner.length, tpl);
  assert.is(start, 128 - 22);
  assert.equal(
    slot.subarray(start, 128 + inner.length),
    f.subarray(OUTER),
    `${kind}: encapsulate reproduces the kernel's VXLAN payload`,
  );
}

/** The kernel's ARP request for B's VTEP address, and B's kernel's reply, through our ARP code. */
function checkArp(req: Buffer, reply: Buffer): void {
  for (const [kind, f] of [
    ['arpRequest', req],
    ['arpReply', reply],
  ] as const) {
    const span = new PacketSpan();
    assert.is(
      decapsulateVxlan(f, OUTER, f.length - OUTER, TOPOLOGY.vni, span),
      DropReason.NotIp,
      `${kind}: not an IP packet`,
    );
    const arp = decodeArp(f, INNER + 14);
    const again = Buffer.alloc(28);
    encodeArp(arp, again, 0);
    assert.equal(again, f.subarray(INNER + 14), `${kind}: ARP re-encodes`);
    assert.equal(decodeEthernet(f, INNER).etherType, EtherType.Arp);
  }
  const r = decodeArp(req, INNER + 14);
  assert.is(r.op, ArpOp.Request);
  assert.is(formatMac(r.senderMac), TOPOLOGY.a.vtepMac);
  assert.is(formatIpv4(r.targetIp), TOPOLOGY.b.vtep4);
  assert.is(formatMac(req, INNER), 'ff:ff:ff:ff:ff:ff', 'request is broadcast');
  assert.is(arpRequestTarget(req, INNER, req.length - INNER), parseIpv4(TOPOLOGY.b.vtep4));
  assert.is(arpRequestTarget(reply, INNER, reply.length - INNER), -1, 'a reply is not a request');
  // Answer it as node B's userspace VTEP would: in place, then the same VXLAN header in front.
  const frame = Buffer.from(req.subarray(OUTER));
  const n = arpReplyInPlace(frame, 8, macB);
  assert.is(n, 42);
  assert.equal(frame.subarray(0, 8 + n), reply.subarray(OUTER), "our ARP reply equals the kernel's");
}

/** Runs every check on one frame of each kind. */
export function checkKernelPackets(frames: Record<PacketKind, Buffer>): void {
  for (const [kind, f] of Object.entries(frames) as [PacketKind, Buffer][]) {
    checkOuter(kind, f);
    if (!kind.startsWith('arp')) checkData(kind, f);
  }
  checkArp(frames.arpRequest, frames.arpReply);
}
