// IPv6 test packets for the fake-network tests of the overlay: an IPv6/UDP packet and its VXLAN frame as a
// flannel-v6 VTEP would send it. Built here once so every IPv6 fake test means the same bytes.
import { encodeIpv6Header, parseMac } from '@weft/encap';
import { parseIpv6, writeIpv6Bytes } from '@weft/netaddr';

/** The VXLAN header with the I flag set and VNI 1. */
export const VXLAN_VNI1 = Buffer.from('0800000000000100', 'hex');

const ipv6Bytes = (a: string): Buffer => {
  const out = Buffer.alloc(16);
  writeIpv6Bytes(parseIpv6(a), out, 0);
  return out;
};

/**
 * An IPv6/UDP packet, ports 1000 -> 2000, UDP checksum left 0 (the dataplane never reads it). `payload` is text, or
 * a length of 'a' bytes; `ext` goes between the IPv6 and UDP headers as one destination-options header (type 60).
 */
export function ipv6(src: string, dst: string, hop: number, payload: string | number, ext?: Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.alloc(payload, 0x61);
  const e = ext ?? Buffer.alloc(0);
  const b = Buffer.alloc(48 + e.length + body.length);
  encodeIpv6Header(
    {
      trafficClass: 0,
      flowLabel: 0x12345,
      payloadLength: e.length + 8 + body.length,
      nextHeader: e.length ? 60 : 17,
      hopLimit: hop,
      src: ipv6Bytes(src),
      dst: ipv6Bytes(dst),
    },
    b,
    0,
  );
  b.set(e, 40);
  b.writeUInt16BE(1000, 40 + e.length);
  b.writeUInt16BE(2000, 42 + e.length);
  b.writeUInt16BE(8 + body.length, 44 + e.length);
  b.set(body, 48 + e.length);
  return b;
}

/** `inner` in a VXLAN frame (header `head`, inner Ethernet srcMac -> dstMac, ethertype IPv6). */
export const vxlan6 = (dstMac: string, srcMac: string, inner: Uint8Array, head: Uint8Array = VXLAN_VNI1): Buffer =>
  Buffer.concat([head, parseMac(dstMac), parseMac(srcMac), Buffer.from('86dd', 'hex'), inner]);
