// Neighbour discovery (RFC 4861 §4): the fields of router and neighbour solicitations and advertisements and of
// redirects, then their options (§4.6): type, length in units of 8 bytes, data. A length of 0 makes the whole
// message invalid (§4.6: the receiver silently discards it), and so does an option running past the end.
import { formatMac } from '@weft/encap';
import { formatIpv6Bytes } from '@weft/netaddr';
import type { LayerBuilder } from '../layer.ts';
import type { DecodeContext } from './context.ts';

const RFC = 'RFC 4861 §4.6';
const ND = 'RFC 4861 §4';
const u32 = (buf: Buffer, o: number) => buf.readUInt32BE(o);
const addr = (buf: Buffer, o: number) => formatIpv6Bytes(buf, o);

const NAMES: Record<number, string> = {
  1: 'source link-layer address',
  2: 'target link-layer address',
  3: 'prefix information',
  4: 'redirected header',
  5: 'MTU',
  24: 'route information (RFC 4191)',
  25: 'recursive DNS servers (RFC 8106)',
  31: 'DNS search list (RFC 8106)',
};

type OptionDecoder = (b: LayerBuilder, buf: Buffer, o: number, len: number) => void;

function linkAddress(name: string, what: string): OptionDecoder {
  return (b, buf, o, len) => {
    if (len === 8) b.field(name, o + 2, 6, formatMac(buf, o + 2), `${what} (Ethernet MAC)`, `${RFC}.1`);
    else b.field(name, o + 2, len - 2, buf.toString('hex', o + 2, o + len), what, `${RFC}.1`);
  };
}

function prefixInformation(b: LayerBuilder, buf: Buffer, o: number, len: number): void {
  const rfc = `${RFC}.2`;
  if (len < 32) return;
  b.field('icmpv6.opt.prefix.length', o + 2, 1, buf[o + 2]!, 'prefix length in bits (64 for SLAAC)', rfc);
  flags(b, buf, o + 3, PREFIX_FLAGS, rfc);
  for (const [at, which] of [
    [4, 'valid'],
    [8, 'preferred'],
  ] as const) {
    const v = buf.readUInt32BE(o + at);
    const meaning = `${which} for ${v === 0xffffffff ? 'infinite' : `${v} s`}`;
    b.field(`icmpv6.opt.prefix.${which}_lifetime`, o + at, 4, v, meaning, rfc);
  }
  b.field('icmpv6.opt.prefix', o + 16, 16, formatIpv6Bytes(buf, o + 16), 'the prefix', rfc);
}

function mtu(b: LayerBuilder, buf: Buffer, o: number, len: number): void {
  if (len >= 8)
    b.field('icmpv6.opt.mtu', o + 4, 4, buf.readUInt32BE(o + 4), 'the link MTU hosts should use', `${RFC}.4`);
}

function rdnss(b: LayerBuilder, buf: Buffer, o: number, len: number): void {
  if (len < 8) return;
  b.field(
    'icmpv6.opt.rdnss.lifetime',
    o + 4,
    4,
    buf.readUInt32BE(o + 4),
    'seconds the servers may be used',
    'RFC 8106 §5.1',
  );
  for (let p = o + 8; p + 16 <= o + len; p += 16)
    b.field('icmpv6.opt.rdnss', p, 16, formatIpv6Bytes(buf, p), 'a recursive DNS server', 'RFC 8106 §5.1');
}

/** A one-bit flag: field name, mask in its byte, meaning when set, meaning when clear. */
type Flag = readonly [name: string, mask: number, set: string, clear: string];

const PREFIX_FLAGS: readonly Flag[] = [
  ['icmpv6.opt.prefix.flag.l', 0x80, 'L: the prefix is on-link', 'L clear: on-link not implied'],
  ['icmpv6.opt.prefix.flag.a', 0x40, 'A: hosts may form addresses in it (SLAAC)', 'A clear: no SLAAC'],
];

const RA_FLAGS: readonly Flag[] = [
  ['icmpv6.nd.ra.flag.m', 0x80, 'M: addresses come from DHCPv6', 'M clear: no DHCPv6 addresses'],
  ['icmpv6.nd.ra.flag.o', 0x40, 'O: other configuration from DHCPv6', 'O clear'],
];

const NA_FLAGS: readonly Flag[] = [
  ['icmpv6.nd.na.flag.r', 0x80, 'R: the sender is a router', 'R clear: a host'],
  ['icmpv6.nd.na.flag.s', 0x40, 'S: an answer to a solicitation', 'S clear: unsolicited'],
  ['icmpv6.nd.na.flag.o', 0x20, 'O: override the cached link-layer address', 'O clear: do not override'],
];

/** The flags of the byte at `o`, one field each. */
function flags(b: LayerBuilder, buf: Buffer, o: number, list: readonly Flag[], rfc: string): void {
  for (const [name, mask, set, clear] of list) {
    const on = (buf[o]! & mask) !== 0;
    b.field(name, o, 1, on, on ? set : clear, rfc);
  }
}

/** The 4 reserved bytes at `o`, shown as hex (senders zero them, receivers ignore them). */
function reserved(b: LayerBuilder, buf: Buffer, o: number, rfc: string): void {
  b.field('icmpv6.reserved', o, 4, `0x${u32(buf, o).toString(16).padStart(8, '0')}`, 'reserved', rfc);
}

const DECODERS: Record<number, OptionDecoder> = {
  1: linkAddress('icmpv6.opt.src_linkaddr', "the sender's link-layer address"),
  2: linkAddress('icmpv6.opt.target_linkaddr', "the target's link-layer address"),
  3: prefixInformation,
  5: mtu,
  25: rdnss,
};

/** Decodes the options at `[start, end)` into `b`, with a problem for the first malformed one. */
export function ndOptions(ctx: DecodeContext, b: LayerBuilder, start: number, end: number): void {
  const buf = ctx.buf;
  for (let p = start; p < end; ) {
    const type = buf[p]!;
    b.field('icmpv6.opt.type', p, 1, type, NAMES[type] ?? 'unknown option (skipped by receivers)', RFC);
    if (p + 2 > end) return bad(b, p, 'the option stops inside its type and length');
    const len = buf[p + 1]! * 8;
    b.field('icmpv6.opt.length', p + 1, 1, buf[p + 1]!, `${len} bytes (in units of 8)`, RFC);
    if (len === 0) return bad(b, p + 1, 'an option of length 0');
    if (p + len > end) return bad(b, p + 1, `an option of ${len} bytes runs past the end of the message`);
    DECODERS[type]?.(b, buf, p, len);
    p += len;
  }
}

function bad(b: LayerBuilder, offset: number, message: string): void {
  b.problem({
    field: b.fieldAt(offset),
    offset,
    message,
    action: 'the receiving host silently discards the whole message (RFC 4861 §4.6)',
  });
}

/** RFC 4861 §6.1.1, §7.1.1: ND messages must arrive with hop limit 255 (so they came from this link) and code 0. */
export function ndChecks(ctx: DecodeContext, b: LayerBuilder, offset: number, code: number): void {
  const ip = ctx.ipv6;
  const hlim = ip ? ctx.buf[ip.offset + 7]! : 255;
  const act = 'the receiving host silently discards it';
  if (hlim !== 255 && !ctx.quoted)
    b.problem({
      field: 'ipv6.hlim',
      offset: ip!.offset + 7,
      message: `neighbour discovery with hop limit ${hlim}, not 255: it may come from off-link`,
      action: act,
    });
  if (code !== 0)
    b.problem({ field: 'icmpv6.code', offset: offset + 1, message: `ND code ${code}, must be 0`, action: act });
}

export function routerSolicitation(ctx: DecodeContext, b: LayerBuilder, o: number, end: number): void {
  reserved(b, ctx.buf, o + 4, `${ND}.1`);
  ndOptions(ctx, b, o + 8, end);
}

export function routerAdvertisement(ctx: DecodeContext, b: LayerBuilder, o: number, end: number): void {
  const buf = ctx.buf;
  const rfc = `${ND}.2`;
  b.field('icmpv6.nd.ra.cur_hop_limit', o + 4, 1, buf[o + 4]!, 'hop limit hosts should use (0: unspecified)', rfc);
  flags(b, buf, o + 5, RA_FLAGS, rfc);
  const life = buf.readUInt16BE(o + 6);
  b.field(
    'icmpv6.nd.ra.router_lifetime',
    o + 6,
    2,
    life,
    life ? `default router for ${life} s` : 'not a default router',
    rfc,
  );
  b.field(
    'icmpv6.nd.ra.reachable_time',
    o + 8,
    4,
    u32(buf, o + 8),
    'ms a neighbour counts as reachable after a confirmation (0: unspecified)',
    rfc,
  );
  b.field(
    'icmpv6.nd.ra.retrans_timer',
    o + 12,
    4,
    u32(buf, o + 12),
    'ms between neighbour solicitations (0: unspecified)',
    rfc,
  );
  ndOptions(ctx, b, o + 16, end);
}

export function neighborSolicitation(ctx: DecodeContext, b: LayerBuilder, o: number, end: number): void {
  const rfc = `${ND}.3`;
  reserved(b, ctx.buf, o + 4, rfc);
  b.field(
    'icmpv6.nd.ns.target_address',
    o + 8,
    16,
    addr(ctx.buf, o + 8),
    'target: the address whose link-layer address is asked for',
    rfc,
  );
  ndOptions(ctx, b, o + 24, end);
}

export function neighborAdvertisement(ctx: DecodeContext, b: LayerBuilder, o: number, end: number): void {
  const rfc = `${ND}.4`;
  flags(b, ctx.buf, o + 4, NA_FLAGS, rfc);
  b.field('icmpv6.nd.na.target_address', o + 8, 16, addr(ctx.buf, o + 8), 'target: the address being advertised', rfc);
  ndOptions(ctx, b, o + 24, end);
}

export function redirect(ctx: DecodeContext, b: LayerBuilder, o: number, end: number): void {
  const rfc = `${ND}.5`;
  b.field('icmpv6.nd.rd.target_address', o + 8, 16, addr(ctx.buf, o + 8), 'target: the better first hop', rfc);
  b.field('icmpv6.nd.rd.destination_address', o + 24, 16, addr(ctx.buf, o + 24), 'destination being redirected', rfc);
  ndOptions(ctx, b, o + 40, end);
}
