// Shared state of one packet's decoding: the buffer, the layers so far, the options, and the dispatch table that
// lets each decoder hand its payload to the next without importing it (no import cycles between layers).
import { DropReason, dropReasonName } from '@weft/encap';
import { LayerBuilder } from '../layer.ts';
import type { ExplainedPacket } from '../model.ts';

/** Where a hex packet starts. 'auto' is Ethernet unless the bytes look like an IP packet. */
export type StartLayer = 'auto' | 'eth' | 'ip' | 'udp-payload' | 'vxlan' | 'flannel-udp' | 'bgp';

export interface ExplainOptions {
  /** Where decoding starts (hex input; capture files say it with their link type). Default 'auto'. */
  start?: StartLayer;
  /** The receiver's VNI, to judge "wrong VNI" drops. Default 1 (flannel's). */
  vni?: number;
  /** UDP ports decoded as VXLAN. Default 8472 (flannel, Linux) and 4789 (IANA). */
  vxlanPorts?: readonly number[];
  /** UDP ports decoded as flannel-udp. Default 8285. */
  flannelUdpPorts?: readonly number[];
  /** TCP port decoded as BGP. Default 179. */
  bgpPort?: number;
}

export type ResolvedOptions = Required<ExplainOptions>;

export const DEFAULT_OPTIONS: ResolvedOptions = {
  start: 'auto',
  vni: 1,
  vxlanPorts: [8472, 4789],
  flannelUdpPorts: [8285],
  bgpPort: 179,
};

/** A decoder explains the bytes `[offset, end)` of `ctx.buf` as one protocol and hands the rest on. */
export type Decoder = (ctx: DecodeContext, offset: number, end: number, depth: number) => void;

/** Names of the decoders in the dispatch table. */
export type DecoderName =
  | 'eth'
  | 'arp'
  | 'ip'
  | 'ipv4'
  | 'ipv6'
  | 'udp'
  | 'tcp'
  | 'icmp'
  | 'icmpv6'
  | 'vxlan'
  | 'flannel-udp'
  | 'bgp'
  | 'data';

/** Source and destination of the innermost IP header seen so far (for TCP flows and labels). */
export interface IpEndpoints {
  src: string;
  dst: string;
}

/** The BGP stream state as the context sees it (decode/bgp.ts implements it). */
export interface BgpStreamsLike {
  /** A SYN opened `flow`: its byte stream starts at `seq + 1`, at a message boundary. */
  syn(flow: string, seq: number): void;
}

export interface DecodeContext {
  buf: Buffer;
  packet: ExplainedPacket;
  opts: ResolvedOptions;
  decoders: Record<DecoderName, Decoder>;
  ip?: IpEndpoints;
  /**
   * The innermost IPv6 header, for the ICMPv6 checksum's pseudo-header: its offset, and where the final destination
   * is (undefined when a Routing header still has segments left: then it is inside that header).
   */
  ipv6?: { offset: number; dstOffset?: number };
  /** Decoding the IP header an ICMP error quotes: only its header and first 8 bytes are there. */
  quoted?: boolean;
  /** The verdict of the innermost tunnel layer, from encap's decapsulate (None when weft would accept it). */
  innerVerdict?: DropReason;
  /** "src:port>dst:port" of the TCP segment being decoded (the key of its BGP stream). */
  tcpFlow?: string;
  /** Sequence number of that segment's first payload byte. */
  tcpSeq?: number;
  /** Per-TCP-flow BGP framers (messages may span segments); owned by the Explainer. */
  bgp: BgpStreamsLike;
}

/** Starts a layer and records it in the packet. */
export function beginLayer(
  ctx: DecodeContext,
  name: string,
  title: string,
  depth: number,
  offset: number,
  rfc: string,
): LayerBuilder {
  const b = new LayerBuilder(ctx.buf, name, title, depth, offset, rfc);
  ctx.packet.push(b.layer);
  return b;
}

/** Text for a problem's action when weft's dataplane would drop the packet with `reason`. */
export function weftDrops(reason: DropReason): string {
  const name = dropReasonName(reason);
  return `weft drops the packet and counts it: weft_dropped_packets_total{reason="${name}"}`;
}

/** "(outer)" / "(inner)" suffix for headings. */
export function depthLabel(depth: number): string {
  return depth === 0 ? '' : depth === 1 ? ' (inner)' : ` (inner, level ${depth})`;
}

/** A heading's range note, for titles of truncated layers. */
export function truncatedBy(need: number, have: number): string {
  return `needs ${need} bytes, ${Math.max(0, have)} present`;
}
