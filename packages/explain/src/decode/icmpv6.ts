// ICMPv6 (RFC 4443) with neighbour discovery (RFC 4861): echo, the errors (quoting the packet they are about),
// router and neighbour solicitations and advertisements, redirect, and the ND options. The checksum is verified
// with @weft/encap's ipv6UpperLayerChecksum, the function weft's own ICMPv6 errors are built with. The neighbour
// discovery messages and their options are decode/nd.ts.
import { ICMPV6_HEADER_LENGTH, Icmpv6Type, ipv6UpperLayerChecksum } from '@weft/encap';
import type { LayerBuilder } from '../layer.ts';
import { beginLayer, depthLabel, type DecodeContext } from './context.ts';
import { decodeQuoted } from './transport.ts';
import {
  ndChecks,
  neighborAdvertisement,
  neighborSolicitation,
  redirect,
  routerAdvertisement,
  routerSolicitation,
} from './nd.ts';

const RFC = 'RFC 4443 §2.1';

const TYPES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded (hop limit reached 0)',
  4: 'parameter problem',
  128: 'echo request (ping)',
  129: 'echo reply (ping answer)',
  130: 'multicast listener query',
  131: 'multicast listener report',
  133: 'router solicitation: routers, advertise now',
  134: 'router advertisement: prefixes, default route, MTU',
  135: 'neighbour solicitation: who has this address? (IPv6 ARP)',
  136: 'neighbour advertisement: the target is at this link-layer address',
  137: 'redirect: a better first hop',
  143: 'multicast listener report v2',
};

const CODES: Record<number, string[]> = {
  1: [
    'no route to destination',
    'administratively prohibited',
    'beyond scope of source address',
    'address unreachable',
    'port unreachable',
    'source address failed ingress/egress policy',
    'reject route to destination',
  ],
  3: ['hop limit exceeded in transit', 'fragment reassembly time exceeded'],
  4: ['erroneous header field', 'unrecognized next header type', 'unrecognized IPv6 option'],
};

export function decodeIcmpv6Layer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const b = beginLayer(ctx, 'icmpv6', `ICMPv6${depthLabel(depth)}`, depth, offset, RFC);
  const buf = ctx.buf;
  if (end - offset < 4) {
    b.field('icmpv6.bytes', offset, end - offset, end - offset, 'the packet stops inside the ICMPv6 header');
    b.problem({
      offset,
      message: `ICMPv6 header needs 4 bytes, ${end - offset} present`,
      action: 'the receiving kernel drops it (Icmp6: InErrors)',
    });
    return;
  }
  const type = buf[offset]!;
  const code = buf[offset + 1]!;
  b.field('icmpv6.type', offset, 1, type, TYPES[type] ?? (type < 128 ? 'other error' : 'other informational message'));
  b.field(
    'icmpv6.code',
    offset + 1,
    1,
    code,
    CODES[type]?.[code] ?? (code === 0 ? 'no code for this type' : `code ${code}`),
  );
  checksumField(ctx, b, offset, end);
  const rest = REST[type];
  if (end - offset < ICMPV6_HEADER_LENGTH + (rest?.minBody ?? 0)) {
    b.problem({
      offset: end,
      message: `${TYPES[type] ?? 'this message'} needs ${ICMPV6_HEADER_LENGTH + (rest?.minBody ?? 0)} bytes, ${end - offset} present`,
      action: 'the receiving host ignores it (RFC 4861 §6.1, §7.1: invalid length)',
    });
    return;
  }
  if (rest) rest.fields(ctx, b, offset, end, depth);
  else if (end > offset + 4) ctx.decoders.data(ctx, offset + 4, end, depth);
  if (type >= 133 && type <= 137) ndChecks(ctx, b, offset, code);
}

function checksumField(ctx: DecodeContext, b: LayerBuilder, offset: number, end: number): void {
  const buf = ctx.buf;
  const sum = `0x${buf
    .readUInt16BE(offset + 2)
    .toString(16)
    .padStart(4, '0')}`;
  const ip = ctx.ipv6;
  if (ctx.quoted || !ip || ip.dstOffset === undefined) {
    const why = ctx.quoted ? 'quoted, possibly cut short' : 'the final destination is in a routing header';
    b.field('icmpv6.checksum', offset + 2, 2, sum, `checksum with the IPv6 pseudo-header (not verified: ${why})`);
    return;
  }
  const ok = ipv6UpperLayerChecksum(buf, ip.offset, offset, end - offset, 58, ip.dstOffset) === 0;
  b.field(
    'icmpv6.checksum',
    offset + 2,
    2,
    sum,
    ok ? 'checksum with the IPv6 pseudo-header: correct' : 'checksum with the IPv6 pseudo-header: WRONG',
    'RFC 4443 §2.3, RFC 8200 §8.1',
  );
  if (!ok)
    b.problem({
      field: 'icmpv6.checksum',
      offset: offset + 2,
      message: 'ICMPv6 checksum does not verify',
      action: 'the receiving kernel drops it (Icmp6: InCsumErrors)',
    });
}

type RestDecoder = (ctx: DecodeContext, b: LayerBuilder, o: number, end: number, depth: number) => void;

const u32 = (buf: Buffer, o: number) => buf.readUInt32BE(o);

function quoting(name: string, meaning: string, rfc: string): RestDecoder {
  return (ctx, b, o, end, depth) => {
    b.field(
      name,
      o + 4,
      4,
      name === 'icmpv6.reserved'
        ? `0x${u32(ctx.buf, o + 4)
            .toString(16)
            .padStart(8, '0')}`
        : u32(ctx.buf, o + 4),
      meaning,
      rfc,
    );
    if (end > o + 8 && !ctx.quoted) decodeQuoted(ctx, o + 8, end, depth);
    else if (end > o + 8) ctx.decoders.data(ctx, o + 8, end, depth);
  };
}

function echo(ctx: DecodeContext, b: LayerBuilder, o: number, end: number, depth: number): void {
  b.field(
    'icmpv6.echo.identifier',
    o + 4,
    2,
    `0x${ctx.buf
      .readUInt16BE(o + 4)
      .toString(16)
      .padStart(4, '0')}`,
    'identifier: matches replies to the pinging process',
    'RFC 4443 §4.1',
  );
  b.field(
    'icmpv6.echo.sequence_number',
    o + 6,
    2,
    ctx.buf.readUInt16BE(o + 6),
    'sequence number of this ping',
    'RFC 4443 §4.1',
  );
  if (end > o + 8) ctx.decoders.data(ctx, o + 8, end, depth);
}

/** Per type: the decoder of everything after the checksum, and the bytes it needs after the 8-byte header. */
const REST: Record<number, { fields: RestDecoder; minBody: number }> = {
  [Icmpv6Type.DestUnreachable]: { fields: quoting('icmpv6.reserved', 'unused', 'RFC 4443 §3.1'), minBody: 0 },
  [Icmpv6Type.PacketTooBig]: {
    fields: quoting(
      'icmpv6.mtu',
      'MTU of the next hop: the largest packet that fits (path MTU discovery)',
      'RFC 4443 §3.2',
    ),
    minBody: 0,
  },
  [Icmpv6Type.TimeExceeded]: { fields: quoting('icmpv6.reserved', 'unused', 'RFC 4443 §3.3'), minBody: 0 },
  [Icmpv6Type.ParameterProblem]: {
    fields: quoting('icmpv6.pointer', 'offset of the offending byte in the quoted packet', 'RFC 4443 §3.4'),
    minBody: 0,
  },
  [Icmpv6Type.EchoRequest]: { fields: echo, minBody: 0 },
  [Icmpv6Type.EchoReply]: { fields: echo, minBody: 0 },
  [Icmpv6Type.RouterSolicitation]: { fields: routerSolicitation, minBody: 0 },
  [Icmpv6Type.RouterAdvertisement]: { fields: routerAdvertisement, minBody: 8 },
  [Icmpv6Type.NeighborSolicitation]: { fields: neighborSolicitation, minBody: 16 },
  [Icmpv6Type.NeighborAdvertisement]: { fields: neighborAdvertisement, minBody: 16 },
  [Icmpv6Type.Redirect]: { fields: redirect, minBody: 32 },
};
