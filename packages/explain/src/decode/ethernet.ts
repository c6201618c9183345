// Ethernet II and ARP, field by field. Validation verdicts come from @weft/encap's decoders.
import { ARP_LENGTH, ArpOp, ETHERNET_HEADER_LENGTH, EtherType, decodeArp, formatMac, readU32 } from '@weft/encap';
import { formatIpv4 } from '@weft/netaddr';
import { beginLayer, depthLabel, type DecodeContext } from './context.ts';

const ETH_RFC = 'IEEE 802.3 §3.2.6';
const ARP_RFC = 'RFC 826';

function macMeaning(buf: Uint8Array, off: number): string {
  if (buf[off] === 0xff && formatMac(buf, off) === 'ff:ff:ff:ff:ff:ff')
    return 'broadcast: every station on the segment';
  const kind = buf[off]! & 1 ? 'multicast (group bit set)' : 'unicast';
  const local =
    buf[off]! & 2 ? 'locally administered (assigned by software: VTEPs, veths, VMs)' : 'globally unique (vendor OUI)';
  return `${kind}, ${local}`;
}

/** Names of the EtherTypes a student meets here. */
export function etherTypeName(t: number): string {
  return t === EtherType.Ipv4
    ? 'IPv4'
    : t === EtherType.Ipv6
      ? 'IPv6'
      : t === EtherType.Arp
        ? 'ARP'
        : t === 0x8100
          ? '802.1Q VLAN tag'
          : t < 0x0600
            ? 'an 802.3 length, not a type'
            : 'unknown';
}

export function decodeEthernetLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'eth', `Ethernet II${depthLabel(depth)}`, depth, offset, ETH_RFC);
  const buf = ctx.buf;
  if (end - offset < ETHERNET_HEADER_LENGTH) {
    b.field('eth.bytes', offset, end - offset, end - offset, 'the frame stops inside the Ethernet header');
    b.problem({
      offset: end,
      message: `Ethernet header needs ${ETHERNET_HEADER_LENGTH} bytes, ${end - offset} present`,
      action: depth
        ? 'weft drops the packet and counts it: weft_dropped_packets_total{reason="too_short"}'
        : 'a NIC discards runt frames',
      verdict: 'too_short',
    });
    return;
  }
  b.field('eth.dst', offset, 6, formatMac(buf, offset), `destination: ${macMeaning(buf, offset)}`);
  b.field('eth.src', offset + 6, 6, formatMac(buf, offset + 6), `source: ${macMeaning(buf, offset + 6)}`);
  const type = buf.readUInt16BE(offset + 12);
  b.field(
    'eth.type',
    offset + 12,
    2,
    `0x${type.toString(16).padStart(4, '0')}`,
    `EtherType: ${etherTypeName(type)} follows`,
    'IEEE 802.3 §3.2.6, IANA IEEE 802 Numbers',
  );
  const next = offset + ETHERNET_HEADER_LENGTH;
  if (type === EtherType.Ipv4 || type === EtherType.Ipv6) ctx.decoders.ip(ctx, next, end, depth);
  else if (type === EtherType.Arp) ctx.decoders.arp(ctx, next, end, depth);
  else ctx.decoders.data(ctx, next, end, depth);
}

const ARP_OPS: Record<number, string> = {
  [ArpOp.Request]: 'request: who has the target IP?',
  [ArpOp.Reply]: 'reply: the sender IP is at the sender MAC',
};

export function decodeArpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'arp', `ARP${depthLabel(depth)}`, depth, offset, ARP_RFC);
  const buf = ctx.buf;
  const have = end - offset;
  const u16 = (o: number) => (have >= o + 2 ? buf.readUInt16BE(offset + o) : 0);
  if (have >= 8) {
    b.field('arp.hw.type', offset, 2, u16(0), u16(0) === 1 ? 'hardware: Ethernet' : 'hardware: not Ethernet');
    b.field(
      'arp.proto.type',
      offset + 2,
      2,
      `0x${u16(2).toString(16)}`,
      u16(2) === EtherType.Ipv4 ? 'protocol: IPv4' : 'protocol: not IPv4',
    );
    b.field('arp.hw.size', offset + 4, 1, buf[offset + 4]!, 'bytes in a hardware address (6 for a MAC)');
    b.field('arp.proto.size', offset + 5, 1, buf[offset + 5]!, 'bytes in a protocol address (4 for IPv4)');
    b.field('arp.opcode', offset + 6, 2, u16(6), ARP_OPS[u16(6)] ?? 'unknown operation');
  }
  if (have >= ARP_LENGTH) {
    b.field('arp.src.hw_mac', offset + 8, 6, formatMac(buf, offset + 8), 'sender MAC');
    b.field('arp.src.proto_ipv4', offset + 14, 4, formatIpv4(readU32(buf, offset + 14)), 'sender IPv4');
    b.field('arp.dst.hw_mac', offset + 18, 6, formatMac(buf, offset + 18), 'target MAC (zero in a request)');
    b.field('arp.dst.proto_ipv4', offset + 24, 4, formatIpv4(readU32(buf, offset + 24)), 'target IPv4');
  }
  try {
    decodeArp(buf, offset, have);
  } catch (e) {
    const err = e as Error & { offset?: number };
    const at = err.offset ?? offset;
    b.problem({
      field: b.fieldAt(at),
      offset: at,
      message: err.message,
      action: depth
        ? 'weft ignores the frame (only Ethernet/IPv4 requests for its VTEP address are answered)'
        : 'a host ignores it',
      verdict: err.name,
    });
  }
}
