// UDP, TCP, ICMP and opaque data (ICMPv6 is decode/icmpv6.ts). UDP hands VXLAN and flannel-udp ports to the tunnel decoders; TCP hands
// the BGP port to the BGP decoder.
import { ICMP_HEADER_LENGTH, Icmpv4Type, UDP_HEADER_LENGTH, decodeUdpHeader, internetChecksum } from '@weft/encap';
import { beginLayer, depthLabel, type DecodeContext } from './context.ts';

const UDP_RFC = 'RFC 768';
const TCP_RFC = 'RFC 9293 §3.1';
const ICMP_RFC = 'RFC 792';
const TCP_MIN_HEADER = 20;

function portName(ctx: DecodeContext, port: number, proto: 'udp' | 'tcp'): string {
  if (proto === 'udp' && ctx.opts.vxlanPorts.includes(port))
    return port === 4789 ? 'VXLAN (IANA port)' : 'VXLAN (flannel/Linux port)';
  if (proto === 'udp' && ctx.opts.flannelUdpPorts.includes(port)) return 'flannel-udp';
  if (proto === 'tcp' && port === ctx.opts.bgpPort) return 'BGP';
  if (port >= 32768) return 'ephemeral (a client or hashed source port)';
  return { 22: 'SSH', 53: 'DNS', 80: 'HTTP', 443: 'HTTPS', 2379: 'etcd client' }[port] ?? 'no well-known service';
}

export function decodeUdpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'udp', `UDP${depthLabel(depth)}`, depth, offset, UDP_RFC);
  let h;
  try {
    h = decodeUdpHeader(ctx.buf, offset, end - offset);
  } catch (e) {
    b.field('udp.bytes', offset, end - offset, end - offset, 'the packet stops inside the UDP header');
    b.problem({
      offset,
      message: (e as Error).message,
      action: 'the receiving kernel drops it (Udp: InErrors)',
      verdict: 'too_short',
    });
    return;
  }
  b.field('udp.srcport', offset, 2, h.srcPort, `source port: ${portName(ctx, h.srcPort, 'udp')}`);
  b.field('udp.dstport', offset + 2, 2, h.dstPort, `destination port: ${portName(ctx, h.dstPort, 'udp')}`);
  b.field('udp.length', offset + 4, 2, h.length, 'header (8) plus payload, in bytes');
  b.field(
    'udp.checksum',
    offset + 6,
    2,
    `0x${h.checksum.toString(16).padStart(4, '0')}`,
    h.checksum !== 0
      ? 'checksum over a pseudo-header and the datagram (not verified here)'
      : ctx.ip?.src.includes(':')
        ? 'zero: no checksum; over IPv6 only tunnel endpoints that accept it take it (Linux udp6zerocsumrx), others drop it'
        : 'zero: no checksum (allowed over IPv4; the Linux vxlan driver sends 0 by default)',
    ctx.ip?.src.includes(':') ? 'RFC 8200 §8.1, RFC 6935 §5' : 'RFC 768, RFC 7348 §5',
  );
  let payloadEnd = offset + h.length;
  if (h.length < UDP_HEADER_LENGTH || payloadEnd > end) {
    b.problem({
      field: 'udp.length',
      offset: offset + 4,
      message: `UDP length ${h.length} does not fit the ${end - offset} bytes after the IP header`,
      action: 'the receiving kernel drops it (Udp: InErrors)',
    });
    payloadEnd = end;
  }
  const next = offset + UDP_HEADER_LENGTH;
  const isPort = (ports: readonly number[]) => ports.includes(h.dstPort) || ports.includes(h.srcPort);
  if (isPort(ctx.opts.vxlanPorts)) ctx.decoders.vxlan(ctx, next, payloadEnd, depth);
  else if (isPort(ctx.opts.flannelUdpPorts)) ctx.decoders['flannel-udp'](ctx, next, payloadEnd, depth);
  else ctx.decoders.data(ctx, next, payloadEnd, depth);
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

export function decodeTcpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'tcp', `TCP${depthLabel(depth)}`, depth, offset, TCP_RFC);
  const buf = ctx.buf;
  if (end - offset < TCP_MIN_HEADER) {
    b.field('tcp.bytes', offset, end - offset, end - offset, 'the packet stops inside the TCP header');
    b.problem({
      offset,
      message: `TCP header needs ${TCP_MIN_HEADER} bytes, ${end - offset} present`,
      action: 'the receiving kernel drops it (Tcp: InErrs)',
    });
    return;
  }
  const src = buf.readUInt16BE(offset);
  const dst = buf.readUInt16BE(offset + 2);
  const hl = (buf[offset + 12]! >> 4) * 4;
  const flagBits = buf[offset + 13]!;
  const flags = TCP_FLAGS.filter((_, i) => flagBits & (1 << i)).join(',') || 'none';
  b.field('tcp.srcport', offset, 2, src, `source port: ${portName(ctx, src, 'tcp')}`);
  b.field('tcp.dstport', offset + 2, 2, dst, `destination port: ${portName(ctx, dst, 'tcp')}`);
  b.field('tcp.seq_raw', offset + 4, 4, buf.readUInt32BE(offset + 4), 'sequence number of the first payload byte');
  b.field(
    'tcp.ack_raw',
    offset + 8,
    4,
    buf.readUInt32BE(offset + 8),
    flagBits & 0x10 ? 'next byte expected from the other side' : 'unused (ACK flag clear)',
  );
  b.field('tcp.hdr_len/flags', offset + 12, 2, `${hl} bytes / ${flags}`, `header ${hl} bytes; flags ${flags}`);
  b.field('tcp.window_size_value', offset + 14, 2, buf.readUInt16BE(offset + 14), 'receive window (before scaling)');
  b.field(
    'tcp.checksum',
    offset + 16,
    2,
    `0x${buf
      .readUInt16BE(offset + 16)
      .toString(16)
      .padStart(4, '0')}`,
    'checksum over a pseudo-header and the segment (not verified here)',
  );
  b.field('tcp.urgent_pointer', offset + 18, 2, buf.readUInt16BE(offset + 18), 'urgent pointer (only with URG)');
  if (hl < TCP_MIN_HEADER || offset + hl > end) {
    b.problem({
      field: 'tcp.hdr_len/flags',
      offset: offset + 12,
      message: `data offset says a ${hl}-byte header in a ${end - offset}-byte segment`,
      action: 'the receiving kernel drops it (Tcp: InErrs)',
    });
    return;
  }
  if (hl > TCP_MIN_HEADER)
    b.field(
      'tcp.options',
      offset + TCP_MIN_HEADER,
      hl - TCP_MIN_HEADER,
      `${hl - TCP_MIN_HEADER} bytes`,
      'options (MSS, window scale, SACK, timestamps)',
    );
  const next = offset + hl;
  const bgp = src === ctx.opts.bgpPort || dst === ctx.opts.bgpPort;
  ctx.tcpFlow = `${ctx.ip?.src}:${src}>${ctx.ip?.dst}:${dst}`;
  ctx.tcpSeq = buf.readUInt32BE(offset + 4);
  if (bgp && flagBits & 0x02) ctx.bgp.syn(ctx.tcpFlow, ctx.tcpSeq);
  if (next >= end) return;
  if (bgp) ctx.decoders.bgp(ctx, next, end, depth);
  else ctx.decoders.data(ctx, next, end, depth);
}

const ICMP_TYPES: Record<number, string> = {
  [Icmpv4Type.EchoReply]: 'echo reply (ping answer)',
  [Icmpv4Type.DestUnreachable]: 'destination unreachable',
  [Icmpv4Type.SourceQuench]: 'source quench (deprecated)',
  [Icmpv4Type.Redirect]: 'redirect',
  [Icmpv4Type.EchoRequest]: 'echo request (ping)',
  [Icmpv4Type.TimeExceeded]: 'time exceeded (TTL reached 0)',
  [Icmpv4Type.ParameterProblem]: 'parameter problem',
};
const UNREACH_CODES = [
  'net unreachable',
  'host unreachable',
  'protocol unreachable',
  'port unreachable',
  'fragmentation needed and DF set',
];

export function decodeIcmpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'icmp', `ICMP${depthLabel(depth)}`, depth, offset, ICMP_RFC);
  const buf = ctx.buf;
  if (end - offset < ICMP_HEADER_LENGTH) {
    b.field('icmp.bytes', offset, end - offset, end - offset, 'the packet stops inside the ICMP header');
    b.problem({
      offset,
      message: `ICMP header needs ${ICMP_HEADER_LENGTH} bytes, ${end - offset} present`,
      action: 'the receiving kernel drops it (Icmp: InErrors)',
    });
    return;
  }
  const type = buf[offset]!;
  const code = buf[offset + 1]!;
  b.field('icmp.type', offset, 1, type, ICMP_TYPES[type] ?? 'other ICMP type');
  b.field(
    'icmp.code',
    offset + 1,
    1,
    code,
    type === Icmpv4Type.DestUnreachable
      ? (UNREACH_CODES[code] ?? `code ${code}`)
      : code === 0
        ? 'no code for this type'
        : `code ${code}`,
    type === 3 && code === 4 ? 'RFC 1191 §4' : ICMP_RFC,
  );
  const ok = internetChecksum(buf, offset, end - offset) === 0;
  b.field(
    'icmp.checksum',
    offset + 2,
    2,
    `0x${buf
      .readUInt16BE(offset + 2)
      .toString(16)
      .padStart(4, '0')}`,
    ok ? 'checksum over the ICMP message: correct' : 'checksum over the ICMP message: WRONG',
    'RFC 792, RFC 1071',
  );
  if (!ok)
    b.problem({
      field: 'icmp.checksum',
      offset: offset + 2,
      message: 'ICMP checksum does not verify',
      action: 'the receiving kernel drops it (Icmp: InCsumErrors)',
    });
  if (type === Icmpv4Type.EchoRequest || type === Icmpv4Type.EchoReply) {
    b.field(
      'icmp.ident',
      offset + 4,
      2,
      buf.readUInt16BE(offset + 4),
      'identifier: matches replies to the pinging process',
    );
    b.field('icmp.seq', offset + 6, 2, buf.readUInt16BE(offset + 6), 'sequence number of this ping');
  } else if (type === Icmpv4Type.DestUnreachable && code === 4) {
    b.field(
      'icmp.mtu',
      offset + 6,
      2,
      buf.readUInt16BE(offset + 6),
      'next-hop MTU: the largest packet that fits (path MTU discovery)',
      'RFC 1191 §4',
    );
  } else {
    b.field(
      'icmp.rest',
      offset + 4,
      4,
      `0x${buf.readUInt32BE(offset + 4).toString(16)}`,
      'rest of header (unused for this type)',
    );
  }
  const body = offset + ICMP_HEADER_LENGTH;
  if (end > body && QUOTING_TYPES.has(type) && !ctx.quoted) decodeQuoted(ctx, body, end, depth);
  else if (end > body) ctx.decoders.data(ctx, body, end, depth);
}

const QUOTING_TYPES = new Set<number>([
  Icmpv4Type.DestUnreachable,
  Icmpv4Type.SourceQuench,
  Icmpv4Type.Redirect,
  Icmpv4Type.TimeExceeded,
  Icmpv4Type.ParameterProblem,
]);

/**
 * An ICMP error quotes the packet it is about: its IP header and first 8 bytes of data in ICMPv4 (RFC 792), as much
 * as fits in 1280 bytes in ICMPv6 (RFC 4443 §2.4 c). Shows them as such.
 */
export function decodeQuoted(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const first = ctx.packet.length;
  const saved = [ctx.ip, ctx.ipv6] as const;
  ctx.quoted = true;
  ctx.decoders.ip(ctx, offset, end, depth + 1);
  ctx.quoted = false;
  [ctx.ip, ctx.ipv6] = saved;
  for (const l of ctx.packet.slice(first)) {
    l.title = `${l.title.replace(/ \(inner.*\)$/, '')} (quoted: the packet this error is about)`;
    if (l.name === 'data')
      l.fields[0]!.meaning =
        `${l.fields[0]!.length === 8 ? 'the first 8 bytes of its payload' : 'its payload'}: enough for the sender to find the socket (ports) it came from`;
  }
}

/** Bytes no decoder claims: shown as hex and, when printable, as text. */
export function decodeDataLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  if (end <= offset) return;
  const b = beginLayer(ctx, 'data', `Data${depthLabel(depth)}`, depth, offset, '-');
  const bytes = ctx.buf.subarray(offset, end);
  const text = bytes.every((c) => c >= 0x20 && c < 0x7f) ? ` "${bytes.toString('latin1')}"` : '';
  b.field('data', offset, end - offset, `${end - offset} bytes${text}`, 'payload no decoder here interprets');
}
