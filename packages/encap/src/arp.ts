// ARP for IPv4 over Ethernet (RFC 826). The vxlan backend answers a kernel peer that asks, inside VXLAN, for
// the MAC of our VTEP address (flannel normally installs static neighbour entries, but a kernel whose entry is
// not permanent, or was flushed, asks).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   Hardware type (1 Ethernet)  |  Protocol type (0x0800 IPv4)  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  HLEN (6)     |   PLEN (4)    |  Operation (1 req, 2 reply)   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                Sender hardware address (6 octets)             |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |  Sender protocol address (4)  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |       (sender IP cont.)       |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//  |                Target hardware address (6 octets)             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Target protocol address (4)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { ArpFormatError, FieldRangeError, MacAddressError, need, windowEnd } from './errors.ts';
import { ETHERNET_HEADER_LENGTH, EtherType, MAC_LENGTH, ethernetType, writeMac } from './ethernet.ts';
import { readU32, writeU32 } from './ipv4.ts';

/** 2 htype + 2 ptype + 1 hlen + 1 plen + 2 op + 6 sender MAC + 4 sender IP + 6 target MAC + 4 target IP. */
export const ARP_LENGTH = 28;
/** ARP hardware type for Ethernet (IANA "Hardware Types"). */
export const ARP_HTYPE_ETHERNET = 1;
/** Offsets of the fields inside the ARP packet. */
export const ARP_SENDER_MAC_OFFSET = 8;
export const ARP_SENDER_IP_OFFSET = 14;
export const ARP_TARGET_MAC_OFFSET = 18;
export const ARP_TARGET_IP_OFFSET = 24;

export enum ArpOp {
  Request = 1,
  Reply = 2,
}

const RFC = 'RFC 826';

/** A decoded ARP packet; MACs are 6-byte copies, IPs uint32. */
export interface ArpPacket {
  op: ArpOp;
  senderMac: Buffer;
  senderIp: number;
  targetMac: Buffer;
  targetIp: number;
}

/** Why the 28 bytes at `off` are not an Ethernet/IPv4 request or reply, or null when they are. */
function arpProblem(buf: Uint8Array, off: number): string | null {
  const htype = (buf[off]! << 8) | buf[off + 1]!;
  const ptype = (buf[off + 2]! << 8) | buf[off + 3]!;
  const op = (buf[off + 6]! << 8) | buf[off + 7]!;
  if (htype !== ARP_HTYPE_ETHERNET) return `hardware type ${htype}`;
  if (ptype !== EtherType.Ipv4) return `protocol type 0x${ptype.toString(16)}`;
  if (buf[off + 4] !== MAC_LENGTH || buf[off + 5] !== 4) return `address lengths ${buf[off + 4]}/${buf[off + 5]}`;
  if (op !== ArpOp.Request && op !== ArpOp.Reply) return `operation ${op}`;
  return null;
}

/** Decodes the ARP packet at `offset`, reading no further than `offset + length`. Throws TruncatedError, ArpFormatError. */
export function decodeArp(buf: Buffer, offset = 0, length?: number): ArpPacket {
  need('ARP packet', RFC, ARP_LENGTH, offset, windowEnd(buf, offset, length));
  const problem = arpProblem(buf, offset);
  if (problem) throw new ArpFormatError(problem, offset);
  return {
    op: buf.readUInt16BE(offset + 6),
    senderMac: Buffer.from(buf.subarray(offset + ARP_SENDER_MAC_OFFSET, offset + ARP_SENDER_IP_OFFSET)),
    senderIp: readU32(buf, offset + ARP_SENDER_IP_OFFSET),
    targetMac: Buffer.from(buf.subarray(offset + ARP_TARGET_MAC_OFFSET, offset + ARP_TARGET_IP_OFFSET)),
    targetIp: readU32(buf, offset + ARP_TARGET_IP_OFFSET),
  };
}

/** Encodes `p` at `offset`; returns 28. Throws MacAddressError, FieldRangeError, TruncatedError. */
export function encodeArp(p: ArpPacket, buf: Buffer, offset = 0): number {
  if (p.senderMac.length !== MAC_LENGTH)
    throw new MacAddressError(`sender MAC of ${p.senderMac.length} bytes`, offset + ARP_SENDER_MAC_OFFSET);
  if (p.targetMac.length !== MAC_LENGTH)
    throw new MacAddressError(`target MAC of ${p.targetMac.length} bytes`, offset + ARP_TARGET_MAC_OFFSET);
  if (p.op !== ArpOp.Request && p.op !== ArpOp.Reply)
    throw new FieldRangeError('ARP operation', p.op, 1, 2, RFC, offset + 6);
  for (const ip of [p.senderIp, p.targetIp]) {
    if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff)
      throw new FieldRangeError('ARP IPv4 address', ip, 0, 0xffffffff, RFC, offset);
  }
  need('ARP packet', RFC, ARP_LENGTH, offset, buf.length);
  buf.writeUInt16BE(ARP_HTYPE_ETHERNET, offset);
  buf.writeUInt16BE(EtherType.Ipv4, offset + 2);
  buf[offset + 4] = MAC_LENGTH;
  buf[offset + 5] = 4;
  buf.writeUInt16BE(p.op, offset + 6);
  writeMac(buf, offset + ARP_SENDER_MAC_OFFSET, p.senderMac);
  writeU32(buf, offset + ARP_SENDER_IP_OFFSET, p.senderIp);
  writeMac(buf, offset + ARP_TARGET_MAC_OFFSET, p.targetMac);
  writeU32(buf, offset + ARP_TARGET_IP_OFFSET, p.targetIp);
  return ARP_LENGTH;
}

/**
 * If the Ethernet frame at `[offset, offset + length)` is an Ethernet/IPv4 ARP request, returns the IPv4 address
 * it asks about (uint32); otherwise -1. No allocation, no throw: safe on any bytes.
 */
export function arpRequestTarget(buf: Uint8Array, offset: number, length: number): number {
  if (length < ETHERNET_HEADER_LENGTH + ARP_LENGTH || offset < 0 || offset + length > buf.length) return -1;
  if (ethernetType(buf, offset) !== EtherType.Arp) return -1;
  const arp = offset + ETHERNET_HEADER_LENGTH;
  if (arpProblem(buf, arp) !== null || buf[arp + 7] !== ArpOp.Request) return -1;
  return readU32(buf, arp + ARP_TARGET_IP_OFFSET);
}

/**
 * Turns the ARP request frame at `offset` into the reply "target IP is at `ourMac`", in place, as RFC 826's
 * reception algorithm says: swap sender and target, put our MAC and the asked-for IP in the sender fields, set
 * the operation to reply; the Ethernet header goes back to the asker from `ourMac`. The caller has checked with
 * arpRequestTarget that the request asks for one of our addresses. Returns the reply frame length (42); any
 * bytes after it (Ethernet padding) are no longer part of the frame.
 */
export function arpReplyInPlace(buf: Uint8Array, offset: number, ourMac: Uint8Array): number {
  const arp = offset + ETHERNET_HEADER_LENGTH;
  const askedIp = readU32(buf, arp + ARP_TARGET_IP_OFFSET);
  // Target <- sender (MAC and IP), then sender <- us.
  for (let i = 0; i < MAC_LENGTH + 4; i++) buf[arp + ARP_TARGET_MAC_OFFSET + i] = buf[arp + ARP_SENDER_MAC_OFFSET + i]!;
  writeMac(buf, arp + ARP_SENDER_MAC_OFFSET, ourMac);
  writeU32(buf, arp + ARP_SENDER_IP_OFFSET, askedIp);
  buf[arp + 6] = 0;
  buf[arp + 7] = ArpOp.Reply;
  for (let i = 0; i < MAC_LENGTH; i++) buf[offset + i] = buf[arp + ARP_TARGET_MAC_OFFSET + i]!;
  writeMac(buf, offset + MAC_LENGTH, ourMac);
  return ETHERNET_HEADER_LENGTH + ARP_LENGTH;
}
