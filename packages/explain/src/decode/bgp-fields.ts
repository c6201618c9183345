// Field-level view of one BGP message (RFC 4271 §4) with its capabilities (RFC 5492) and path attributes (§5).
// This walker only says where each field is and what it means; whether the message is acceptable, and what the
// receiver does if not, comes from @weft/route-sync's decoder (decode/bgp.ts). Every read is bounded by `end`:
// on a malformed message the walk stops where the bytes stop making sense, and the verdict explains why.
import { formatIpv4, formatIpv6Bytes } from '@weft/netaddr';
import { AttrType, CapabilityCode, MessageType, NotificationCode, Origin } from '@weft/route-sync';
import type { LayerBuilder } from '../layer.ts';
import { bgpNotificationName, enumWords } from './bgp-names.ts';

const R4271 = 'RFC 4271 §4';
const CAP_RFC: Record<number, string> = {
  1: 'RFC 4760 §8',
  2: 'RFC 2918 §2',
  6: 'RFC 8654 §3',
  64: 'RFC 4724 §3',
  65: 'RFC 6793 §3',
  69: 'RFC 7911 §4',
  70: 'RFC 7313 §3.1',
  71: 'RFC 9494 §2',
  73: 'draft-walton-bgp-hostname-capability §3',
};
const ATTR_RFC: Record<number, string> = {
  1: 'RFC 4271 §5.1.1',
  2: 'RFC 4271 §5.1.2',
  3: 'RFC 4271 §5.1.3',
  4: 'RFC 4271 §5.1.4',
  5: 'RFC 4271 §5.1.5',
  6: 'RFC 4271 §5.1.6',
  7: 'RFC 4271 §5.1.7',
  8: 'RFC 1997',
  9: 'RFC 4456 §8',
  10: 'RFC 4456 §8',
  14: 'RFC 4760 §3',
  15: 'RFC 4760 §4',
  16: 'RFC 4360 §2',
  17: 'RFC 6793 §3',
  18: 'RFC 6793 §3',
  32: 'RFC 8092 §3',
};
const AFI: Record<number, string> = { 1: 'IPv4', 2: 'IPv6' };
const SAFI: Record<number, string> = { 1: 'unicast', 2: 'multicast', 128: 'MPLS VPN' };

/** "IPv6 unicast": an AFI/SAFI pair in words, '?' for one not in the tables. */
function familyName(afi: number, safi: number): string {
  return `${AFI[afi] ?? '?'} ${SAFI[safi] ?? '?'}`;
}

/** What the walker needs from the session: AS number size on the wire (RFC 6793). */
export interface WalkContext {
  fourOctetAs: boolean;
}

/** Annotates the message at `[o, end)` of `b.buf` (header included). Returns the message type octet. */
export function walkBgpMessage(b: LayerBuilder, o: number, end: number, wc: WalkContext): number {
  const buf = b.buf as Buffer;
  const allOnes = buf.subarray(o, o + 16).every((x) => x === 0xff);
  b.field(
    'bgp.marker',
    o,
    16,
    allOnes ? 'all ones' : 'NOT all ones',
    allOnes ? 'marker: 16 bytes of 0xff (kept for compatibility)' : 'marker must be all ones',
    `${R4271}.1`,
  );
  b.field(
    'bgp.length',
    o + 16,
    2,
    buf.readUInt16BE(o + 16),
    'message length in bytes, header (19) included: 19..4096 (65535 with RFC 8654)',
    `${R4271}.1`,
  );
  const type = buf[o + 18]!;
  b.field(
    'bgp.type',
    o + 18,
    1,
    type,
    `${enumWords(MessageType, type) || 'unknown type'} message`,
    type === MessageType.RouteRefresh ? 'RFC 2918 §3' : `${R4271}.1`,
  );
  const body = o + 19;
  if (type === MessageType.Open) walkOpen(b, buf, body, end);
  else if (type === MessageType.Update) walkUpdate(b, buf, body, end, wc);
  else if (type === MessageType.Notification) walkNotification(b, buf, body, end);
  else if (type === MessageType.RouteRefresh && end - body >= 4) {
    b.field(
      'bgp.route_refresh.afi',
      body,
      2,
      buf.readUInt16BE(body),
      `address family ${AFI[buf.readUInt16BE(body)] ?? '?'}`,
      'RFC 2918 §3',
    );
    b.field(
      'bgp.route_refresh.subtype',
      body + 2,
      1,
      buf[body + 2]!,
      ['normal request', 'begin of route refresh', 'end of route refresh'][buf[body + 2]!] ?? 'reserved',
      'RFC 7313 §3.2',
    );
    b.field(
      'bgp.route_refresh.safi',
      body + 3,
      1,
      buf[body + 3]!,
      `sub-family ${SAFI[buf[body + 3]!] ?? '?'}`,
      'RFC 2918 §3',
    );
  }
  return type;
}

function walkOpen(b: LayerBuilder, buf: Buffer, o: number, end: number): void {
  if (end - o < 10) return;
  const s = `${R4271}.2`;
  b.field('bgp.open.version', o, 1, buf[o]!, buf[o] === 4 ? 'BGP version 4' : 'unsupported version (only 4 exists)', s);
  const myAs = buf.readUInt16BE(o + 1);
  b.field(
    'bgp.open.myas',
    o + 1,
    2,
    myAs,
    myAs === 23456 ? 'AS_TRANS: the real AS is in the 4-octet AS capability' : "the sender's autonomous system",
    myAs === 23456 ? 'RFC 6793 §9' : s,
  );
  const hold = buf.readUInt16BE(o + 3);
  b.field(
    'bgp.open.holdtime',
    o + 3,
    2,
    hold,
    hold === 0
      ? 'no hold timer, no keepalives'
      : `proposed hold time ${hold} s; the session uses the smaller of both (keepalive every third)`,
    s,
  );
  b.field(
    'bgp.open.identifier',
    o + 5,
    4,
    formatIpv4(buf.readUInt32BE(o + 5)),
    'BGP identifier: the router ID, unique in the AS',
    s,
  );
  const optLen = buf[o + 9]!;
  b.field('bgp.open.opt.len', o + 9, 1, optLen, 'bytes of optional parameters that follow', s);
  let p = o + 10;
  const optEnd = Math.min(end, p + optLen);
  while (optEnd - p >= 2) {
    const ptype = buf[p]!;
    const plen = buf[p + 1]!;
    b.field(
      'bgp.open.opt.param',
      p,
      2,
      `type ${ptype}, ${plen} bytes`,
      ptype === 2
        ? 'optional parameter 2: capabilities follow'
        : 'optional parameter (only 2, capabilities, is in use)',
      ptype === 2 ? 'RFC 5492 §4' : s,
    );
    if (ptype === 2) walkCapabilities(b, buf, p + 2, Math.min(optEnd, p + 2 + plen));
    p += 2 + plen;
  }
}

function walkCapabilities(b: LayerBuilder, buf: Buffer, p: number, end: number): void {
  while (end - p >= 2) {
    const code = buf[p]!;
    const len = buf[p + 1]!;
    const rfc = CAP_RFC[code] ?? 'RFC 5492 §4 (IANA Capability Codes)';
    const name = enumWords(CapabilityCode, code) || `capability ${code}`;
    b.field('bgp.cap', p, 2, `${code} (${name}), ${len} bytes`, `capability ${name}`, rfc);
    const v = p + 2;
    if (v + len > end) return;
    capabilityValue(b, buf, code, v, len, rfc);
    p = v + len;
  }
}

function capabilityValue(b: LayerBuilder, buf: Buffer, code: number, v: number, len: number, rfc: string): void {
  if (code === CapabilityCode.Multiprotocol && len === 4) {
    b.field(
      'bgp.cap.mp.afi/safi',
      v,
      4,
      `${buf.readUInt16BE(v)}/${buf[v + 3]}`,
      `will exchange ${familyName(buf.readUInt16BE(v), buf[v + 3]!)} routes`,
      rfc,
    );
  } else if (code === CapabilityCode.FourOctetAs && len === 4) {
    b.field(
      'bgp.cap.4as',
      v,
      4,
      buf.readUInt32BE(v),
      'the real (4-octet) AS number; AS_PATH then carries 4-byte ASNs',
      rfc,
    );
  } else if (code === CapabilityCode.GracefulRestart && len >= 2) {
    const w = buf.readUInt16BE(v);
    b.field(
      'bgp.cap.gr.flags/time',
      v,
      2,
      `R=${w >> 15} N=${(w >> 14) & 1} ${w & 0xfff} s`,
      `restart time ${w & 0xfff} s: how long the peer keeps our routes while we restart${w & 0x8000 ? '; R: we just restarted' : ''}`,
      rfc,
    );
    for (let f = v + 2; f + 4 <= v + len; f += 4) {
      b.field(
        'bgp.cap.gr.family',
        f,
        4,
        `${buf.readUInt16BE(f)}/${buf[f + 2]} F=${buf[f + 3]! >> 7}`,
        `${familyName(buf.readUInt16BE(f), buf[f + 2]!)}: forwarding state ${buf[f + 3]! & 0x80 ? 'preserved' : 'not preserved'}`,
        rfc,
      );
    }
  } else if (code === 69) {
    for (let f = v; f + 4 <= v + len; f += 4)
      b.field(
        'bgp.cap.addpath',
        f,
        4,
        `${buf.readUInt16BE(f)}/${buf[f + 2]} ${['-', 'receive', 'send', 'send+receive'][buf[f + 3]! & 3]}`,
        'ADD-PATH: several paths per prefix',
        rfc,
      );
  } else if (code === 73 && len >= 1) {
    const hl = buf[v]!;
    b.field(
      'bgp.cap.fqdn.hostname',
      v,
      1 + hl,
      buf.toString('latin1', v + 1, Math.min(v + 1 + hl, v + len)),
      "the router's host name",
      rfc,
    );
  } else if (len > 0) {
    b.field('bgp.cap.value', v, len, `${len} bytes`, 'capability value (shown raw)', rfc);
  } else {
    b.layer.fields[b.layer.fields.length - 1]!.meaning += ': no value, its presence is the message';
  }
}

/**
 * The prefixes at `[p, end)`, one field `name` each: a length octet and the octets that hold its bits (RFC 4271
 * §4.3). Stops at the first prefix that runs past `end`.
 */
function walkPrefixes(
  b: LayerBuilder,
  buf: Buffer,
  p: number,
  end: number,
  afi: number,
  name: string,
  meaning: string,
  rfc: string,
): void {
  while (p < end) {
    const bits = buf[p]!;
    const n = Math.ceil(bits / 8);
    if (p + 1 + n > end) return;
    const full = Buffer.alloc(afi === 2 ? 16 : 4);
    buf.copy(full, 0, p + 1, p + 1 + Math.min(n, full.length));
    const addr = afi === 2 ? formatIpv6Bytes(full) : formatIpv4(full.readUInt32BE(0));
    b.field(name, p, 1 + n, `${addr}/${bits}`, meaning, rfc);
    p += 1 + n;
  }
}

function walkUpdate(b: LayerBuilder, buf: Buffer, o: number, end: number, wc: WalkContext): void {
  const s = `${R4271}.3`;
  if (end - o < 2) return;
  const wlen = buf.readUInt16BE(o);
  b.field(
    'bgp.update.withdrawn.len',
    o,
    2,
    wlen,
    wlen ? 'bytes of IPv4 prefixes withdrawn' : 'no IPv4 prefixes withdrawn',
    s,
  );
  const wend = Math.min(end, o + 2 + wlen);
  walkPrefixes(b, buf, o + 2, wend, 1, 'bgp.withdrawn_prefix', 'withdrawn: no longer reachable through the sender', s);
  const a = o + 2 + wlen;
  if (end - a < 2) return;
  const alen = buf.readUInt16BE(a);
  const eor = wlen === 0 && alen === 0 && end === a + 2;
  b.field(
    'bgp.update.path_attributes.length',
    a,
    2,
    alen,
    alen
      ? 'bytes of path attributes'
      : eor
        ? 'nothing at all in this UPDATE: the End-of-RIB marker for IPv4 unicast, the initial table is complete'
        : 'no path attributes: a pure withdrawal',
    eor ? 'RFC 4724 §2' : s,
  );
  let p = a + 2;
  const aend = Math.min(end, p + alen);
  while (aend - p >= 3) {
    const next = walkAttribute(b, buf, p, aend, wc);
    if (next < 0) break;
    p = next;
  }
  walkPrefixes(
    b,
    buf,
    a + 2 + alen,
    end,
    1,
    'bgp.nlri_prefix',
    'reachable (NLRI): route to this prefix via the attributes above',
    s,
  );
}

function flagText(f: number): string {
  return [
    f & 0x80 ? 'optional' : 'well-known',
    f & 0x40 ? 'transitive' : 'non-transitive',
    f & 0x20 ? 'partial' : '',
    f & 0x10 ? 'extended length' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function walkAttribute(b: LayerBuilder, buf: Buffer, p: number, end: number, wc: WalkContext): number {
  const flags = buf[p]!;
  const code = buf[p + 1]!;
  const ext = (flags & 0x10) !== 0;
  if (p + (ext ? 4 : 3) > end) return -1;
  const len = ext ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
  const name = enumWords(AttrType, code) || `attribute ${code}`;
  const rfc = ATTR_RFC[code] ?? 'RFC 4271 §4.3 (IANA BGP Path Attributes)';
  b.field(
    'bgp.update.path_attribute',
    p,
    ext ? 4 : 3,
    `${name} (${code}), flags 0x${flags.toString(16)}, ${len} bytes`,
    `path attribute ${name}: ${flagText(flags)}`,
    rfc,
  );
  const v = p + (ext ? 4 : 3);
  if (v + len > end) return -1;
  attributeValue(b, buf, code, v, len, rfc, wc);
  return v + len;
}

function asPath(b: LayerBuilder, buf: Buffer, v: number, len: number, asn: 2 | 4, rfc: string): void {
  for (let p = v; p + 2 <= v + len; ) {
    const count = buf[p + 1]!;
    const size = 2 + count * asn;
    if (p + size > v + len) return;
    const asns = Array.from({ length: count }, (_, i) =>
      asn === 4 ? buf.readUInt32BE(p + 2 + 4 * i) : buf.readUInt16BE(p + 2 + 2 * i),
    );
    const t = ['?', 'AS_SET', 'AS_SEQUENCE', 'AS_CONFED_SEQUENCE', 'AS_CONFED_SET'][buf[p]!] ?? 'unknown segment type';
    b.field(
      'bgp.update.path_attribute.as_path_segment',
      p,
      size,
      `${t} [${asns.join(' ')}]`,
      `${t}: ${count} ASN${count === 1 ? '' : 's'} of ${asn} bytes (the route crossed these ASes, nearest first)`,
      rfc,
    );
    p += size;
  }
}

/** An attribute whose value is one 32-bit word: field name, how the word prints, what it means. */
type WordAttribute = readonly [field: string, show: (w: number) => string | number, meaning: string];

/** NEXT_HOP, MED, LOCAL_PREF, ORIGINATOR_ID: a value of another length prints nothing (the verdict says why). */
const WORD_ATTRIBUTES: Record<number, WordAttribute> = {
  [AttrType.NextHop]: ['next_hop', formatIpv4, 'next hop: forward packets for these prefixes to this address'],
  [AttrType.MultiExitDisc]: [
    'multi_exit_disc',
    Number,
    'MED: lower is preferred among entries from one neighbouring AS',
  ],
  [AttrType.LocalPref]: ['local_pref', Number, 'LOCAL_PREF: higher is preferred inside the AS'],
  [AttrType.OriginatorId]: [
    'originator_id',
    formatIpv4,
    "router ID of the route's originator (route reflection loop guard)",
  ],
};

function attributeValue(
  b: LayerBuilder,
  buf: Buffer,
  code: number,
  v: number,
  len: number,
  rfc: string,
  wc: WalkContext,
): void {
  const u32 = (o: number) => buf.readUInt32BE(o);
  const word = WORD_ATTRIBUTES[code];
  if (word) {
    const [field, show, meaning] = word;
    if (len === 4) b.field(`bgp.update.path_attribute.${field}`, v, 4, show(u32(v)), meaning, rfc);
    return;
  }
  switch (code) {
    case AttrType.Origin:
      b.field(
        'bgp.update.path_attribute.origin',
        v,
        len,
        len === 1 ? enumWords(Origin, buf[v]!) || String(buf[v]) : `${len} bytes`,
        'how the route entered BGP (IGP beats EGP beats INCOMPLETE)',
        rfc,
      );
      return;
    case AttrType.AsPath:
      if (len === 0)
        b.field(
          'bgp.update.path_attribute.as_path',
          v,
          0,
          'empty',
          'empty AS_PATH: the route originates in this AS (iBGP)',
          rfc,
        );
      else asPath(b, buf, v, len, wc.fourOctetAs ? 4 : 2, rfc);
      return;
    case AttrType.As4Path:
      asPath(b, buf, v, len, 4, rfc);
      return;
    case AttrType.AtomicAggregate:
      b.field(
        'bgp.update.path_attribute.atomic_aggregate',
        v,
        0,
        'present',
        'a less specific route was chosen over more specific ones',
        rfc,
      );
      return;
    case AttrType.Communities:
      for (let c = v; c + 4 <= v + len; c += 4)
        b.field(
          'bgp.update.path_attribute.community',
          c,
          4,
          `${buf.readUInt16BE(c)}:${buf.readUInt16BE(c + 2)}`,
          communityMeaning(u32(c)),
          rfc,
        );
      return;
    case AttrType.ClusterList:
      for (let c = v; c + 4 <= v + len; c += 4)
        b.field(
          'bgp.update.path_attribute.cluster_id',
          c,
          4,
          formatIpv4(u32(c)),
          'route reflector cluster the route passed through',
          rfc,
        );
      return;
    case AttrType.ExtendedCommunities:
      for (let c = v; c + 8 <= v + len; c += 8)
        b.field(
          'bgp.update.path_attribute.ext_community',
          c,
          8,
          `type 0x${buf[c]!.toString(16)} sub 0x${buf[c + 1]!.toString(16)} ${buf.subarray(c + 2, c + 8).toString('hex')}`,
          buf[c] === 0 && buf[c + 1] === 2
            ? `route target ${buf.readUInt16BE(c + 2)}:${u32(c + 4)}`
            : 'extended community',
          rfc,
        );
      return;
    case AttrType.LargeCommunity:
      for (let c = v; c + 12 <= v + len; c += 12)
        b.field(
          'bgp.update.path_attribute.large_community',
          c,
          12,
          `${u32(c)}:${u32(c + 4)}:${u32(c + 8)}`,
          'large community: global administrator : local data 1 : local data 2',
          rfc,
        );
      return;
    case AttrType.Aggregator:
    case AttrType.As4Aggregator: {
      const an = len === 8 ? 4 : 2;
      if (len === 6 || len === 8)
        b.field(
          'bgp.update.path_attribute.aggregator',
          v,
          len,
          `AS ${an === 4 ? u32(v) : buf.readUInt16BE(v)} ${formatIpv4(u32(v + an))}`,
          'the AS and router that aggregated the route',
          rfc,
        );
      return;
    }
    case AttrType.MpReachNlri:
      mpReach(b, buf, v, len, rfc);
      return;
    case AttrType.MpUnreachNlri:
      if (len < 3) return;
      b.field(
        'bgp.update.path_attribute.mp_unreach.afi/safi',
        v,
        3,
        `${buf.readUInt16BE(v)}/${buf[v + 2]}`,
        `withdrawing ${familyName(buf.readUInt16BE(v), buf[v + 2]!)} routes${len === 3 ? ': none listed, so this is End-of-RIB for the family (RFC 4724 §2)' : ''}`,
        rfc,
      );
      walkPrefixes(
        b,
        buf,
        v + 3,
        v + len,
        buf.readUInt16BE(v),
        'bgp.mp_unreach_nlri.withdrawn_prefix',
        'withdrawn',
        rfc,
      );
      return;
    default:
      if (len > 0)
        b.field('bgp.update.path_attribute.value', v, len, `${len} bytes`, 'attribute value (shown raw)', rfc);
  }
}

function communityMeaning(c: number): string {
  const wk: Record<number, string> = {
    0xffffff01: 'NO_EXPORT: do not advertise outside the AS (confederation)',
    0xffffff02: 'NO_ADVERTISE: do not advertise to any peer',
    0xffffff03: 'NO_EXPORT_SUBCONFED',
  };
  return wk[c] ?? 'community (AS:value) tag for routing policy';
}

function mpReach(b: LayerBuilder, buf: Buffer, v: number, len: number, rfc: string): void {
  if (len < 5) return;
  const afi = buf.readUInt16BE(v);
  b.field(
    'bgp.update.path_attribute.mp_reach.afi/safi',
    v,
    3,
    `${afi}/${buf[v + 2]}`,
    `announcing ${familyName(afi, buf[v + 2]!)} routes`,
    rfc,
  );
  const nhl = buf[v + 3]!;
  if (v + 4 + nhl + 1 > v + len) return;
  const nh =
    nhl === 4
      ? formatIpv4(buf.readUInt32BE(v + 4))
      : nhl >= 16
        ? formatIpv6Bytes(buf, v + 4) + (nhl === 32 ? ` and link-local ${formatIpv6Bytes(buf, v + 20)}` : '')
        : `${nhl} bytes`;
  b.field(
    'bgp.update.path_attribute.mp_reach_nlri_next_hop',
    v + 3,
    1 + nhl,
    nh,
    `next hop (${nhl} bytes${nhl === 32 ? ': global + link-local, RFC 2545 §3' : ''})`,
    rfc,
  );
  b.field(
    'bgp.update.path_attribute.mp_reach.reserved',
    v + 4 + nhl,
    1,
    buf[v + 4 + nhl]!,
    'reserved (was SNPA count), must be 0',
    rfc,
  );
  walkPrefixes(b, buf, v + 5 + nhl, v + len, afi, 'bgp.mp_reach_nlri_prefix', 'reachable via the next hop above', rfc);
}

function walkNotification(b: LayerBuilder, buf: Buffer, o: number, end: number): void {
  if (end - o < 2) return;
  const s = `${R4271}.5`;
  const { code, subcode } = bgpNotificationName(buf[o]!, buf[o + 1]!);
  b.field('bgp.notify.major_error', o, 1, buf[o]!, code, s);
  b.field(
    'bgp.notify.minor_error',
    o + 1,
    1,
    buf[o + 1]!,
    subcode,
    buf[o] === NotificationCode.Cease ? 'RFC 4486 §4' : 'RFC 4271 §6',
  );
  if (end > o + 2)
    b.field(
      'bgp.notify.data',
      o + 2,
      end - o - 2,
      `${end - o - 2} bytes`,
      'diagnostic data (often the offending field)',
      s,
    );
}
