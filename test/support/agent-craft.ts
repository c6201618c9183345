// Hand-built packets for the hostile-traffic test: inner IPv4/IPv6 + UDP, IPv4 + TCP, Ethernet, the VXLAN header, and a
// seeded generator of random datagrams. Written here from the RFCs (791, 768, 793, 7348), independently of
// @weft/encap, so a bug there cannot hide in both the sender and the receiver.

/** Dotted quad to 4 bytes. */
function ip4Bytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)))
    throw new RangeError(`not an IPv4 address: ${ip}`);
  return parts;
}

function macBytes(mac: string): number[] {
  const parts = mac.split(':').map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) throw new RangeError(`not a MAC address: ${mac}`);
  return parts;
}

/** RFC 1071 checksum over `buf`. */
function inetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4UdpOptions {
  src: string;
  dst: string;
  srcPort?: number;
  dstPort: number;
  payload: Buffer;
  ttl?: number;
  /** Overrides the IPv4 total length field (a lie, for length checks). */
  totalLength?: number;
  /** Overrides the IHL nibble (a lie, for header checks). */
  ihl?: number;
}

/** An IPv4 packet carrying one UDP datagram (UDP checksum 0 = none, as RFC 768 allows for IPv4). */
export function ipv4Udp(o: Ipv4UdpOptions): Buffer {
  const udpLen = 8 + o.payload.length;
  const p = Buffer.alloc(20 + udpLen);
  p[0] = 0x40 | (o.ihl ?? 5);
  p.writeUInt16BE(o.totalLength ?? p.length, 2);
  p.writeUInt16BE(0x4000, 6); // DF
  p[8] = o.ttl ?? 64;
  p[9] = 17;
  p.set(ip4Bytes(o.src), 12);
  p.set(ip4Bytes(o.dst), 16);
  p.writeUInt16BE(inetChecksum(p.subarray(0, 20)), 10);
  p.writeUInt16BE(o.srcPort ?? 5555, 20);
  p.writeUInt16BE(o.dstPort, 22);
  p.writeUInt16BE(udpLen, 24);
  o.payload.copy(p, 28);
  return p;
}

export interface Ipv4TcpOptions {
  src: string;
  dst: string;
  dstPort: number;
  payload: Buffer;
  /** 'valid': a complete, correct checksum; 'wrong': complete but off by one; 'partial': the pseudo-header sum only. */
  checksum: 'valid' | 'wrong' | 'partial';
  /** Overrides the data offset nibble (a lie, for header checks). */
  dataOffset?: number;
}

/** An IPv4 packet carrying one TCP segment (ACK|PSH), checksummed as `o.checksum` says (RFC 793 section 3.1). */
export function ipv4Tcp(o: Ipv4TcpOptions): Buffer {
  const p = Buffer.alloc(40 + o.payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(0x4000, 6); // DF
  p[8] = 64;
  p[9] = 6;
  p.set(ip4Bytes(o.src), 12);
  p.set(ip4Bytes(o.dst), 16);
  p.writeUInt16BE(inetChecksum(p.subarray(0, 20)), 10);
  p.writeUInt16BE(5556, 20);
  p.writeUInt16BE(o.dstPort, 22);
  p.writeUInt32BE(1, 24);
  p.writeUInt32BE(1, 28);
  p[32] = (o.dataOffset ?? 5) << 4;
  p[33] = 0x18;
  p.writeUInt16BE(512, 34);
  o.payload.copy(p, 40);
  const pseudo = Buffer.concat([
    p.subarray(12, 20),
    Buffer.from([0, 6]),
    Buffer.from([(p.length - 20) >> 8, (p.length - 20) & 0xff]),
  ]);
  const pseudoSum = ~inetChecksum(pseudo) & 0xffff; // folded, not complemented: what a partial field holds
  const full = inetChecksum(Buffer.concat([pseudo, p.subarray(20)]));
  p.writeUInt16BE(o.checksum === 'partial' ? pseudoSum : o.checksum === 'wrong' ? (full + 1) & 0xffff : full, 36);
  return p;
}

/** A minimal IPv6 packet (UDP, checksum left 0: it must never get as far as a socket). */
export function ipv6Udp(payload: Buffer): Buffer {
  const p = Buffer.alloc(40 + 8 + payload.length);
  p[0] = 0x60;
  p.writeUInt16BE(8 + payload.length, 4);
  p[6] = 17;
  p[7] = 64;
  p[8] = 0xfd; // fd00::1 -> fd00::2
  p[23] = 1;
  p[24] = 0xfd;
  p[39] = 2;
  p.writeUInt16BE(8 + payload.length, 44);
  payload.copy(p, 48);
  return p;
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/** An Ethernet II frame without FCS. */
export function ethernet(dst: string, src: string, etherType: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(14 + payload.length);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  f.writeUInt16BE(etherType, 12);
  payload.copy(f, 14);
  return f;
}

/** The VXLAN header (RFC 7348: flags, 24 reserved bits, 24-bit VNI, 8 reserved bits) followed by `frame`. */
export function vxlan(vni: number, frame: Buffer, flags = 0x08): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h.writeUIntBE(vni & 0xffffff, 4, 3);
  return Buffer.concat([h, frame]);
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with the same bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random datagrams of 0..maxLength bytes from `seed`. */
export function randomDatagrams(seed: number, count: number, maxLength: number): Buffer[] {
  const next = prng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(Math.floor(next() * (maxLength + 1)));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(next() * 256);
    out.push(b);
  }
  return out;
}
