// The two encapsulations the overlay backend can speak, behind one small interface, so the forwarding loops
// are written once. Both work in place in a slab slot and never allocate per packet.
import {
  DropReason,
  PacketSpan,
  VxlanTemplate,
  parseMac,
  encapsulateVxlan,
  decapsulateVxlan,
  encapsulateFlannelUdp,
  decapsulateFlannelUdp,
  arpRequestTarget,
  arpReplyInPlace,
  ENCAP_OVERHEAD_UDP,
  ENCAP_OVERHEAD_VXLAN_IPV4,
  VXLAN_HEADER_LENGTH,
  FLANNEL_UDP_PORT,
  VXLAN_PORT_FLANNEL,
} from '@weft/encap';
import type { PeerChange } from './types.ts';
import { hasIpv4Subnet } from '../subnet-key.ts';

export interface EncapFormat {
  readonly name: 'udp' | 'vxlan';
  readonly port: number;
  /** Bytes the encapsulation adds on the wire (outer IPv4 + UDP + format headers): TUN MTU = underlay - this. */
  readonly overhead: number;
  /** The same over an IPv6 underlay (outer IPv6 is 40 bytes, 20 more): the IPv6 pod MTU is underlay - this. */
  readonly overheadV6: number;
  /** Answer packets with no route with ICMP net unreachable, as flanneld's udp proxy does. */
  readonly icmpOnNoRoute: boolean;
  /** Learns what encapsulating for peer `index` needs (the vxlan template). */
  setPeer(index: number, change: PeerChange): void;
  /**
   * See encapsulateVxlan / encapsulateFlannelUdp: the new offset, or -DropReason. An IPv6 packet is framed for the
   * peer's IPv6 VTEP (vxlan: its own MACs, as flannel-v6.<VNI> has), an IPv4 packet for its IPv4 VTEP.
   */
  encapsulate(buf: Uint8Array, offset: number, length: number, peer: number): number;
  decapsulate(buf: Uint8Array, offset: number, length: number, out: PacketSpan): DropReason;
  /**
   * A non-IP payload (ARP for vxlan): when it deserves an answer, rewrite it in place into the reply, set
   * offsets[i]/lengths[i], and return true (it goes back to the sender).
   */
  answerControl?(
    buf: Uint8Array,
    offset: number,
    length: number,
    offsets: Int32Array,
    lengths: Int32Array,
    i: number,
  ): boolean;
}

/** flannel-udp: the raw IP packet is the datagram; TTL decremented on both sides. */
export function flannelUdpFormat(port = FLANNEL_UDP_PORT): EncapFormat {
  return {
    name: 'udp',
    port,
    overhead: ENCAP_OVERHEAD_UDP,
    overheadV6: ENCAP_OVERHEAD_UDP + IPV6_EXTRA,
    icmpOnNoRoute: true,
    setPeer() {},
    encapsulate: (buf, offset, length) => encapsulateFlannelUdp(buf, offset, length),
    decapsulate: decapsulateFlannelUdp,
  };
}

export interface VxlanFormatOptions {
  vni: number;
  port?: number;
  /** Our VTEP MAC, `aa:bb:cc:dd:ee:ff`: the inner Ethernet source, and what ARP replies announce. */
  localMac: string;
  /** Our VTEP address (the subnet's .0, uint32): the one ARP target we answer for. */
  vtepAddress: number;
  /** Dual stack: our IPv6 VTEP MAC (BackendV6Data.VtepMAC), the inner source of IPv6 frames. */
  localMacV6?: string;
}

/** The IPv6 outer header is 40 bytes, IPv4's 20: every overhead is 20 bytes more over an IPv6 underlay. */
const IPV6_EXTRA = 20;

/** VXLAN as flannel's vxlan backend has the kernel do it: inner Ethernet between the two VTEP MACs. */
export function vxlanFormat(o: VxlanFormatOptions): EncapFormat {
  const localMac = parseMac(o.localMac);
  const localMacV6 = o.localMacV6 ? parseMac(o.localMacV6) : undefined;
  const templates: (VxlanTemplate | undefined)[] = []; // by peer index; grows with the peer table
  const templatesV6: (VxlanTemplate | undefined)[] = []; // the same for IPv6 VTEPs
  return {
    name: 'vxlan',
    port: o.port ?? VXLAN_PORT_FLANNEL,
    overhead: ENCAP_OVERHEAD_VXLAN_IPV4,
    overheadV6: ENCAP_OVERHEAD_VXLAN_IPV4 + IPV6_EXTRA,
    icmpOnNoRoute: true,
    setPeer(index, change) {
      // An IPv6-only peer (no IPv4 subnet) has only BackendV6Data's MAC, as flannel's IPv6-only lease has.
      const v4 = hasIpv4Subnet(change.subnet);
      if (v4 && !change.vtepMac) throw new Error(`vxlan peer ${change.publicIp} has no VtepMAC in its lease`);
      templates[index] =
        v4 && change.vtepMac
          ? new VxlanTemplate({ vni: o.vni, localMac, peerMac: parseMac(change.vtepMac) })
          : undefined;
      const mac6 = change.ipv6?.vtepMac;
      templatesV6[index] =
        localMacV6 && mac6
          ? new VxlanTemplate({ vni: o.vni, localMac: localMacV6, peerMac: parseMac(mac6) })
          : undefined;
    },
    encapsulate(buf, offset, length, peer) {
      const t = length > 0 && buf[offset]! >> 4 === 6 ? templatesV6[peer] : templates[peer];
      return t ? encapsulateVxlan(buf, offset, length, t) : -DropReason.NotIp;
    },
    decapsulate: (buf, offset, length, out) => decapsulateVxlan(buf, offset, length, o.vni, out),
    answerControl(buf, offset, length, offsets, lengths, i) {
      const frame = offset + VXLAN_HEADER_LENGTH;
      if (arpRequestTarget(buf, frame, length - VXLAN_HEADER_LENGTH) !== o.vtepAddress) return false;
      lengths[i] = VXLAN_HEADER_LENGTH + arpReplyInPlace(buf, frame, localMac);
      offsets[i] = offset;
      return true;
    },
  };
}
