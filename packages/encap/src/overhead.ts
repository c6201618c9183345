// Encapsulation overhead: how much smaller the overlay MTU must be than the underlay's (flannel's encapOverhead).
import { ETHERNET_HEADER_LENGTH } from './ethernet.ts';
import { IPV4_HEADER_LENGTH } from './ipv4.ts';
import { IPV6_HEADER_LENGTH } from './ipv6.ts';
import { UDP_HEADER_LENGTH } from './udp.ts';
import { VXLAN_HEADER_LENGTH } from './vxlan.ts';

/** flannel-udp: 20 outer IPv4 + 8 UDP = 28. */
export const ENCAP_OVERHEAD_UDP = IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH;
/** VXLAN over IPv4: 20 outer IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet = 50. */
export const ENCAP_OVERHEAD_VXLAN_IPV4 =
  IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH + VXLAN_HEADER_LENGTH + ETHERNET_HEADER_LENGTH;
/** VXLAN over IPv6: 40 outer IPv6 + 8 UDP + 8 VXLAN + 14 inner Ethernet = 70. */
export const ENCAP_OVERHEAD_VXLAN_IPV6 =
  IPV6_HEADER_LENGTH + UDP_HEADER_LENGTH + VXLAN_HEADER_LENGTH + ETHERNET_HEADER_LENGTH;
