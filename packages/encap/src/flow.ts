// The outer UDP source port of a VXLAN packet: RFC 7348 section 5 recommends a hash of the inner packet's
// fields, in the dynamic port range 49152-65535 (RFC 6335), so that routers spreading traffic over equal-cost
// paths keep one flow on one path while different flows spread out. The Linux driver does the same with its own
// seeded hash (so its ports cannot be reproduced; they need not be).
//
// The hash is MurmurHash3's 32-bit mixing over the 5-tuple: addresses, protocol, and the port pair when the
// transport header is there (TCP, UDP, SCTP, not a non-first fragment). No allocation.
import { IpProtocol, readU32 } from './ipv4.ts';

export const VXLAN_SOURCE_PORT_MIN = 49152;
export const VXLAN_SOURCE_PORT_MAX = 65535;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const hasPorts = (proto: number): boolean =>
  proto === IpProtocol.Tcp || proto === IpProtocol.Udp || proto === IpProtocol.Sctp;

/**
 * A 32-bit hash of the flow of the IP packet at `[offset, offset + length)`, `seed` mixed in. Packets too short
 * to carry addresses hash from their version alone. Reads only inside the window.
 */
export function flowHash(buf: Uint8Array, offset: number, length: number, seed = 0): number {
  const v = length > 0 ? buf[offset]! >> 4 : 0;
  let h = mix(seed, v);
  if (v === 4 && length >= 20) {
    const proto = buf[offset + 9]!;
    h = mix(mix(mix(h, readU32(buf, offset + 12)), readU32(buf, offset + 16)), proto);
    const hl = (buf[offset]! & 0x0f) << 2;
    const firstFragment = (((buf[offset + 6]! & 0x1f) << 8) | buf[offset + 7]!) === 0;
    if (hasPorts(proto) && firstFragment && hl >= 20 && length >= hl + 4) h = mix(h, readU32(buf, offset + hl));
  } else if (v === 6 && length >= 40) {
    for (let i = 8; i < 40; i += 4) h = mix(h, readU32(buf, offset + i));
    const next = buf[offset + 6]!;
    h = mix(h, next);
    if (hasPorts(next) && length >= 44) h = mix(h, readU32(buf, offset + 40));
    else h = mix(h, readU32(buf, offset) & 0xfffff); // no ports: the flow label stands in (RFC 6437)
  }
  return finish(h);
}

/** The UDP source port for a VXLAN packet carrying the IP packet at `[offset, offset + length)`: 49152..65535. */
export function vxlanSourcePort(buf: Uint8Array, offset: number, length: number, seed = 0): number {
  return VXLAN_SOURCE_PORT_MIN | (flowHash(buf, offset, length, seed) & 0x3fff);
}
