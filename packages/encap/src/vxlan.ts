// VXLAN (RFC 7348) as flannel's vxlan backend puts it on the wire: UDP port 8472, VNI 1, the inner frame an
// Ethernet frame from our VTEP MAC to the peer's VTEP MAC carrying an IP packet.
//
// VXLAN header, RFC 7348 section 5:
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |R|R|R|R|I|R|R|R|            Reserved                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                VXLAN Network Identifier (VNI) |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// I (0x08 in byte 0) MUST be 1 for a valid VNI; R bits MUST be 0 on send and are ignored on receipt.
//
// With the Group Based Policy extension (draft-smith-vxlan-group-policy section 2.1), when enabled on both ends:
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |G|R|R|R|I|R|R|R|R|D|R|R|A|R|R|R|        Group Policy ID        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                VXLAN Network Identifier (VNI) |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// G (0x80 in byte 0): Group Policy ID present. D (bit 9, 0x40 in byte 1): Don't Learn. A (bit 12, 0x08 in
// byte 1): policy Applied. (gopacket's layers/vxlan.go reads A as 0x80; the diagram and Linux's
// VXLAN_GBP_POLICY_APPLIED say 0x08.)
//
// Design notes: the kernel's UDP socket writes the outer IP and UDP headers, so userspace writes only 22 bytes
// in the headroom before the IP packet: the VXLAN header and the inner Ethernet header. Those 22 bytes are the
// same for every packet to one peer except the EtherType, so a VxlanTemplate keeps the first 20 per peer and
// encapsulate stores them (no allocation, no native call).
import { DropReason, type PacketSpan } from './drop.ts';
import { FieldRangeError, MacAddressError, VxlanFlagsError, need, windowEnd } from './errors.ts';
import { ETHERNET_HEADER_LENGTH, EtherType, MAC_LENGTH, writeMac } from './ethernet.ts';
import { checkIpPacket } from './inner.ts';
import { readU32, writeU32 } from './ipv4.ts';

/** flannel's VXLAN port (the Linux default before IANA assigned one). */
export const VXLAN_PORT_FLANNEL = 8472;
/** IANA's VXLAN port (RFC 7348 section 5). */
export const VXLAN_PORT_IANA = 4789;
/** 1 flags + 3 reserved (or GBP) + 3 VNI + 1 reserved. */
export const VXLAN_HEADER_LENGTH = 8;
/** What userspace writes before the inner IP packet: 8 VXLAN + 14 inner Ethernet. */
export const VXLAN_ENCAP_HEADROOM = VXLAN_HEADER_LENGTH + ETHERNET_HEADER_LENGTH;
/** The VNI is 24 bits. */
export const VXLAN_VNI_MAX = 0xffffff;

/** Flag bits of byte 0 and byte 1. */
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_FLAG_G = 0x80;
export const VXLAN_GBP_DONT_LEARN = 0x40;
export const VXLAN_GBP_POLICY_APPLIED = 0x08;

const RFC = 'RFC 7348 section 5';
const RFC_GBP = 'draft-smith-vxlan-group-policy section 2.1';

/** The Group Based Policy fields. */
export interface VxlanGroupPolicy {
  dontLearn: boolean;
  policyApplied: boolean;
  /** 16 bits. */
  groupPolicyId: number;
}

export interface VxlanHeader {
  /** 0..16777215. */
  vni: number;
  /** Present only when the G bit is set and the decoder was asked for the extension. */
  groupPolicy?: VxlanGroupPolicy;
}

function checkVni(vni: number, offset: number): void {
  if (!Number.isInteger(vni) || vni < 0 || vni > VXLAN_VNI_MAX)
    throw new FieldRangeError('VNI', vni, 0, VXLAN_VNI_MAX, RFC, offset);
}

/** Encodes `h` at `offset` with every reserved bit zero; returns 8. Throws FieldRangeError, TruncatedError. */
export function encodeVxlanHeader(h: VxlanHeader, buf: Uint8Array, offset = 0): number {
  checkVni(h.vni, offset + 4);
  const gp = h.groupPolicy;
  if (gp && (!Number.isInteger(gp.groupPolicyId) || gp.groupPolicyId < 0 || gp.groupPolicyId > 0xffff)) {
    throw new FieldRangeError('group policy ID', gp.groupPolicyId, 0, 0xffff, RFC_GBP, offset + 2);
  }
  need('VXLAN header', RFC, VXLAN_HEADER_LENGTH, offset, buf.length);
  buf[offset] = VXLAN_FLAG_I | (gp ? VXLAN_FLAG_G : 0);
  buf[offset + 1] = gp
    ? (gp.dontLearn ? VXLAN_GBP_DONT_LEARN : 0) | (gp.policyApplied ? VXLAN_GBP_POLICY_APPLIED : 0)
    : 0;
  buf[offset + 2] = gp ? gp.groupPolicyId >> 8 : 0;
  buf[offset + 3] = gp ? gp.groupPolicyId & 0xff : 0;
  buf[offset + 4] = h.vni >> 16;
  buf[offset + 5] = (h.vni >> 8) & 0xff;
  buf[offset + 6] = h.vni & 0xff;
  buf[offset + 7] = 0;
  return VXLAN_HEADER_LENGTH;
}

/** The VNI at `offset` (a view; the caller checked the length). */
export function vxlanVni(buf: Uint8Array, offset: number): number {
  return (buf[offset + 4]! << 16) | (buf[offset + 5]! << 8) | buf[offset + 6]!;
}

/**
 * Decodes the header at `offset`, reading no further than `offset + length`. Reserved bits are ignored (RFC 7348
 * section 5); with `groupPolicy: true` the G, D, A bits and the Group Policy ID are read instead of ignored.
 * Throws TruncatedError, or VxlanFlagsError when the I flag is clear.
 */
export function decodeVxlanHeader(
  buf: Uint8Array,
  offset = 0,
  length?: number,
  opts: { groupPolicy?: boolean } = {},
): VxlanHeader {
  need('VXLAN header', RFC, VXLAN_HEADER_LENGTH, offset, windowEnd(buf, offset, length));
  const flags = buf[offset]!;
  if ((flags & VXLAN_FLAG_I) === 0) throw new VxlanFlagsError(flags, offset);
  const h: VxlanHeader = { vni: vxlanVni(buf, offset) };
  if (opts.groupPolicy && flags & VXLAN_FLAG_G) {
    h.groupPolicy = {
      dontLearn: (buf[offset + 1]! & VXLAN_GBP_DONT_LEARN) !== 0,
      policyApplied: (buf[offset + 1]! & VXLAN_GBP_POLICY_APPLIED) !== 0,
      groupPolicyId: (buf[offset + 2]! << 8) | buf[offset + 3]!,
    };
  }
  return h;
}

/** Per-peer encapsulation: the VXLAN header and the inner Ethernet addresses, prebuilt once. */
export interface VxlanTemplateInit {
  vni: number;
  /** Our VTEP MAC: the inner Ethernet source. */
  localMac: Uint8Array;
  /** The peer's VTEP MAC: the inner Ethernet destination. */
  peerMac: Uint8Array;
  groupPolicy?: VxlanGroupPolicy;
}

/**
 * The 20 bytes encapsulateVxlan writes for one peer: VXLAN header (8), peer MAC (6), local MAC (6). They are kept
 * as five 32-bit numbers too, because storing those (5 property loads, 20 byte stores) measured ~1.5x faster than
 * copying 20 bytes from a Buffer with a loop, `set` or `copy` (bench/encap.bench.ts).
 */
export class VxlanTemplate {
  readonly bytes = Buffer.alloc(VXLAN_HEADER_LENGTH + 2 * MAC_LENGTH);
  readonly vni: number;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly w4: number;

  /** Throws FieldRangeError (VNI, group policy ID) or MacAddressError. */
  constructor(init: VxlanTemplateInit) {
    for (const [name, mac] of [
      ['local', init.localMac],
      ['peer', init.peerMac],
    ] as const) {
      if (mac.length !== MAC_LENGTH) throw new MacAddressError(`${name} VTEP MAC of ${mac.length} bytes`, 0);
    }
    const b = this.bytes;
    encodeVxlanHeader({ vni: init.vni, groupPolicy: init.groupPolicy }, b, 0);
    writeMac(b, VXLAN_HEADER_LENGTH, init.peerMac);
    writeMac(b, VXLAN_HEADER_LENGTH + MAC_LENGTH, init.localMac);
    this.vni = init.vni;
    [this.w0, this.w1, this.w2, this.w3, this.w4] = [0, 4, 8, 12, 16].map((o) => readU32(b, o)) as [
      number,
      number,
      number,
      number,
      number,
    ];
  }
}

/**
 * Writes the VXLAN header and the inner Ethernet header into the 22 bytes before the IP packet at
 * `[offset, offset + length)`, in place. Returns the new offset (`offset - 22`; the datagram is `length + 22`
 * bytes), or `-DropReason` (negative) when the packet is not IPv4/IPv6. The caller owns the headroom: `offset`
 * must be at least 22 (a RangeError otherwise, as that is a bug, not a packet condition).
 */
export function encapsulateVxlan(buf: Uint8Array, offset: number, length: number, tpl: VxlanTemplate): number {
  if (length < 1) return -(1 satisfies DropReason.TooShort);
  const v = buf[offset]! >> 4;
  const etherType = v === 4 ? (0x0800 satisfies EtherType.Ipv4) : v === 6 ? (0x86dd satisfies EtherType.Ipv6) : 0;
  if (etherType === 0) return -(4 satisfies DropReason.NotIp);
  const start = offset - VXLAN_ENCAP_HEADROOM;
  if (start < 0)
    throw new RangeError(`encapsulateVxlan needs ${VXLAN_ENCAP_HEADROOM} bytes of headroom, offset is ${offset}`);
  writeU32(buf, start, tpl.w0);
  writeU32(buf, start + 4, tpl.w1);
  writeU32(buf, start + 8, tpl.w2);
  writeU32(buf, start + 12, tpl.w3);
  writeU32(buf, start + 16, tpl.w4);
  buf[start + 20] = etherType >> 8;
  buf[start + 21] = etherType & 0xff;
  return start;
}

/**
 * Checks the VXLAN datagram payload at `[offset, offset + length)` (what a UDP read returned) and, when it
 * carries an IP packet for `vni`, sets `out` to the inner packet (trimmed of Ethernet padding) and returns
 * DropReason.None. Otherwise returns the reason; never throws, never allocates, reads only inside the window.
 * The inner Ethernet header starts at `offset + 8`; ARP frames return DropReason.NotIp (see arpRequestTarget).
 */
export function decapsulateVxlan(
  buf: Uint8Array,
  offset: number,
  length: number,
  vni: number,
  out: PacketSpan,
): DropReason {
  if (length < VXLAN_ENCAP_HEADROOM) return 1 satisfies DropReason.TooShort;
  if ((buf[offset]! & VXLAN_FLAG_I) === 0) return 2 satisfies DropReason.BadFlags;
  if (vxlanVni(buf, offset) !== vni) return 3 satisfies DropReason.WrongVni;
  const etherType = (buf[offset + 20]! << 8) | buf[offset + 21]!;
  const version =
    etherType === (0x0800 satisfies EtherType.Ipv4) ? 4 : etherType === (0x86dd satisfies EtherType.Ipv6) ? 6 : 0;
  if (version === 0) return 4 satisfies DropReason.NotIp;
  return checkIpPacket(buf, offset + VXLAN_ENCAP_HEADROOM, length - VXLAN_ENCAP_HEADROOM, version, out);
}
