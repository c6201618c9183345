// @weft/encap: pure header codecs for weft's dataplane, no I/O. Hot-path functions work in place on
// (buf, offset, length), never allocate and never throw for a bad packet (they return a DropReason); the
// decode/encode pairs for everything else return values and throw the typed errors of errors.ts.
export {
  EncapError, TruncatedError, VxlanFlagsError, FieldRangeError, MacAddressError, AddressFormatError, IpHeaderError, ArpFormatError,
} from './errors.ts';
export { DropReason, DROP_REASON_COUNT, DROP_REASON_NAMES, dropReasonName, PacketSpan } from './drop.ts';
export { onesComplementSum, internetChecksum, checksumUpdate16 } from './checksum.ts';
export {
  ETHERNET_HEADER_LENGTH, MAC_LENGTH, ETHERNET_MIN_FRAME_LENGTH, EtherType, BROADCAST_MAC, type EthernetHeader,
  encodeEthernet, decodeEthernet, writeEthernetHeader, ethernetType, writeMac, macEquals, parseMac, formatMac,
} from './ethernet.ts';
export {
  IPV4_HEADER_LENGTH, IPV4_MAX_HEADER_LENGTH, IPV4_TTL_OFFSET, IPV4_CHECKSUM_OFFSET, IpProtocol, type Ipv4Header,
  ipv4Version, ipv4HeaderLength, ipv4TotalLength, ipv4FragmentOffset, ipv4Ttl, ipv4Protocol, ipv4Src, ipv4Dst,
  ipv4ChecksumValid, ipv4UpdateChecksum, ipv4DecrementTtl, decodeIpv4Header, encodeIpv4Header, ipv4HeaderEncodingLength,
  formatIpv4, parseIpv4, readU32, writeU32,
} from './ipv4.ts';
export {
  IPV6_HEADER_LENGTH, IPV6_HOP_LIMIT_OFFSET, IPV6_SRC_OFFSET, IPV6_DST_OFFSET, IPV6_ADDRESS_LENGTH, type Ipv6Header,
  ipv6PayloadLength, ipv6NextHeader, ipv6HopLimit, ipv6FlowLabel, ipv6SrcWord, ipv6DstWord,
  decodeIpv6Header, encodeIpv6Header, formatIpv6, parseIpv6,
} from './ipv6.ts';
export { UDP_HEADER_LENGTH, type UdpHeader, decodeUdpHeader, encodeUdpHeader } from './udp.ts';
export {
  ARP_LENGTH, ArpOp, type ArpPacket, decodeArp, encodeArp, arpRequestTarget, arpReplyInPlace,
} from './arp.ts';
export {
  VXLAN_PORT_FLANNEL, VXLAN_PORT_IANA, VXLAN_HEADER_LENGTH, VXLAN_ENCAP_HEADROOM, VXLAN_VNI_MAX,
  VXLAN_FLAG_I, VXLAN_FLAG_G, VXLAN_GBP_DONT_LEARN, VXLAN_GBP_POLICY_APPLIED,
  type VxlanHeader, type VxlanGroupPolicy, type VxlanTemplateInit, VxlanTemplate,
  encodeVxlanHeader, decodeVxlanHeader, vxlanVni, encapsulateVxlan, decapsulateVxlan,
} from './vxlan.ts';
export { VXLAN_SOURCE_PORT_MIN, VXLAN_SOURCE_PORT_MAX, flowHash, vxlanSourcePort } from './flow.ts';
export { FLANNEL_UDP_PORT, encapsulateFlannelUdp, decapsulateFlannelUdp } from './flannel-udp.ts';
export { ENCAP_OVERHEAD_UDP, ENCAP_OVERHEAD_VXLAN_IPV4, ENCAP_OVERHEAD_VXLAN_IPV6 } from './overhead.ts';
export {
  ICMP_HEADER_LENGTH, ICMP_QUOTED_DATA_LENGTH, Icmpv4Type, Icmpv4UnreachableCode, type Icmpv4ErrorOptions, buildIcmpv4DestUnreachable,
} from './icmp.ts';
