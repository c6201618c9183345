// IPv6 packets for explain's tests: weft's own ICMPv6 errors (built by @weft/encap), extension header chains,
// neighbour discovery written by hand (RFC 4861 §4), and VXLAN datagrams with the group policy extension.
import {
  IpProtocol,
  Icmpv6Type,
  Icmpv6UnreachableCode,
  VXLAN_ENCAP_HEADROOM,
  VxlanTemplate,
  buildIcmpv6DestUnreachable,
  buildIcmpv6PacketTooBig,
  encapsulateVxlan,
  ipv6UpperLayerChecksum,
  parseMac,
  type VxlanGroupPolicy,
} from '@weft/encap';
import { NODE, POD_A, POD_B, icmp6, ipv6Packet, udp6 } from '../../encap/test/icmpv6-support.ts';

export { POD_A, POD_B };
const MAC_A = '02:00:0a:f4:01:05';
const MAC_R = '02:00:0a:f4:01:01';
const mac = (m: string) => parseMac(m);
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Hop-by-hop (PadN), then destination options (a tunnel encapsulation limit of 4, then PadN). */
const CHAIN = hex('00 3c 00 01 04 00000000   11 00 04 01 04 01 01 00');

export function errors(): Buffer[] {
  const behindChain = udp6(POD_A, POD_B, Buffer.from('behind two extension headers'), CHAIN.subarray(1), 0);
  const big = udp6(POD_A, POD_B, Buffer.alloc(1440, 0x62));
  const build = (f: (o: Buffer) => number) => {
    const out = Buffer.alloc(1280);
    return out.subarray(0, f(out));
  };
  return [
    behindChain,
    build((o) =>
      buildIcmpv6DestUnreachable(behindChain, 0, behindChain.length, Icmpv6UnreachableCode.NoRoute, NODE, o, 0),
    ),
    build((o) => buildIcmpv6PacketTooBig(big, 0, big.length, 1430, NODE, o, 0)),
  ];
}

/** Echo requests behind a fragment header (atomic), a type 2 routing header (checksum to the final destination), AH. */
export function chains(): Buffer[] {
  const echoBody = hex('4242 0007 7765667420763621');
  const atomic = icmp6(POD_A, POD_B, Icmpv6Type.EchoRequest, 0, echoBody, hex('2c 3a 00 0000 0badcafe'));
  const home = 'fd000010024400020000000000000009';
  const routed = icmp6(POD_A, POD_B, Icmpv6Type.EchoRequest, 0, echoBody, hex(`2b 3a 02 02 01 00000000 ${home}`));
  routed.writeUInt16BE(0, 40 + 24 + 2);
  routed.writeUInt16BE(ipv6UpperLayerChecksum(routed, 0, 64, routed.length - 64, 58, 40 + 8), 64 + 2);
  const ah = icmp6(
    POD_A,
    POD_B,
    Icmpv6Type.EchoRequest,
    0,
    echoBody,
    hex('33 3a 04 0000 00000100 00000001 00112233445566778899aabb'),
  );
  const later = ipv6Packet(POD_A, POD_B, 44, hex('11 00 0579 00000001 0123456789abcdef'));
  return [atomic, routed, ah, later];
}

/** An ND message of `type` with `body` after the checksum, hop limit 255, between link-local/multicast addresses. */
function nd(src: string, dst: string, type: number, body: Buffer, hopLimit = 255): Buffer {
  const p = icmp6(src, dst, type, 0, body);
  p[7] = hopLimit; // not in the pseudo-header: the checksum stands
  return p;
}

const lla = (type: number, m: string) => Buffer.concat([Buffer.from([type, 1]), mac(m)]);

export function neighbourDiscovery(hopLimit = 255): Buffer[] {
  const target = hex('fd000010024400010000000000000007');
  const ns = nd(
    'fe80::5',
    'ff02::1:ff00:7',
    Icmpv6Type.NeighborSolicitation,
    Buffer.concat([hex('00000000'), target, lla(1, MAC_A)]),
    hopLimit,
  );
  const na = nd(
    'fe80::7',
    'fe80::5',
    Icmpv6Type.NeighborAdvertisement,
    Buffer.concat([hex('60000000'), target, lla(2, '02:00:0a:f4:01:07')]),
    hopLimit,
  );
  const rs = nd(
    'fe80::5',
    'ff02::2',
    Icmpv6Type.RouterSolicitation,
    Buffer.concat([hex('00000000'), lla(1, MAC_A)]),
    hopLimit,
  );
  const ra = nd(
    'fe80::1',
    'ff02::1',
    Icmpv6Type.RouterAdvertisement,
    Buffer.concat([
      hex('40 40 0708 00007530 000003e8'), // hop limit 64, O, lifetime 1800 s, reachable 30000 ms, retrans 1000 ms
      lla(1, MAC_R),
      hex('0501 0000 000005aa'), // MTU 1450
      hex('0304 40 c0 00015180 00003840 00000000 fd000010024400010000000000000000'), // prefix /64, L A, 86400 s, 14400 s
      hex('1903 0000 00000e10 fd000010024400010000000000000035'), // RDNSS, 3600 s, one server
    ]),
    hopLimit,
  );
  return [ns, na, rs, ra];
}

const policy = (dontLearn: boolean, policyApplied: boolean, groupPolicyId: number): VxlanGroupPolicy => ({
  dontLearn,
  policyApplied,
  groupPolicyId,
});

/** VXLAN payloads (header + inner frame) with the group policy extension, carrying IPv6 packets. */
export function groupPolicyDatagrams(): Buffer[] {
  const inner = [neighbourDiscovery()[0]!, errors()[0]!, chains()[0]!];
  const policies = [policy(true, false, 0x1234), policy(false, true, 42), policy(true, true, 0xffff)];
  return inner.map((p, i) => {
    const tpl = new VxlanTemplate({
      vni: 1,
      localMac: mac('02:00:0a:f4:01:00'),
      peerMac: mac('02:00:0a:f4:02:00'),
      groupPolicy: policies[i],
    });
    const buf = Buffer.alloc(VXLAN_ENCAP_HEADROOM + p.length);
    p.copy(buf, VXLAN_ENCAP_HEADROOM);
    const start = encapsulateVxlan(buf, VXLAN_ENCAP_HEADROOM, p.length, tpl);
    return buf.subarray(start);
  });
}

/**
 * A VXLAN datagram over the IPv6 underlay, as flannel's flannel-v6.<VNI> device sends it: outer IPv6 between the
 * nodes, UDP to 8472 with its checksum (Linux computes it over IPv6), then a GBP datagram carrying an echo request.
 */
export function vxlanOverIpv6(): Buffer {
  const payload = groupPolicyDatagrams()[2]!;
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(41234, 0);
  udp.writeUInt16BE(8472, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  const p = ipv6Packet('2001:db8::1', '2001:db8::2', IpProtocol.Udp, udp);
  p.writeUInt16BE(ipv6UpperLayerChecksum(p, 0, 40, udp.length, IpProtocol.Udp), 46);
  return p;
}
