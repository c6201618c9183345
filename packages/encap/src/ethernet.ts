// Ethernet II header (IEEE 802.3 clause 3.2.6, "Length/Type" >= 0x0600 is an EtherType; RFC 894 for IPv4):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   Destination MAC (6 octets)                  |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//  |                     Source MAC (6 octets)                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           EtherType           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A MAC is a 6-byte Buffer everywhere: the hot path copies it from a preallocated Buffer into the frame with
// byte stores, which allocates nothing (a number or bigint would need conversions per packet).
import { MacAddressError, need, windowEnd } from './errors.ts';

/** 6 destination MAC + 6 source MAC + 2 EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Octets in an Ethernet (EUI-48) address. */
export const MAC_LENGTH = 6;
/** Minimum Ethernet frame without FCS: 64 - 4. Shorter frames are padded, so an IP packet may have trailing bytes. */
export const ETHERNET_MIN_FRAME_LENGTH = 60;

/** EtherTypes weft meets (IANA "IEEE 802 Numbers"). */
export enum EtherType {
  Ipv4 = 0x0800,
  Arp = 0x0806,
  Ipv6 = 0x86dd,
}

const RFC = 'IEEE 802.3 clause 3.2.6, RFC 894';

/** A decoded Ethernet header; the MACs are copies, not views into the frame. */
export interface EthernetHeader {
  dst: Buffer;
  src: Buffer;
  etherType: number;
}

/** ff:ff:ff:ff:ff:ff. Do not modify. */
export const BROADCAST_MAC: Buffer = Buffer.alloc(MAC_LENGTH, 0xff);

/** Copies a 6-byte MAC from `mac` into `buf` at `offset` (hot path: no checks, no allocation). */
export function writeMac(buf: Uint8Array, offset: number, mac: Uint8Array): void {
  buf[offset] = mac[0]!;
  buf[offset + 1] = mac[1]!;
  buf[offset + 2] = mac[2]!;
  buf[offset + 3] = mac[3]!;
  buf[offset + 4] = mac[4]!;
  buf[offset + 5] = mac[5]!;
}

/** True when the 6 bytes at `aOff` in `a` equal those at `bOff` in `b`. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff = 0): boolean {
  for (let i = 0; i < MAC_LENGTH; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Writes dst, src and EtherType at `offset`; returns 14. Hot path: the caller guarantees room and 6-byte MACs. */
export function writeEthernetHeader(
  buf: Uint8Array,
  offset: number,
  dst: Uint8Array,
  src: Uint8Array,
  etherType: number,
): number {
  writeMac(buf, offset, dst);
  writeMac(buf, offset + 6, src);
  buf[offset + 12] = etherType >>> 8;
  buf[offset + 13] = etherType & 0xff;
  return ETHERNET_HEADER_LENGTH;
}

/** The EtherType of the frame at `offset` (a view; the caller checked the length). */
export function ethernetType(buf: Uint8Array, offset: number): number {
  return (buf[offset + 12]! << 8) | buf[offset + 13]!;
}

function checkMac(mac: Uint8Array, offset: number): void {
  if (mac.length !== MAC_LENGTH) throw new MacAddressError(`MAC of ${mac.length} bytes`, offset);
}

/** Encodes `h` at `offset`; returns 14. Throws MacAddressError for a MAC that is not 6 bytes, TruncatedError for no room. */
export function encodeEthernet(h: EthernetHeader, buf: Buffer, offset = 0): number {
  checkMac(h.dst, offset);
  checkMac(h.src, offset + 6);
  need('Ethernet header', RFC, ETHERNET_HEADER_LENGTH, offset, buf.length);
  return writeEthernetHeader(buf, offset, h.dst, h.src, h.etherType & 0xffff);
}

/** Decodes the header at `offset`, reading no further than `offset + length`. Throws TruncatedError. */
export function decodeEthernet(buf: Buffer, offset = 0, length?: number): EthernetHeader {
  need('Ethernet header', RFC, ETHERNET_HEADER_LENGTH, offset, windowEnd(buf, offset, length));
  return {
    dst: Buffer.from(buf.subarray(offset, offset + 6)),
    src: Buffer.from(buf.subarray(offset + 6, offset + 12)),
    etherType: ethernetType(buf, offset),
  };
}

const HEX = /^[0-9a-fA-F]{1,2}$/;

/** Parses "02:00:0a:f4:01:00" (also "-" separated) into a new 6-byte Buffer. Throws MacAddressError. */
export function parseMac(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== MAC_LENGTH) throw new MacAddressError(`"${text}" has ${parts.length} groups`, 0);
  const mac = Buffer.alloc(MAC_LENGTH);
  let at = 0;
  for (let i = 0; i < MAC_LENGTH; i++) {
    const p = parts[i]!;
    if (!HEX.test(p)) throw new MacAddressError(`"${text}": group "${p}" is not 1-2 hex digits`, at);
    mac[i] = parseInt(p, 16);
    at += p.length + 1;
  }
  return mac;
}

/** Formats the 6 bytes at `offset` as "02:00:0a:f4:01:00". Throws TruncatedError if fewer than 6 remain. */
export function formatMac(buf: Uint8Array, offset = 0): string {
  need('MAC address', RFC, MAC_LENGTH, offset, buf.length);
  let s = '';
  for (let i = 0; i < MAC_LENGTH; i++) s += (i ? ':' : '') + buf[offset + i]!.toString(16).padStart(2, '0');
  return s;
}
