// IPv4 headers field by field, and what IPv4 and IPv6 share (decode/ipv6.ts has IPv6 and its header chain).
// Whether a header is acceptable is decided by @weft/encap's decoders (decodeIpv4Header, ipv4ChecksumValid);
// inside a tunnel, the drop reason is the one the tunnel layer got from encap's decapsulate (ctx.innerVerdict), so
// explain and the dataplane agree.
import {
  DropReason,
  dropReasonName,
  IPV4_HEADER_LENGTH,
  IpProtocol,
  decodeIpv4Header,
  ipv4ChecksumValid,
  readU32,
} from '@weft/encap';
import { formatIpv4 } from '@weft/netaddr';
import type { LayerBuilder } from '../layer.ts';
import { beginLayer, depthLabel, weftDrops, type DecodeContext } from './context.ts';

const V4 = 'RFC 791 §3.1';

/** IANA protocol numbers a student meets here. */
export function protocolName(p: number): string {
  const names: Record<number, string> = {
    1: 'ICMP',
    2: 'IGMP',
    6: 'TCP',
    17: 'UDP',
    41: 'IPv6-in-IPv4',
    0: 'IPv6 hop-by-hop options',
    43: 'IPv6 routing header',
    44: 'IPv6 fragment header',
    47: 'GRE',
    50: 'ESP (encrypted: nothing after it can be read)',
    51: 'AH (authentication header)',
    58: 'ICMPv6',
    59: 'no next header',
    60: 'IPv6 destination options',
    89: 'OSPF',
    132: 'SCTP',
  };
  return names[p] ?? 'unassigned or unknown';
}

/** Names of common DSCP values (RFC 4594 §3). */
function dscpName(d: number): string {
  const names: Record<number, string> = {
    0: 'default forwarding',
    46: 'EF: expedited forwarding (voice)',
    48: 'CS6: network control (routing protocols such as BGP)',
    56: 'CS7: network control',
  };
  return names[d] ?? (d % 8 === 0 ? `class selector CS${d / 8}` : `differentiated services code point ${d}`);
}

/** Dispatches on the version nibble. */
export function decodeIpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const v = end > offset ? ctx.buf[offset]! >> 4 : 0;
  if (v === 6) ctx.decoders.ipv6(ctx, offset, end, depth);
  else decodeIpv4Layer(ctx, offset, end, depth);
}

/** What happens to a bad IP header: the kernel's verdict outside a tunnel, weft's (from encap) inside one. */
export function ipAction(ctx: DecodeContext, depth: number): { action: string; verdict?: string } {
  const r = ctx.innerVerdict;
  if (depth > 0 && r !== undefined && r !== DropReason.None)
    return { action: weftDrops(r), verdict: dropReasonName(r) };
  if (depth > 0)
    return {
      action: 'weft passes it on; the receiving kernel drops it when writing to the TUN device (IP header error)',
    };
  return { action: 'the receiving kernel drops it (counted in /proc/net/snmp Ip: InHdrErrors)' };
}

export function report(ctx: DecodeContext, b: LayerBuilder, depth: number, at: number, message: string): void {
  b.problem({ field: b.fieldAt(at), offset: at, message, ...ipAction(ctx, depth) });
}

function ipv4Fields(b: LayerBuilder, buf: Buffer, o: number): void {
  const hl = (buf[o]! & 0x0f) * 4;
  b.field(
    'ip.version/ihl',
    o,
    1,
    `${buf[o]! >> 4} / ${hl} bytes`,
    `IPv${buf[o]! >> 4}, header ${hl} bytes (IHL ${hl / 4} words of 4)`,
  );
  const tos = buf[o + 1]!;
  b.field(
    'ip.dsfield',
    o + 1,
    1,
    `DSCP ${tos >> 2}, ECN ${tos & 3}`,
    `${dscpName(tos >> 2)}; ECN ${['not ECN-capable', 'ECT(1)', 'ECT(0)', 'congestion experienced'][tos & 3]}`,
    'RFC 2474 §3, RFC 3168 §5',
  );
  b.field('ip.len', o + 2, 2, buf.readUInt16BE(o + 2), 'total length of the packet, header included');
  b.field(
    'ip.id',
    o + 4,
    2,
    `0x${buf
      .readUInt16BE(o + 4)
      .toString(16)
      .padStart(4, '0')}`,
    'identification: ties fragments of one datagram together',
  );
  const ff = buf.readUInt16BE(o + 6);
  const flags = [ff & 0x4000 ? 'DF' : '', ff & 0x2000 ? 'MF' : ''].filter(Boolean).join('+') || 'none';
  b.field(
    'ip.flags/frag_offset',
    o + 6,
    2,
    `${flags}, offset ${(ff & 0x1fff) * 8}`,
    `${ff & 0x4000 ? "don't fragment (path MTU discovery)" : 'may be fragmented'}; ${ff & 0x3fff ? 'a fragment' : 'not a fragment'}`,
  );
  b.field('ip.ttl', o + 8, 1, buf[o + 8]!, 'hops left: each router decrements it and drops the packet at 0');
  b.field(
    'ip.proto',
    o + 9,
    1,
    buf[o + 9]!,
    `payload: ${protocolName(buf[o + 9]!)}`,
    'RFC 791 §3.1, IANA protocol numbers',
  );
  b.field('ip.src', o + 12, 4, formatIpv4(readU32(buf, o + 12)), 'source address');
  b.field('ip.dst', o + 16, 4, formatIpv4(readU32(buf, o + 16)), 'destination address');
}

export function decodeIpv4Layer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'ip', `IPv4${depthLabel(depth)}`, depth, offset, V4);
  const buf = ctx.buf;
  if (end - offset >= IPV4_HEADER_LENGTH) ipv4Fields(b, buf, offset);
  let header;
  try {
    header = decodeIpv4Header(buf, offset, end - offset);
  } catch (e) {
    const err = e as Error & { offset?: number };
    if (end - offset < IPV4_HEADER_LENGTH)
      b.field('ip.bytes', offset, end - offset, end - offset, 'the packet stops inside the IPv4 header');
    report(ctx, b, depth, err.offset ?? offset, err.message);
    return;
  }
  const hl = (buf[offset]! & 0x0f) * 4;
  const valid = ipv4ChecksumValid(buf, offset);
  const sum = `0x${buf
    .readUInt16BE(offset + 10)
    .toString(16)
    .padStart(4, '0')}`;
  b.field(
    'ip.checksum',
    offset + 10,
    2,
    sum,
    valid ? 'header checksum: correct (RFC 1071 sum over the header is 0xffff)' : 'header checksum: WRONG',
    'RFC 791 §3.1, RFC 1071',
  );
  b.layer.fields.sort((x, y) => x.offset - y.offset);
  if (!valid) report(ctx, b, depth, offset + 10, 'IPv4 header checksum does not verify');
  if (hl > IPV4_HEADER_LENGTH)
    b.field(
      'ip.options',
      offset + IPV4_HEADER_LENGTH,
      hl - IPV4_HEADER_LENGTH,
      `${hl - IPV4_HEADER_LENGTH} bytes`,
      'options (rare; routers may slow-path them)',
    );
  ctx.ip = { src: formatIpv4(header.src), dst: formatIpv4(header.dst) };
  const payloadEnd = payloadWindow(ctx, b, depth, offset, header.totalLength, end);
  const next = offset + hl;
  if (header.fragmentOffset !== 0) ctx.decoders.data(ctx, next, payloadEnd, depth);
  else dispatchProtocol(ctx, header.protocol, next, payloadEnd, depth);
}

/** The end of the IP payload: the header's length when the bytes are there (the rest is link padding). */
export function payloadWindow(
  ctx: DecodeContext,
  b: LayerBuilder,
  depth: number,
  offset: number,
  ipLength: number,
  end: number,
): number {
  if (ctx.quoted) return end; // an ICMP error quotes only the header and 8 bytes (RFC 792)
  if (offset + ipLength > end) {
    report(
      ctx,
      b,
      depth,
      offset + (b.layer.name === 'ip' ? 2 : 4),
      `length field says ${ipLength} bytes, only ${end - offset} were received`,
    );
    return end;
  }
  if (offset + ipLength < end) {
    b.field(
      'padding',
      offset + ipLength,
      end - offset - ipLength,
      `${end - offset - ipLength} bytes`,
      'trailing bytes after the IP packet: Ethernet padding of a short frame, ignored',
      'IEEE 802.3 §3.2.8',
    );
  }
  return offset + ipLength;
}

export function dispatchProtocol(ctx: DecodeContext, proto: number, offset: number, end: number, depth: number): void {
  const d = ctx.decoders;
  if (ctx.quoted) {
    d.data(ctx, offset, end, depth);
    return;
  }
  if (proto === IpProtocol.Udp) d.udp(ctx, offset, end, depth);
  else if (proto === IpProtocol.Tcp) d.tcp(ctx, offset, end, depth);
  else if (proto === IpProtocol.Icmp) d.icmp(ctx, offset, end, depth);
  else if (proto === IpProtocol.Ipv6Icmp) d.icmpv6(ctx, offset, end, depth);
  else d.data(ctx, offset, end, depth);
}
