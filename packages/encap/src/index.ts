// @weft/encap: pure header codecs for weft's dataplane, no I/O. Hot-path functions work in place on
// (buf, offset, length), never allocate and never throw for a bad packet (they return a DropReason); the
// decode/encode pairs for everything else return values and throw the typed errors of errors.ts.
//
// The public face is what other packages, the CLI, bench/ and tests outside this package use, with the types and
// error classes of those functions; the rest (single-field views, encoders only our own tests need, address text,
// which is @weft/netaddr's) is reached by this package's tests through its modules.
export {
  EncapError,
  TruncatedError,
  VxlanFlagsError,
  FieldRangeError,
  MacAddressError,
  IpHeaderError,
  ArpFormatError,
} from './errors.ts';
export { DropReason, DROP_REASON_COUNT, DROP_REASON_NAMES, dropReasonName, PacketSpan } from './drop.ts';
export { internetChecksum } from './checksum.ts';
export { ETHERNET_HEADER_LENGTH, EtherType, parseMac, formatMac } from './ethernet.ts';
export {
  IPV4_HEADER_LENGTH,
  IpProtocol,
  type Ipv4Header,
  ipv4ChecksumValid,
  decodeIpv4Header,
  encodeIpv4Header,
  readU32,
} from './ipv4.ts';
export { IPV6_HEADER_LENGTH, type Ipv6Header, decodeIpv6Header, encodeIpv6Header } from './ipv6.ts';
export {
  Ipv6NextHeader,
  Ipv6ChainStatus,
  IPV6_CHAIN_STATUS_NAMES,
  IPV6_MAX_EXTENSION_HEADERS,
  Ipv6Chain,
  Ipv6ChainError,
  type Ipv6ChainInfo,
  type Ipv6ExtensionHeader,
  isIpv6ExtensionHeader,
  walkIpv6Chain,
  decodeIpv6Chain,
} from './ipv6-chain.ts';
export { UDP_HEADER_LENGTH, type UdpHeader, decodeUdpHeader, encodeUdpHeader } from './udp.ts';
export { ARP_LENGTH, ArpOp, type ArpPacket, decodeArp, arpRequestTarget, arpReplyInPlace } from './arp.ts';
export {
  VXLAN_PORT_FLANNEL,
  VXLAN_HEADER_LENGTH,
  VXLAN_ENCAP_HEADROOM,
  VXLAN_FLAG_I,
  VXLAN_FLAG_G,
  type VxlanHeader,
  type VxlanGroupPolicy,
  type VxlanTemplateInit,
  VxlanTemplate,
  decodeVxlanHeader,
  encapsulateVxlan,
  decapsulateVxlan,
} from './vxlan.ts';
export { vxlanSourcePort } from './flow.ts';
export { FLANNEL_UDP_PORT, encapsulateFlannelUdp, decapsulateFlannelUdp } from './flannel-udp.ts';
export { ENCAP_OVERHEAD_UDP, ENCAP_OVERHEAD_VXLAN_IPV4 } from './overhead.ts';
export {
  ICMP_HEADER_LENGTH,
  Icmpv4Type,
  Icmpv4UnreachableCode,
  type Icmpv4ErrorOptions,
  buildIcmpv4DestUnreachable,
} from './icmp.ts';
export {
  ICMPV6_HEADER_LENGTH,
  IPV6_MIN_MTU,
  Icmpv6Type,
  Icmpv6UnreachableCode,
  type Icmpv6ErrorOptions,
  ipv6UpperLayerChecksum,
  buildIcmpv6DestUnreachable,
  buildIcmpv6PacketTooBig,
} from './icmpv6.ts';
