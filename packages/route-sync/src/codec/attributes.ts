// Path attributes (RFC 4271 §4.3, §5) and what to do when one is malformed (RFC 7606 §3, §7).
//
// Every attribute is a TLV:
//   +----------------+----------------+--------------------------------+------------------+
//   | Attr. Flags (1)| Attr. Type (1) | Length (1, or 2 if Extended)   | Value (Length)   |
//   +----------------+----------------+--------------------------------+------------------+
//   Flags: 0x80 Optional | 0x40 Transitive | 0x20 Partial | 0x10 Extended Length; low 4 bits unused.
//
// Simple values here:  ORIGIN 1 octet (0 IGP, 1 EGP, 2 INCOMPLETE) | NEXT_HOP, ORIGINATOR_ID 4 octets (IPv4)
//   MED, LOCAL_PREF 4 octets | ATOMIC_AGGREGATE empty | AGGREGATOR ASN (2 or 4) + IPv4 | CLUSTER_LIST n x 4.
// AS paths live in aspath.ts, communities in communities.ts, MP_REACH/MP_UNREACH in mp.ts.
//
// Design notes: each known type has a spec (its Optional/Transitive bits and its RFC 7606 §7 handling). A value
// decoder throws a local syntax error with the subcode; decodeAttribute wraps it in a BgpMessageError carrying the
// attribute's bytes (RFC 4271 §6.3 data) and the spec's handling, so the UPDATE decoder can just collect errors.
import {
  AttrFlag,
  AttrType,
  ErrorHandling,
  Origin,
  UpdateErrorSubcode,
  type CodecContext,
  type PathAttribute,
} from '../types.ts';
import { AsPathSyntaxError, asPathValueLength, decodeAsPathValue, encodeAsPathValue, wireCode } from './aspath.ts';
import * as comm from './communities.ts';
import { BgpMessageError, updateError } from './errors.ts';
import * as mp from './mp.ts';
import { formatIpv4, writeIpv4 } from './prefix.ts';
import { copyBytes, readU32, writeU32 } from './bytes.ts';

const WELL_KNOWN = AttrFlag.Transitive; // Optional 0, Transitive 1
const OPT_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPT_NON_TRANSITIVE = AttrFlag.Optional;
const TAW = ErrorHandling.TreatAsWithdraw;
const DISCARD = ErrorHandling.AttributeDiscard;
const RESET = ErrorHandling.SessionReset;

/** Flags (Optional|Transitive bits) and RFC 7606 §7 handling per known attribute. */
export const ATTRIBUTE_SPECS: Record<
  Exclude<AttrType, AttrType.Unrecognized>,
  { flags: number; onError: ErrorHandling }
> = {
  [AttrType.Origin]: { flags: WELL_KNOWN, onError: TAW }, // §7.1
  [AttrType.AsPath]: { flags: WELL_KNOWN, onError: TAW }, // §7.2
  [AttrType.NextHop]: { flags: WELL_KNOWN, onError: TAW }, // §7.3
  [AttrType.MultiExitDisc]: { flags: OPT_NON_TRANSITIVE, onError: TAW }, // §7.4
  [AttrType.LocalPref]: { flags: WELL_KNOWN, onError: TAW }, // §7.5
  [AttrType.AtomicAggregate]: { flags: WELL_KNOWN, onError: DISCARD }, // §7.6
  [AttrType.Aggregator]: { flags: OPT_TRANSITIVE, onError: DISCARD }, // §7.7
  [AttrType.Communities]: { flags: OPT_TRANSITIVE, onError: TAW }, // §7.8
  [AttrType.OriginatorId]: { flags: OPT_NON_TRANSITIVE, onError: TAW }, // §7.9
  [AttrType.ClusterList]: { flags: OPT_NON_TRANSITIVE, onError: TAW }, // §7.10
  [AttrType.MpReachNlri]: { flags: OPT_NON_TRANSITIVE, onError: RESET }, // §7.11
  [AttrType.MpUnreachNlri]: { flags: OPT_NON_TRANSITIVE, onError: RESET }, // §7.11
  [AttrType.ExtendedCommunities]: { flags: OPT_TRANSITIVE, onError: TAW }, // §7.14
  [AttrType.As4Path]: { flags: OPT_TRANSITIVE, onError: DISCARD }, // RFC 6793 §6
  [AttrType.As4Aggregator]: { flags: OPT_TRANSITIVE, onError: DISCARD }, // RFC 6793 §6
  [AttrType.LargeCommunity]: { flags: OPT_TRANSITIVE, onError: TAW }, // RFC 8092 §6
};

/** A value decoder's complaint: the subcode to report. */
class AttrSyntaxError extends Error {
  constructor(
    readonly subcode: UpdateErrorSubcode,
    message: string,
  ) {
    super(message);
  }
}

function expectLength(len: number, ok: boolean, what: string): void {
  if (!ok) throw new AttrSyntaxError(UpdateErrorSubcode.AttributeLengthError, `${what} length ${len}`);
}

/** Bytes of an attribute's value (without the flags/type/length header) under `ctx`. */
export function attributeValueLength(a: PathAttribute, ctx: CodecContext): number {
  const asnBytes = ctx.fourOctetAs ? 4 : 2;
  switch (a.type) {
    case AttrType.Origin:
      return 1;
    case AttrType.AsPath:
      return asPathValueLength(a.segments, asnBytes);
    case AttrType.NextHop:
    case AttrType.MultiExitDisc:
    case AttrType.LocalPref:
    case AttrType.OriginatorId:
      return 4;
    case AttrType.AtomicAggregate:
      return 0;
    case AttrType.Aggregator:
      return asnBytes + 4;
    case AttrType.Communities:
      return 4 * a.communities.length;
    case AttrType.ClusterList:
      return 4 * a.clusterIds.length;
    case AttrType.MpReachNlri:
      return mp.mpReachValueLength(a);
    case AttrType.MpUnreachNlri:
      return mp.mpUnreachValueLength(a);
    case AttrType.ExtendedCommunities:
      return 8 * a.communities.length;
    case AttrType.As4Path:
      return asPathValueLength(a.segments, 4);
    case AttrType.As4Aggregator:
      return 8;
    case AttrType.LargeCommunity:
      return 12 * a.communities.length;
    case AttrType.Unrecognized:
      return a.value.length;
  }
}

/** The flags octet to send: the attribute's own if set, else the spec's; Extended Length forced past 255 bytes. */
function flagsFor(a: PathAttribute, valueLen: number): number {
  const base = a.type === AttrType.Unrecognized ? a.flags : (a.flags ?? ATTRIBUTE_SPECS[a.type].flags);
  return valueLen > 255 ? base | AttrFlag.ExtendedLength : base;
}

/** Bytes of the whole attribute TLV. */
export function attributeEncodingLength(a: PathAttribute, ctx: CodecContext): number {
  const len = attributeValueLength(a, ctx);
  return (flagsFor(a, len) & AttrFlag.ExtendedLength ? 4 : 3) + len;
}

/** Encodes one attribute TLV at `offset`; returns bytes written. Throws RangeError/TypeError on impossible input. */
export function encodeAttribute(a: PathAttribute, buf: Uint8Array, offset: number, ctx: CodecContext): number {
  const len = attributeValueLength(a, ctx);
  if (len > 0xffff) throw new RangeError(`attribute ${wireCode(a)} value of ${len} bytes`);
  const flags = flagsFor(a, len);
  buf[offset] = flags;
  buf[offset + 1] = wireCode(a);
  let v = offset + 3;
  if (flags & AttrFlag.ExtendedLength) {
    buf[offset + 2] = len >> 8;
    buf[offset + 3] = len & 0xff;
    v = offset + 4;
  } else buf[offset + 2] = len;
  const written = encodeValue(a, buf, v, ctx);
  if (written !== len) throw new Error(`attribute ${wireCode(a)}: wrote ${written} of ${len} bytes`); // a codec bug
  return v - offset + len;
}

function encodeValue(a: PathAttribute, buf: Uint8Array, v: number, ctx: CodecContext): number {
  const asnBytes = ctx.fourOctetAs ? 4 : 2;
  switch (a.type) {
    case AttrType.Origin:
      buf[v] = a.origin;
      return 1;
    case AttrType.AsPath:
      return encodeAsPathValue(a.segments, asnBytes, buf, v);
    case AttrType.NextHop:
      writeIpv4(a.nextHop, buf, v);
      return 4;
    case AttrType.MultiExitDisc:
      return writeU32(buf, v, a.med);
    case AttrType.LocalPref:
      return writeU32(buf, v, a.localPref);
    case AttrType.AtomicAggregate:
      return 0;
    case AttrType.Aggregator:
      return encodeAggregator(a.asn, a.addr, asnBytes, buf, v);
    case AttrType.Communities:
      return comm.encodeCommunities(a.communities, buf, v);
    case AttrType.OriginatorId:
      writeIpv4(a.originatorId, buf, v);
      return 4;
    case AttrType.ClusterList:
      a.clusterIds.forEach((id, i) => writeIpv4(id, buf, v + 4 * i));
      return 4 * a.clusterIds.length;
    case AttrType.MpReachNlri:
      return mp.encodeMpReachValue(a, buf, v);
    case AttrType.MpUnreachNlri:
      return mp.encodeMpUnreachValue(a, buf, v);
    case AttrType.ExtendedCommunities:
      return comm.encodeExtendedCommunities(a.communities, buf, v);
    case AttrType.As4Path:
      return encodeAsPathValue(a.segments, 4, buf, v);
    case AttrType.As4Aggregator:
      return encodeAggregator(a.asn, a.addr, 4, buf, v);
    case AttrType.LargeCommunity:
      return comm.encodeLargeCommunities(a.communities, buf, v);
    case AttrType.Unrecognized:
      buf.set(a.value, v);
      return a.value.length;
  }
}

function encodeAggregator(asn: number, addr: string, asnBytes: 2 | 4, buf: Uint8Array, v: number): number {
  if (asnBytes === 4) writeU32(buf, v, asn);
  else {
    const low = asn > 0xffff ? 23456 : asn; // AS_TRANS
    buf[v] = low >> 8;
    buf[v + 1] = low & 0xff;
  }
  writeIpv4(addr, buf, v + asnBytes);
  return asnBytes + 4;
}

/** Where one attribute sits in the message: decodeAttribute's input, from update.ts's TLV walk. */
export interface AttributeSlice {
  flags: number;
  code: number;
  /** Offset of the value and its length. */
  value: number;
  length: number;
  /** Offsets of the whole TLV, for error data. */
  start: number;
  end: number;
}

/**
 * Decodes one attribute whose TLV update.ts has already located. Returns the attribute, or a BgpMessageError with
 * the RFC 7606 handling (never thrown here, so the caller decides: throw for SessionReset, collect the rest).
 * Unrecognized well-known (non-optional) codes give a SessionReset error (RFC 4271 §6.3).
 */
export function decodeAttribute(
  buf: Uint8Array,
  s: AttributeSlice,
  ctx: CodecContext,
): PathAttribute | BgpMessageError {
  if (!(s.code in ATTRIBUTE_SPECS)) {
    if (!(s.flags & AttrFlag.Optional)) {
      return updateError(
        UpdateErrorSubcode.UnrecognizedWellKnownAttribute,
        RESET,
        `unrecognized well-known attribute ${s.code}`,
        copyBytes(buf, s.start, s.end),
        s.code,
      );
    }
    return {
      type: AttrType.Unrecognized,
      code: s.code,
      flags: s.flags,
      value: copyBytes(buf, s.value, s.value + s.length),
    };
  }
  const spec = ATTRIBUTE_SPECS[s.code as keyof typeof ATTRIBUTE_SPECS];
  if ((s.flags & OPT_TRANSITIVE) !== spec.flags) {
    return updateError(
      UpdateErrorSubcode.AttributeFlagsError,
      spec.onError,
      `attribute ${s.code} flags 0x${s.flags.toString(16)}`,
      copyBytes(buf, s.start, s.end),
      s.code,
    );
  }
  try {
    const attr = decodeValue(s.code as AttrType, buf, s.value, s.length, ctx);
    attr.flags = s.flags;
    return attr;
  } catch (e) {
    const subcode =
      e instanceof AttrSyntaxError
        ? e.subcode
        : e instanceof AsPathSyntaxError
          ? UpdateErrorSubcode.MalformedAsPath
          : e instanceof mp.MpSyntaxError
            ? UpdateErrorSubcode.OptionalAttributeError
            : e instanceof comm.CommunityLengthError
              ? UpdateErrorSubcode.AttributeLengthError
              : undefined;
    if (subcode === undefined) throw e;
    return updateError(
      subcode,
      spec.onError,
      `attribute ${s.code}: ${(e as Error).message}`,
      copyBytes(buf, s.start, s.end),
      s.code,
    );
  }
}

function decodeValue(type: AttrType, buf: Uint8Array, v: number, len: number, ctx: CodecContext): PathAttribute {
  const asnBytes = ctx.fourOctetAs ? 4 : 2;
  switch (type) {
    case AttrType.Origin: {
      expectLength(len, len === 1, 'ORIGIN');
      const origin = buf[v]!;
      if (origin > Origin.Incomplete)
        throw new AttrSyntaxError(UpdateErrorSubcode.InvalidOriginAttribute, `ORIGIN ${origin}`);
      return { type, origin };
    }
    case AttrType.AsPath:
      return { type, segments: decodeAsPathValue(buf, v, v + len, asnBytes) };
    case AttrType.NextHop:
      expectLength(len, len === 4, 'NEXT_HOP');
      return { type, nextHop: formatIpv4(buf, v) };
    case AttrType.MultiExitDisc:
      expectLength(len, len === 4, 'MED');
      return { type, med: readU32(buf, v) };
    case AttrType.LocalPref:
      expectLength(len, len === 4, 'LOCAL_PREF');
      return { type, localPref: readU32(buf, v) };
    case AttrType.AtomicAggregate:
      expectLength(len, len === 0, 'ATOMIC_AGGREGATE');
      return { type };
    case AttrType.Aggregator: {
      expectLength(len, len === asnBytes + 4, 'AGGREGATOR');
      const asn = asnBytes === 4 ? readU32(buf, v) : (buf[v]! << 8) | buf[v + 1]!;
      return { type, asn, addr: formatIpv4(buf, v + asnBytes) };
    }
    case AttrType.Communities:
      return { type, communities: comm.decodeCommunities(buf, v, len) };
    case AttrType.OriginatorId:
      expectLength(len, len === 4, 'ORIGINATOR_ID');
      return { type, originatorId: formatIpv4(buf, v) };
    case AttrType.ClusterList: {
      expectLength(len, len > 0 && len % 4 === 0, 'CLUSTER_LIST');
      const clusterIds: string[] = [];
      for (let o = v; o < v + len; o += 4) clusterIds.push(formatIpv4(buf, o));
      return { type, clusterIds };
    }
    case AttrType.MpReachNlri:
      return mp.decodeMpReachValue(buf, v, len);
    case AttrType.MpUnreachNlri:
      return mp.decodeMpUnreachValue(buf, v, len);
    case AttrType.ExtendedCommunities:
      return { type, communities: comm.decodeExtendedCommunities(buf, v, len) };
    case AttrType.As4Path:
      return { type, segments: decodeAsPathValue(buf, v, v + len, 4) };
    case AttrType.As4Aggregator:
      expectLength(len, len === 8, 'AS4_AGGREGATOR');
      return { type, asn: readU32(buf, v), addr: formatIpv4(buf, v + 4) };
    case AttrType.LargeCommunity:
      return { type, communities: comm.decodeLargeCommunities(buf, v, len) };
    case AttrType.Unrecognized:
      throw new Error('unreachable');
  }
}
