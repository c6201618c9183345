// VXLAN and flannel-udp. The verdict (would weft accept this datagram, and if not, which drop reason) comes from
// @weft/encap's decapsulateVxlan / decapsulateFlannelUdp run on a copy of the bytes, so explain and the
// dataplane can never disagree; this file only adds the field-level view and points the verdict at a field.
import {
  DropReason,
  PacketSpan,
  VXLAN_FLAG_G,
  VXLAN_FLAG_I,
  VXLAN_HEADER_LENGTH,
  decapsulateFlannelUdp,
  decapsulateVxlan,
  decodeVxlanHeader,
  dropReasonName,
} from '@weft/encap';
import type { LayerBuilder } from '../layer.ts';
import { beginLayer, weftDrops, type DecodeContext } from './context.ts';

const RFC = 'RFC 7348 §5';
const RFC_GBP = 'draft-smith-vxlan-group-policy §2.1';

/** Byte offset (relative to the VXLAN header) each VXLAN drop reason is about, and a sentence on why. */
const VXLAN_DROPS: Partial<Record<DropReason, [number, string]>> = {
  [DropReason.TooShort]: [0, 'shorter than the 8-byte VXLAN header plus a 14-byte inner Ethernet header'],
  [DropReason.BadFlags]: [0, 'the I flag (0x08) is clear, so the VNI is not valid (RFC 7348 §5)'],
  [DropReason.WrongVni]: [4, "the VNI is not the receiver's"],
  [DropReason.NotIp]: [20, 'the inner EtherType is not IPv4 or IPv6 (ARP is answered separately, never forwarded)'],
  [DropReason.BadIpHeader]: [22, 'the inner IP header contradicts itself or its EtherType'],
  [DropReason.LengthMismatch]: [24, 'the inner IP length says more bytes than the datagram carries'],
};

function flagsMeaning(f: number): string {
  const parts = [f & VXLAN_FLAG_I ? 'I set: the VNI is valid' : 'I CLEAR: the VNI is not valid'];
  if (f & VXLAN_FLAG_G) parts.push('G set: group policy extension');
  if (f & ~(VXLAN_FLAG_I | VXLAN_FLAG_G)) parts.push('reserved bits set (ignored on receipt)');
  return parts.join('; ');
}

function vxlanFields(ctx: DecodeContext, b: LayerBuilder, o: number): void {
  const buf = ctx.buf;
  const f = buf[o]!;
  b.field('vxlan.flags', o, 1, `0x${f.toString(16).padStart(2, '0')}`, flagsMeaning(f));
  if (f & VXLAN_FLAG_G) groupPolicyFields(b, buf, o);
  else
    b.field(
      'vxlan.reserved',
      o + 1,
      3,
      `0x${buf
        .readUIntBE(o + 1, 3)
        .toString(16)
        .padStart(6, '0')}`,
      'reserved: sent as 0, ignored on receipt',
    );
  const vni = buf.readUIntBE(o + 4, 3);
  b.field(
    'vxlan.vni',
    o + 4,
    3,
    vni,
    `VXLAN network identifier: the overlay segment${vni === ctx.opts.vni ? ` (the receiver's, ${ctx.opts.vni})` : ` (the receiver expects ${ctx.opts.vni})`}`,
  );
  b.field('vxlan.reserved2', o + 7, 1, buf[o + 7]!, 'reserved: sent as 0, ignored on receipt');
}

/**
 * The Group Based Policy extension: G set, then D (0x40) and A (0x08) in the next byte and the 16-bit group policy
 * ID. Read here bit by bit, as encap's decodeVxlanHeader refuses a header whose I flag is clear.
 */
function groupPolicyFields(b: LayerBuilder, buf: Buffer, o: number): void {
  const h = { dontLearn: (buf[o + 1]! & 0x40) !== 0, policyApplied: (buf[o + 1]! & 0x08) !== 0 };
  b.field('vxlan.flag_g', o, 1, true, 'G: a group policy ID is present', RFC_GBP);
  b.field(
    'vxlan.flag_d',
    o + 1,
    1,
    h.dontLearn,
    h.dontLearn ? "D: don't learn the inner source MAC from this packet" : 'D clear: the receiver may learn',
    RFC_GBP,
  );
  b.field(
    'vxlan.flag_a',
    o + 1,
    1,
    h.policyApplied,
    h.policyApplied ? 'A: policy was already applied upstream' : 'A clear: policy not applied yet',
    RFC_GBP,
  );
  b.field(
    'vxlan.gbp',
    o + 2,
    2,
    buf.readUInt16BE(o + 2),
    'group policy ID: the source endpoint group, for policy at the receiver (weft ignores it)',
    RFC_GBP,
  );
}

export function decodeVxlanLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'vxlan', 'VXLAN', depth, offset, RFC);
  const len = end - offset;
  if (len >= VXLAN_HEADER_LENGTH) vxlanFields(ctx, b, offset);
  else b.field('vxlan.bytes', offset, len, len, 'the datagram stops inside the VXLAN header');
  const verdict = decapsulateVxlan(Buffer.from(ctx.buf.subarray(offset, end)), 0, len, ctx.opts.vni, new PacketSpan());
  ctx.innerVerdict = verdict;
  if (verdict !== DropReason.None) {
    const [rel0, why] = VXLAN_DROPS[verdict] ?? [0, 'rejected'];
    const rel = verdict === DropReason.TooShort ? len : rel0; // the problem is where the bytes stop
    let message = why;
    if (verdict === DropReason.BadFlags) {
      try {
        decodeVxlanHeader(ctx.buf, offset, len);
      } catch (e) {
        message = (e as Error).message;
      }
    }
    const field =
      verdict === DropReason.TooShort
        ? undefined
        : (b.fieldAt(offset + rel) ?? (rel >= VXLAN_HEADER_LENGTH ? 'inner headers' : undefined));
    b.problem({ field, offset: offset + rel, message, action: weftDrops(verdict), verdict: dropReasonName(verdict) });
  }
  if (len > VXLAN_HEADER_LENGTH) ctx.decoders.eth(ctx, offset + VXLAN_HEADER_LENGTH, end, depth + 1);
}

/** Offset (relative to the inner packet) each flannel-udp drop reason is about. */
const FLANNEL_DROPS: Partial<Record<DropReason, [number, string]>> = {
  [DropReason.TooShort]: [0, 'shorter than an IPv4/IPv6 header'],
  [DropReason.NotIp]: [0, 'the version nibble is neither 4 nor 6: the payload is not an IP packet'],
  [DropReason.BadIpHeader]: [0, 'the inner IP header contradicts itself'],
  [DropReason.LengthMismatch]: [2, 'the inner IP length says more bytes than the datagram carries'],
  [DropReason.TtlExpired]: [8, 'TTL (hop limit) 1 or less: forwarding would take it to 0 (RFC 1812 §5.3.1)'],
};

export function decodeFlannelUdpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'flannel-udp', 'flannel-udp', depth, offset, 'flannel udp backend (no header)');
  b.field(
    'flannel-udp',
    offset,
    0,
    'no header',
    'the UDP payload is the inner IP packet itself; the receiver decrements its TTL like a router',
  );
  const len = end - offset;
  const verdict = decapsulateFlannelUdp(Buffer.from(ctx.buf.subarray(offset, end)), 0, len, new PacketSpan());
  ctx.innerVerdict = verdict;
  if (verdict !== DropReason.None) {
    const [rel, why] = FLANNEL_DROPS[verdict] ?? [0, 'rejected'];
    const v6 = len > 0 && ctx.buf[offset]! >> 4 === 6;
    const at =
      offset +
      (verdict === DropReason.TtlExpired && v6
        ? 7
        : verdict === DropReason.LengthMismatch && v6
          ? 4
          : verdict === DropReason.TooShort
            ? len
            : rel);
    b.problem({
      field: verdict === DropReason.TtlExpired ? (v6 ? 'ipv6.hlim' : 'ip.ttl') : undefined,
      offset: at,
      message: why,
      action: weftDrops(verdict),
      verdict: dropReasonName(verdict),
    });
  }
  if (len > 0) ctx.decoders.ip(ctx, offset, end, depth + 1);
}
