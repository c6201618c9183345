// IPv6: the fixed header, then each extension header as its own layer (hop-by-hop and destination options with
// their options, routing, fragment, AH), then the upper layer. The chain is walked by @weft/encap's decodeIpv6Chain,
// the walker weft's dataplane uses, so a chain explain calls malformed is one weft refuses for the same reason.
import {
  IPV6_CHAIN_STATUS_NAMES,
  IPV6_HEADER_LENGTH,
  type Ipv6ChainError,
  type Ipv6ChainInfo,
  Ipv6ChainStatus,
  Ipv6NextHeader,
  decodeIpv6Chain,
  decodeIpv6Header,
} from '@weft/encap';
import { formatIpv6Bytes } from '@weft/netaddr';
import type { LayerBuilder } from '../layer.ts';
import { beginLayer, depthLabel, type DecodeContext } from './context.ts';
import { dispatchProtocol, ipAction, payloadWindow, protocolName, report } from './ip.ts';

const V6 = 'RFC 8200 §3';
const EXT = 'RFC 8200 §4';

/** Layer name, title and RFC of each extension header (tshark's field prefixes). */
const EXT_HEADERS: Record<number, [string, string, string]> = {
  [Ipv6NextHeader.HopByHop]: ['ipv6.hopopts', 'IPv6 Hop-by-Hop Options', 'RFC 8200 §4.3'],
  [Ipv6NextHeader.DestinationOptions]: ['ipv6.dstopts', 'IPv6 Destination Options', 'RFC 8200 §4.6'],
  [Ipv6NextHeader.Routing]: ['ipv6.routing', 'IPv6 Routing', 'RFC 8200 §4.4'],
  [Ipv6NextHeader.Fragment]: ['ipv6.fraghdr', 'IPv6 Fragment', 'RFC 8200 §4.5'],
  [Ipv6NextHeader.Ah]: ['ah', 'IPsec Authentication Header', 'RFC 4302 §2'],
};

function fixedFields(b: LayerBuilder, buf: Buffer, o: number): void {
  const tc = ((buf[o]! & 0x0f) << 4) | (buf[o + 1]! >> 4);
  const flow = ((buf[o + 1]! & 0x0f) << 16) | buf.readUInt16BE(o + 2);
  b.field(
    'ipv6.version/tclass/flow',
    o,
    4,
    `6 / 0x${tc.toString(16)} / 0x${flow.toString(16)}`,
    `IPv6; traffic class ${tc} (DSCP ${tc >> 2}); flow label ${flow}${flow ? ' (flow hash for ECMP)' : ''}`,
  );
  b.field('ipv6.plen', o + 4, 2, buf.readUInt16BE(o + 4), 'payload length: bytes after this 40-byte header');
  b.field('ipv6.nxt', o + 6, 1, buf[o + 6]!, `next header: ${protocolName(buf[o + 6]!)}`);
  b.field('ipv6.hlim', o + 7, 1, buf[o + 7]!, 'hop limit: the IPv6 TTL');
  b.field('ipv6.src', o + 8, 16, formatIpv6Bytes(buf, o + 8), 'source address');
  b.field('ipv6.dst', o + 24, 16, formatIpv6Bytes(buf, o + 24), 'destination address');
}

export function decodeIpv6Layer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'ipv6', `IPv6${depthLabel(depth)}`, depth, offset, V6);
  const buf = ctx.buf;
  let plen: number;
  try {
    plen = decodeIpv6Header(buf, offset, end - offset).payloadLength;
  } catch (e) {
    const err = e as Error & { offset?: number };
    b.field('ipv6.bytes', offset, end - offset, end - offset, 'the bytes present of the IPv6 header');
    report(ctx, b, depth, err.offset ?? offset, err.message);
    return;
  }
  fixedFields(b, buf, offset);
  ctx.ip = { src: formatIpv6Bytes(buf, offset + 8), dst: formatIpv6Bytes(buf, offset + 24) };
  ctx.ipv6 = { offset, dstOffset: offset + 24 };
  const payloadEnd = payloadWindow(ctx, b, depth, offset, IPV6_HEADER_LENGTH + plen, end);
  const chain = walk(ctx, b, depth, offset, payloadEnd);
  if (!chain) {
    ctx.decoders.data(ctx, offset + IPV6_HEADER_LENGTH, payloadEnd, depth);
    return;
  }
  for (const h of chain.headers) extensionLayer(ctx, h.type, h.offset, h.length, depth);
  if (chain.fragment && chain.fragment.offset !== 0) ctx.decoders.data(ctx, chain.offset, payloadEnd, depth);
  else if (chain.protocol === Ipv6NextHeader.Esp || chain.protocol === Ipv6NextHeader.NoNextHeader)
    ctx.decoders.data(ctx, chain.offset, payloadEnd, depth);
  else dispatchProtocol(ctx, chain.protocol, chain.offset, payloadEnd, depth);
}

/**
 * The chain by encap's walker, or undefined after reporting why it does not walk. A quoted packet (inside an ICMPv6
 * error) is cut short on purpose: it is walked as if its payload ended where the quote does, and not reported.
 */
function walk(
  ctx: DecodeContext,
  b: LayerBuilder,
  depth: number,
  offset: number,
  end: number,
): Ipv6ChainInfo | undefined {
  let bytes = ctx.buf;
  if (ctx.quoted) {
    bytes = Buffer.from(ctx.buf.subarray(0, end));
    bytes.writeUInt16BE(Math.min(0xffff, end - offset - IPV6_HEADER_LENGTH), offset + 4);
  }
  try {
    return decodeIpv6Chain(bytes, offset, end - offset);
  } catch (e) {
    const err = e as Ipv6ChainError;
    if (ctx.quoted || err.status === Ipv6ChainStatus.LengthMismatch) return undefined; // payloadWindow said it
    b.problem({
      field: b.fieldAt(err.offset) ?? 'ipv6.nxt',
      offset: err.offset,
      message: `${CHAIN_PROBLEMS[err.status] ?? err.message} (${IPV6_CHAIN_STATUS_NAMES[err.status]}, ${EXT})`,
      ...ipAction(ctx, depth),
      verdict: IPV6_CHAIN_STATUS_NAMES[err.status],
    });
    return undefined;
  }
}

const CHAIN_PROBLEMS: Partial<Record<Ipv6ChainStatus, string>> = {
  [Ipv6ChainStatus.Truncated]: 'an extension header runs past the end of the packet',
  [Ipv6ChainStatus.TooManyHeaders]: 'more extension headers than any legitimate packet carries',
  [Ipv6ChainStatus.MisplacedHopByHop]: 'hop-by-hop options may only follow the fixed header',
};

function extensionLayer(ctx: DecodeContext, type: number, o: number, len: number, depth: number): void {
  const [name, title, rfc] = EXT_HEADERS[type] ?? [`ipv6.ext${type}`, `IPv6 extension header ${type}`, EXT];
  const b = beginLayer(ctx, name, `${title}${depthLabel(depth)}`, depth, o, rfc);
  const buf = ctx.buf;
  const nxt = name === 'ah' ? 'ah.next_header' : `${name}.nxt`;
  b.field(nxt, o, 1, buf[o]!, `next header: ${protocolName(buf[o]!)}`);
  if (type === Ipv6NextHeader.Fragment) fragmentFields(b, buf, o);
  else if (type === Ipv6NextHeader.Ah) ahFields(b, buf, o, len);
  else {
    b.field(`${name}.len`, o + 1, 1, buf[o + 1]!, `header length ${len} bytes: (${buf[o + 1]!} + 1) * 8`);
    if (type === Ipv6NextHeader.Routing) routingFields(ctx, b, buf, o, len);
    else if (type === Ipv6NextHeader.HopByHop || type === Ipv6NextHeader.DestinationOptions)
      optionFields(b, buf, o + 2, o + len, type === Ipv6NextHeader.HopByHop);
    else if (len > 2) b.field(`${name}.data`, o + 2, len - 2, `${len - 2} bytes`, 'header data');
  }
}

function fragmentFields(b: LayerBuilder, buf: Buffer, o: number): void {
  const word = buf.readUInt16BE(o + 2);
  b.field('ipv6.fraghdr.reserved_octet', o + 1, 1, buf[o + 1]!, 'reserved');
  b.field(
    'ipv6.fraghdr.offset',
    o + 2,
    2,
    word >> 3,
    `fragment offset ${word >> 3} (x 8 = byte ${word & 0xfff8} of the original payload)`,
  );
  b.field(
    'ipv6.fraghdr.more',
    o + 3,
    1,
    (word & 1) === 1,
    word & 1 ? 'M: more fragments follow' : 'M clear: the last fragment',
  );
  b.field(
    'ipv6.fraghdr.ident',
    o + 4,
    4,
    `0x${buf
      .readUInt32BE(o + 4)
      .toString(16)
      .padStart(8, '0')}`,
    'identification: the fragments of one packet share it (only the source fragments in IPv6)',
  );
}

function ahFields(b: LayerBuilder, buf: Buffer, o: number, len: number): void {
  b.field('ah.length', o + 1, 1, buf[o + 1]!, `payload length: (${buf[o + 1]!} + 2) * 4 = ${len} bytes`);
  b.field(
    'ah.spi',
    o + 4,
    4,
    `0x${buf
      .readUInt32BE(o + 4)
      .toString(16)
      .padStart(8, '0')}`,
    'security parameters index: which SA',
  );
  b.field('ah.sequence', o + 8, 4, buf.readUInt32BE(o + 8), 'sequence number (anti-replay)');
  if (len > 12) b.field('ah.icv', o + 12, len - 12, `${len - 12} bytes`, 'integrity check value');
}

function routingFields(ctx: DecodeContext, b: LayerBuilder, buf: Buffer, o: number, len: number): void {
  const type = buf[o + 2]!;
  const left = buf[o + 3]!;
  const types: Record<number, string> = {
    0: 'type 0 (deprecated, RFC 5095)',
    2: 'Mobile IPv6 home address',
    3: 'RPL',
    4: 'segment routing',
  };
  b.field('ipv6.routing.type', o + 2, 1, type, `routing type ${types[type] ?? type}`);
  b.field('ipv6.routing.segleft', o + 3, 1, left, 'segments left: intermediate nodes still to visit');
  if (len > 4) b.field('ipv6.routing.data', o + 4, len - 4, `${len - 4} bytes`, 'type-specific data');
  // RFC 8200 §8.1: with segments left, the pseudo-header carries the final destination, inside this header.
  if (left > 0 && ctx.ipv6)
    ctx.ipv6.dstOffset = type === 0 || type === 2 ? o + len - 16 : type === 4 && len >= 24 ? o + 8 : undefined;
}

/** Option types a student meets (IANA "Destination Options and Hop-by-Hop Options"). */
const OPTION_NAMES: Record<number, string> = {
  0: 'Pad1',
  1: 'PadN',
  4: 'tunnel encapsulation limit (RFC 2473)',
  5: 'router alert (RFC 2711: MLD, RSVP)',
  194: 'jumbo payload (RFC 2675), type 0xc2',
  201: 'home address (RFC 6275), type 0xc9',
};
/** RFC 8200 §4.2: the two high bits say what a node that does not know the option does. */
const UNKNOWN_ACTIONS = [
  'skip it',
  'discard the packet',
  'discard and send ICMPv6 parameter problem',
  'discard and send parameter problem unless the destination is multicast',
];

function optionFields(b: LayerBuilder, buf: Buffer, start: number, end: number, hopByHop: boolean): void {
  for (let p = start; p < end; ) {
    const t = buf[p]!;
    const name = OPTION_NAMES[t] ?? `option 0x${t.toString(16)}`;
    const meaning = `${name}; unknown to a node: ${UNKNOWN_ACTIONS[t >> 6]}${t & 0x20 ? '; may change en route' : ''}`;
    b.field('ipv6.opt.type', p, 1, `0x${t.toString(16).padStart(2, '0')}`, meaning, 'RFC 8200 §4.2');
    if (t === 0) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = buf[p + 1]!;
    b.field('ipv6.opt.length', p + 1, 1, len, `option data ${len} bytes`, 'RFC 8200 §4.2');
    if (p + 2 + len > end) {
      b.problem({
        field: 'ipv6.opt.length',
        offset: p + 1,
        message: `option data of ${len} bytes runs past the end of its header`,
        action: hopByHop
          ? 'the next router drops it (Parameter Problem)'
          : 'the destination drops it (Parameter Problem)',
      });
      break;
    }
    p += 2 + len;
  }
}
