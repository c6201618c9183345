// Community attributes: COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360), LARGE_COMMUNITY (RFC 8092).
//
//   COMMUNITIES, n x 4 octets:      | ASN (2) | value (2) |
//   EXTENDED_COMMUNITIES, n x 8:    | type (1) | subtype (1) | value (6) |
//   LARGE_COMMUNITY, n x 12:        | global admin (4) | local data 1 (4) | local data 2 (4) |
//
// RFC 7606 §7.8 / §7.14 / RFC 8092 §6: a length of zero or not a multiple of the element size is malformed, and the
// UPDATE is treated as withdrawn.
//
// The EVPN Router's MAC extended community (RFC 9135 §8.1) is type 0x06 (EVPN), subtype 0x03, then the 6-byte MAC.
// weft puts the VXLAN VTEP's MAC there so peers can build the inner Ethernet header without ARP.
import type { ExtendedCommunity, LargeCommunity } from '../types.ts';
import { copyBytes, readU32, writeU32 } from './bytes.ts';

export const EXT_COMMUNITY_TYPE_EVPN = 0x06; // RFC 7153 §5.2.1
export const EXT_COMMUNITY_SUBTYPE_ROUTER_MAC = 0x03; // RFC 9135 §8.1

/** Thrown by the value decoders; attributes.ts turns it into the UPDATE error. */
export class CommunityLengthError extends Error {
  override readonly name = 'CommunityLengthError';
}

function checkLength(len: number, size: number, what: string): void {
  if (len === 0 || len % size !== 0)
    throw new CommunityLengthError(`${what} length ${len} is not a non-zero multiple of ${size}`);
}

/** Decodes COMMUNITIES in `buf[start, start+len)` as 32-bit numbers. Throws CommunityLengthError. */
export function decodeCommunities(buf: Uint8Array, start: number, len: number): number[] {
  checkLength(len, 4, 'COMMUNITIES');
  const out: number[] = [];
  for (let o = start; o < start + len; o += 4) out.push(readU32(buf, o));
  return out;
}

/** Encodes COMMUNITIES at `offset`; returns bytes written (4 each). */
export function encodeCommunities(list: number[], buf: Uint8Array, offset: number): number {
  list.forEach((c, i) => writeU32(buf, offset + 4 * i, c));
  return 4 * list.length;
}

/** Decodes EXTENDED_COMMUNITIES in `buf[start, start+len)`. Throws CommunityLengthError. Values are copies. */
export function decodeExtendedCommunities(buf: Uint8Array, start: number, len: number): ExtendedCommunity[] {
  checkLength(len, 8, 'EXTENDED_COMMUNITIES');
  const out: ExtendedCommunity[] = [];
  for (let o = start; o < start + len; o += 8) {
    out.push({ type: buf[o]!, subtype: buf[o + 1]!, value: copyBytes(buf, o + 2, o + 8) });
  }
  return out;
}

/** Encodes EXTENDED_COMMUNITIES at `offset`; returns bytes written. Throws RangeError if a value is not 6 bytes. */
export function encodeExtendedCommunities(list: ExtendedCommunity[], buf: Uint8Array, offset: number): number {
  list.forEach((c, i) => {
    if (c.value.length !== 6) throw new RangeError('extended community value must be 6 bytes');
    const o = offset + 8 * i;
    buf[o] = c.type;
    buf[o + 1] = c.subtype;
    buf.set(c.value, o + 2);
  });
  return 8 * list.length;
}

/** Decodes LARGE_COMMUNITY in `buf[start, start+len)`. Throws CommunityLengthError. */
export function decodeLargeCommunities(buf: Uint8Array, start: number, len: number): LargeCommunity[] {
  checkLength(len, 12, 'LARGE_COMMUNITY');
  const out: LargeCommunity[] = [];
  for (let o = start; o < start + len; o += 12) {
    out.push({ globalAdmin: readU32(buf, o), localData1: readU32(buf, o + 4), localData2: readU32(buf, o + 8) });
  }
  return out;
}

/** Encodes LARGE_COMMUNITY at `offset`; returns bytes written (12 each). */
export function encodeLargeCommunities(list: LargeCommunity[], buf: Uint8Array, offset: number): number {
  list.forEach((c, i) => {
    writeU32(buf, offset + 12 * i, c.globalAdmin);
    writeU32(buf, offset + 12 * i + 4, c.localData1);
    writeU32(buf, offset + 12 * i + 8, c.localData2);
  });
  return 12 * list.length;
}

/** Builds the EVPN Router's MAC extended community (RFC 9135 §8.1) from `aa:bb:cc:dd:ee:ff`. Throws TypeError. */
export function routerMacCommunity(mac: string): ExtendedCommunity {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new TypeError(`not a MAC: ${mac}`);
  return {
    type: EXT_COMMUNITY_TYPE_EVPN,
    subtype: EXT_COMMUNITY_SUBTYPE_ROUTER_MAC,
    value: Uint8Array.from(parts, (p) => parseInt(p, 16)),
  };
}

/** The MAC (`aa:bb:cc:dd:ee:ff`) of the first Router's MAC extended community in the list, or undefined. */
export function findRouterMac(list: readonly ExtendedCommunity[]): string | undefined {
  const c = list.find((x) => x.type === EXT_COMMUNITY_TYPE_EVPN && x.subtype === EXT_COMMUNITY_SUBTYPE_ROUTER_MAC);
  return c && Array.from(c.value, (b) => b.toString(16).padStart(2, '0')).join(':');
}
