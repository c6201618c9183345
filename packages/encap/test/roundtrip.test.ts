// Every codec through the shared round-trip harness, at offset 0 and at a random offset in a larger buffer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArpOp,
  DropReason,
  PacketSpan,
  VXLAN_ENCAP_HEADROOM,
  VxlanTemplate,
  decapsulateFlannelUdp,
  decapsulateVxlan,
  decodeArp,
  decodeIpv4Header,
  decodeIpv6Header,
  decodeUdpHeader,
  decodeVxlanHeader,
  encapsulateFlannelUdp,
  encapsulateVxlan,
  encodeIpv4Header,
  encodeIpv6Header,
  encodeUdpHeader,
  formatMac,
  parseMac,
  type ArpPacket,
  type Ipv4Header,
  type Ipv6Header,
  type UdpHeader,
  type VxlanHeader,
} from '../src/index.ts';
import { encodeArp } from '../src/arp.ts';
import { decodeEthernet, encodeEthernet, type EthernetHeader } from '../src/ethernet.ts';
import { formatIpv4, ipv4HeaderEncodingLength, ipv4UpdateChecksum, parseIpv4 } from '../src/ipv4.ts';
import { formatIpv6, parseIpv6 } from '../src/ipv6.ts';
import { encodeVxlanHeader } from '../src/vxlan.ts';
import { roundTrip, type Codec } from './harness.ts';

const mac = (s: string) => parseMac(s);

const ethernet: Codec<EthernetHeader> = {
  name: 'Ethernet',
  encode: encodeEthernet,
  decode: decodeEthernet,
  encodingLength: () => 14,
};
const ipv4: Codec<Ipv4Header> = {
  name: 'IPv4 header',
  encode: encodeIpv4Header,
  decode: decodeIpv4Header,
  encodingLength: ipv4HeaderEncodingLength,
};
const ipv6: Codec<Ipv6Header> = {
  name: 'IPv6 header',
  encode: encodeIpv6Header,
  decode: decodeIpv6Header,
  encodingLength: () => 40,
};
const udp: Codec<UdpHeader> = {
  name: 'UDP header',
  encode: encodeUdpHeader,
  decode: decodeUdpHeader,
  encodingLength: () => 8,
};
const arp: Codec<ArpPacket> = { name: 'ARP', encode: encodeArp, decode: decodeArp, encodingLength: () => 28 };
const vxlan = (groupPolicy: boolean): Codec<VxlanHeader> => ({
  name: `VXLAN header${groupPolicy ? ' (GBP)' : ''}`,
  encode: encodeVxlanHeader,
  encodingLength: () => 8,
  decode: (b, o, l) => decodeVxlanHeader(b, o, l, { groupPolicy }),
});
/** A text form as a codec: the value is the text, the bytes its parse. */
const text = (name: string, parse: (s: string) => Buffer, format: (b: Buffer, o: number) => string): Codec<string> => ({
  name,
  decode: (b, o) => format(b, o),
  encode: (s, b, o) => {
    const v = parse(s);
    v.copy(b, o);
    return v.length;
  },
});
const ipv4Text: Codec<string> = {
  name: 'IPv4 text',
  decode: (b, o) => formatIpv4(b.readUInt32BE(o)),
  encode: (s, b, o) => b.writeUInt32BE(parseIpv4(s), o) - o,
};

/** An IPv4 packet of `size` bytes with a valid header checksum. */
function ipv4Packet(size: number, ttl = 64): Buffer {
  const p = Buffer.alloc(size, 0x5a);
  encodeIpv4Header(
    {
      dscp: 0,
      ecn: 0,
      totalLength: size,
      identification: 7,
      flags: 2,
      fragmentOffset: 0,
      ttl,
      protocol: 17,
      src: parseIpv4('10.244.1.5'),
      dst: parseIpv4('10.244.2.9'),
      options: Buffer.alloc(0),
    },
    p,
    0,
  );
  return p;
}
function ipv6Packet(size: number, hopLimit = 64): Buffer {
  const p = Buffer.alloc(size, 0x3c);
  encodeIpv6Header(
    {
      trafficClass: 0,
      flowLabel: 0x12345,
      payloadLength: size - 40,
      nextHeader: 17,
      hopLimit,
      src: parseIpv6('fd00:10:244:1::5'),
      dst: parseIpv6('fd00:10:244:2::9'),
    },
    p,
    0,
  );
  return p;
}
/** The packet after `hops` forwarding steps, checksum fully recomputed: what the incremental update must equal. */
function aged(p: Buffer, hops: number): Buffer {
  const q = Buffer.from(p);
  if (q[0]! >> 4 === 4) {
    q[8] -= hops;
    ipv4UpdateChecksum(q, 0);
  } else q[7] -= hops;
  return q;
}

const tpl = new VxlanTemplate({ vni: 1, localMac: mac('02:00:0a:f4:01:00'), peerMac: mac('02:00:0a:f4:02:00') });
const span = new PacketSpan();
const vxlanEncap: Codec<Buffer> = {
  name: 'VXLAN encapsulate/decapsulate',
  encode(p, buf, off) {
    p.copy(buf, off + VXLAN_ENCAP_HEADROOM);
    assert.is(encapsulateVxlan(buf, off + VXLAN_ENCAP_HEADROOM, p.length, tpl), off, 'new offset');
    return VXLAN_ENCAP_HEADROOM + p.length;
  },
  decode(buf, off, len) {
    assert.is(decapsulateVxlan(buf, off, len, 1, span), DropReason.None);
    return Buffer.from(buf.subarray(span.offset, span.offset + span.length));
  },
};
/** flannel-udp: encapsulate on node A (TTL - 1), decapsulate on node B (TTL - 1 again). */
const flannelUdp: Codec<Buffer> = {
  name: 'flannel-udp encapsulate/decapsulate',
  encode(p, buf, off) {
    p.copy(buf, off);
    assert.is(encapsulateFlannelUdp(buf, off, p.length), off, 'offset unchanged');
    return p.length;
  },
  decode(buf, off, len) {
    assert.is(decapsulateFlannelUdp(buf, off, len, span), DropReason.None);
    return Buffer.from(buf.subarray(span.offset, span.offset + span.length));
  },
};

test('header codecs', () => {
  roundTrip(ethernet, { dst: mac('02:00:0a:f4:02:00'), src: mac('02:00:0a:f4:01:00'), etherType: 0x0800 });
  roundTrip(
    ethernet,
    { dst: mac('ff:ff:ff:ff:ff:ff'), src: mac('02:00:0a:f4:01:00'), etherType: 0x0806 },
    'Ethernet broadcast',
  );
  const h4 = decodeIpv4Header(ipv4Packet(60));
  roundTrip(ipv4, h4);
  roundTrip(
    ipv4,
    { ...h4, options: Buffer.from('9404000001020304', 'hex'), checksum: 0x1234 },
    'IPv4 with options, checksum as given',
  );
  roundTrip(ipv6, decodeIpv6Header(ipv6Packet(80)));
  roundTrip(udp, { srcPort: 53000, dstPort: 8472, length: 114, checksum: 0 });
  roundTrip(arp, {
    op: ArpOp.Request,
    senderMac: mac('02:00:0a:f4:01:00'),
    senderIp: parseIpv4('10.244.1.0'),
    targetMac: Buffer.alloc(6),
    targetIp: parseIpv4('10.244.2.0'),
  });
  roundTrip(
    arp,
    {
      op: ArpOp.Reply,
      senderMac: mac('02:00:0a:f4:02:00'),
      senderIp: parseIpv4('10.244.2.0'),
      targetMac: mac('02:00:0a:f4:01:00'),
      targetIp: parseIpv4('10.244.1.0'),
    },
    'ARP reply',
  );
  for (const vni of [0, 1, 42, 0xffffff]) roundTrip(vxlan(false), { vni }, `VXLAN VNI ${vni}`);
  roundTrip(
    vxlan(true),
    { vni: 7, groupPolicy: { dontLearn: true, policyApplied: false, groupPolicyId: 0xbeef } },
    'VXLAN GBP D',
  );
  roundTrip(
    vxlan(true),
    { vni: 7, groupPolicy: { dontLearn: false, policyApplied: true, groupPolicyId: 0 } },
    'VXLAN GBP A',
  );
  roundTrip(vxlan(true), { vni: 7 }, 'VXLAN GBP enabled, G clear');
});

test('text forms', () => {
  roundTrip(text('MAC', parseMac, formatMac), '02:00:0a:f4:01:00');
  roundTrip(text('IPv6 text', parseIpv6, formatIpv6), 'fd00:10:244:1::5');
  roundTrip(text('IPv6 text', parseIpv6, formatIpv6), '::', 'IPv6 all zero');
  roundTrip(text('IPv6 text', parseIpv6, formatIpv6), '1:0:0:2::3', 'IPv6 longest zero run');
  roundTrip(ipv4Text, '10.244.255.1');
});

test('encapsulate/decapsulate pairs', () => {
  for (const size of [20, 64, 1400]) {
    roundTrip(vxlanEncap, ipv4Packet(size), `VXLAN IPv4 ${size} B`, { writesBefore: VXLAN_ENCAP_HEADROOM });
    roundTrip(flannelUdp, ipv4Packet(size), `flannel-udp IPv4 ${size} B`, {
      expected: aged(ipv4Packet(size), 2),
      unstable: true,
    });
  }
  for (const size of [40, 1400]) {
    roundTrip(vxlanEncap, ipv6Packet(size), `VXLAN IPv6 ${size} B`, { writesBefore: VXLAN_ENCAP_HEADROOM });
    roundTrip(flannelUdp, ipv6Packet(size), `flannel-udp IPv6 ${size} B`, {
      expected: aged(ipv6Packet(size), 2),
      unstable: true,
    });
  }
});

test.run();
