// The explainer: bytes in, annotated layers out. Pure (no I/O); one Explainer per capture, because BGP messages
// may span TCP segments and a per-flow stream buffer has to live from one packet to the next.
import {
  DEFAULT_OPTIONS,
  type DecodeContext,
  type Decoder,
  type DecoderName,
  type ExplainOptions,
  type ResolvedOptions,
  type StartLayer,
} from './decode/context.ts';
import { decodeArpLayer, decodeEthernetLayer } from './decode/ethernet.ts';
import { decodeIpLayer, decodeIpv4Layer } from './decode/ip.ts';
import { decodeIpv6Layer } from './decode/ipv6.ts';
import { decodeIcmpv6Layer } from './decode/icmpv6.ts';
import { decodeDataLayer, decodeIcmpLayer, decodeTcpLayer, decodeUdpLayer } from './decode/transport.ts';
import { decodeFlannelUdpLayer, decodeVxlanLayer } from './decode/tunnel.ts';
import { BgpStreams, decodeBgpLayer } from './decode/bgp.ts';
import { LayerBuilder } from './layer.ts';
import type { ExplainedPacket } from './model.ts';

/** Link types of pcap/pcapng files (tcpdump.org "LINK-LAYER HEADER TYPES") the explainer starts from. */
export enum LinkType {
  Ethernet = 1,
  Raw = 101,
  LinuxSll = 113,
  Ipv4 = 228,
  Ipv6 = 229,
  LinuxSll2 = 276,
}

/** What a capture file says about a packet; all optional (hex input has none of it). */
export interface FrameMeta {
  /** 1-based packet number. */
  number?: number;
  linkType?: number;
  /** Seconds since the epoch, with fraction. */
  timestamp?: number;
  /** Bytes on the wire (the capture may hold fewer). */
  originalLength?: number;
  interfaceId?: number;
  interfaceName?: string;
  /** pcapng epb_flags direction: 'inbound' | 'outbound'. */
  direction?: string;
}

const DECODERS: Record<DecoderName, Decoder> = {
  eth: decodeEthernetLayer,
  arp: decodeArpLayer,
  ip: decodeIpLayer,
  ipv4: decodeIpv4Layer,
  ipv6: decodeIpv6Layer,
  udp: decodeUdpLayer,
  tcp: decodeTcpLayer,
  icmp: decodeIcmpLayer,
  icmpv6: decodeIcmpv6Layer,
  vxlan: decodeVxlanLayer,
  'flannel-udp': decodeFlannelUdpLayer,
  bgp: decodeBgpLayer,
  data: decodeDataLayer,
};

/** True when `buf` is plausibly a bare IP packet: version 4 with a sane IHL and total length, or 6 with its length. */
export function looksLikeIp(buf: Uint8Array): boolean {
  if (buf.length < 20) return false;
  const v = buf[0]! >> 4;
  if (v === 4) {
    const total = (buf[2]! << 8) | buf[3]!;
    return (buf[0]! & 0x0f) >= 5 && total >= 20 && Math.abs(buf.length - total) < 64;
  }
  return v === 6 && buf.length >= 40 && 40 + ((buf[4]! << 8) | buf[5]!) === buf.length;
}

export class Explainer {
  private readonly opts: ResolvedOptions;
  private readonly streams = new BgpStreams();
  private count = 0;

  constructor(opts: ExplainOptions = {}) {
    this.opts = { ...DEFAULT_OPTIONS, ...opts };
  }

  /** Explains one packet. `bytes` is not retained or modified. Never throws for malformed input: problems are layers' `problems`. */
  explain(bytes: Uint8Array, meta: FrameMeta = {}): ExplainedPacket {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const packet: ExplainedPacket = [];
    const ctx: DecodeContext = { buf, packet, opts: this.opts, decoders: DECODERS, bgp: this.streams };
    const number = meta.number ?? ++this.count;
    const start = this.startOf(buf, meta.linkType);
    frameLayer(ctx, number, meta, start);
    if (start === 'sll' || start === 'sll2') linuxCooked(ctx, start);
    else if (start === 'bgp') DECODERS.bgp(ctx, 0, buf.length, 0);
    else DECODERS[start](ctx, 0, buf.length, 0);
    labelOuter(packet);
    return packet;
  }

  private startOf(buf: Buffer, linkType?: number): DecoderName | 'sll' | 'sll2' {
    if (linkType !== undefined) {
      if (linkType === LinkType.Raw || linkType === LinkType.Ipv4 || linkType === LinkType.Ipv6) return 'ip';
      if (linkType === LinkType.LinuxSll) return 'sll';
      if (linkType === LinkType.LinuxSll2) return 'sll2';
      return linkType === LinkType.Ethernet ? 'eth' : 'data';
    }
    const s: StartLayer = this.opts.start;
    if (s === 'auto') return looksLikeIp(buf) ? 'ip' : 'eth';
    // A UDP socket's payload: flannel-udp carries a bare IP packet, VXLAN starts with its flags octet (0x08).
    if (s === 'udp-payload') return looksLikeIp(buf) ? 'flannel-udp' : 'vxlan';
    return s;
  }
}

/** In an encapsulated packet, the headers before the tunnel are the outer ones: say so in their headings. */
function labelOuter(packet: ExplainedPacket): void {
  if (!packet.some((l) => l.name === 'vxlan' || l.name === 'flannel-udp')) return;
  for (const l of packet)
    if (l.depth === 0 && (['eth', 'ip', 'udp'].includes(l.name) || l.name.startsWith('ipv6'))) l.title += ' (outer)';
}

function frameLayer(ctx: DecodeContext, number: number, meta: FrameMeta, start: string): void {
  const b = new LayerBuilder(ctx.buf, 'frame', `Packet ${number}`, 0, 0, '-');
  ctx.packet.push(b.layer);
  b.field('frame.number', 0, 0, number, 'position in the input');
  b.field(
    'frame.len',
    0,
    0,
    meta.originalLength ?? ctx.buf.length,
    `bytes on the wire${meta.originalLength && meta.originalLength > ctx.buf.length ? `, ${ctx.buf.length} captured` : ''}`,
  );
  if (meta.timestamp !== undefined)
    b.field('frame.time_epoch', 0, 0, meta.timestamp, new Date(meta.timestamp * 1000).toISOString());
  if (meta.interfaceId !== undefined)
    b.field(
      'frame.interface_id',
      0,
      0,
      meta.interfaceId,
      `capture interface ${meta.interfaceId}${meta.interfaceName ? ` "${meta.interfaceName}"` : ''}${meta.direction ? `, ${meta.direction}` : ''}`,
    );
  b.field(
    'frame.start',
    0,
    0,
    start,
    meta.linkType !== undefined ? `link type ${meta.linkType}` : 'where decoding of these bytes starts',
  );
  b.layer.length = ctx.buf.length;
}

/** Linux "cooked" headers of `tcpdump -i any` (SLL 16 bytes, SLL2 20): only the protocol type matters here. */
function linuxCooked(ctx: DecodeContext, kind: 'sll' | 'sll2'): void {
  const len = kind === 'sll' ? 16 : 20;
  const b = new LayerBuilder(ctx.buf, 'sll', 'Linux cooked capture', 0, 0, 'tcpdump.org LINKTYPE_LINUX_SLL');
  ctx.packet.push(b.layer);
  if (ctx.buf.length < len) return;
  const proto = ctx.buf.readUInt16BE(kind === 'sll' ? 14 : 0);
  b.field(
    'sll.etype',
    kind === 'sll' ? 14 : 0,
    2,
    `0x${proto.toString(16).padStart(4, '0')}`,
    'protocol of the packet that follows',
  );
  if (proto === 0x0800 || proto === 0x86dd) DECODERS.ip(ctx, len, ctx.buf.length, 0);
  else DECODERS.data(ctx, len, ctx.buf.length, 0);
}

/** One-shot convenience: explains each packet with a fresh Explainer (BGP streams are followed across them). */
export function explainPackets(packets: readonly Uint8Array[], opts: ExplainOptions = {}): ExplainedPacket[] {
  const ex = new Explainer(opts);
  return packets.map((p) => ex.explain(p));
}
