// IPv6 packets for the ICMPv6 tests, built with the package's own codecs, and a classic pcap writer (raw IP link
// type) so tshark can read them.
import { IpProtocol, encodeIpv6Header, ipv6UpperLayerChecksum } from '../src/index.ts';
import { parseIpv6 } from '../src/ipv6.ts';

export const POD_A = 'fd00:10:244:1::5';
export const POD_B = 'fd00:10:244:2::7';
/** The node's address on its flannel interface: the source of the errors. */
export const NODE = parseIpv6('fd00:10:244:1::');

/** An IPv6 packet from `src` to `dst` whose payload is `chain` (extension headers, if any) then `upper`. */
export function ipv6Packet(
  src: string,
  dst: string,
  nextHeader: number,
  upper: Buffer,
  chain: Buffer = Buffer.alloc(0),
): Buffer {
  const p = Buffer.alloc(40 + chain.length + upper.length);
  encodeIpv6Header(
    {
      trafficClass: 0,
      flowLabel: 0x12345,
      payloadLength: chain.length + upper.length,
      nextHeader,
      hopLimit: 64,
      src: parseIpv6(src),
      dst: parseIpv6(dst),
    },
    p,
    0,
  );
  chain.copy(p, 40);
  upper.copy(p, 40 + chain.length);
  return p;
}

/** A UDP datagram with a correct checksum (RFC 8200 section 8.1) from port 40000 to 53, in IPv6. */
export function udp6(src: string, dst: string, payload: Buffer, chain?: Buffer, chainNextHeader?: number): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(53, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  const p = ipv6Packet(src, dst, chainNextHeader ?? IpProtocol.Udp, u, chain);
  const at = p.length - u.length;
  p.writeUInt16BE(ipv6UpperLayerChecksum(p, 0, at, u.length, IpProtocol.Udp) || 0xffff, at + 6);
  return p;
}

/** An ICMPv6 message of `type`/`code` with `body` after the 4-byte header, checksum filled in. */
export function icmp6(src: string, dst: string, type: number, code: number, body: Buffer, chain?: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), body]);
  const p = ipv6Packet(src, dst, chain?.length ? chain[0]! : IpProtocol.Ipv6Icmp, m, chain?.subarray(1));
  const at = p.length - m.length;
  p.writeUInt16BE(ipv6UpperLayerChecksum(p, 0, at, m.length), at + 2);
  return p;
}

/** Classic pcap (microsecond), link type 101 (raw IP): one record per packet. */
export function rawPcap(packets: readonly Uint8Array[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const parts: Buffer[] = [head];
  packets.forEach((p, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    parts.push(rec, Buffer.from(p));
  });
  return Buffer.concat(parts);
}
