// Path attribute types (RFC 4271 §4.3, §5 and the RFCs that add attributes), split out of ../types.ts, which
// re-exports everything here: import them from '../types.ts' (or '@weft/route-sync').
// See the design notes atop ../types.ts: numeric enums with wire values, `Unrecognized = 256` as the discriminant of
// attributes we do not interpret, wire flags kept per attribute so decoded UPDATEs re-encode byte for byte.
import type { Afi, Prefix, Safi } from '../types.ts';

/** Attribute flag bits, the first octet of each attribute (RFC 4271 §4.3). */
export enum AttrFlag {
  Optional = 0x80,
  Transitive = 0x40,
  Partial = 0x20,
  ExtendedLength = 0x10,
}

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export enum AttrType {
  Origin = 1,
  AsPath = 2,
  NextHop = 3,
  MultiExitDisc = 4,
  LocalPref = 5,
  AtomicAggregate = 6,
  Aggregator = 7,
  Communities = 8, // RFC 1997
  OriginatorId = 9, // RFC 4456
  ClusterList = 10, // RFC 4456
  MpReachNlri = 14, // RFC 4760
  MpUnreachNlri = 15, // RFC 4760
  ExtendedCommunities = 16, // RFC 4360
  As4Path = 17, // RFC 6793
  As4Aggregator = 18, // RFC 6793
  LargeCommunity = 32, // RFC 8092
  /** Not a wire value: discriminant of `UnrecognizedAttribute`, whose `code` holds the real one. */
  Unrecognized = 256,
}

/** ORIGIN values (RFC 4271 §5.1.1). */
export enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2,
}

/** AS_PATH segment types (RFC 4271 §4.3; confederation types from RFC 5065). */
export enum AsPathSegmentType {
  AsSet = 1,
  AsSequence = 2,
  ConfedSequence = 3,
  ConfedSet = 4,
}

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

/** COMMUNITIES well-known values (RFC 1997). A community is a 32-bit unsigned number (ASN << 16 | value). */
export enum WellKnownCommunity {
  NoExport = 0xffffff01,
  NoAdvertise = 0xffffff02,
  NoExportSubconfed = 0xffffff03,
}

/** An extended community (RFC 4360): type octet, sub-type octet, 6-octet value. */
export interface ExtendedCommunity {
  /** High type octet (bit 0x40 = non-transitive). */
  type: number;
  subtype: number;
  /** 6 octets. For "regular" (1-octet type) communities this is still the last 6 bytes; `subtype` is byte 2. */
  value: Uint8Array;
}

/** A large community (RFC 8092): three 32-bit unsigned numbers. */
export interface LargeCommunity {
  globalAdmin: number;
  localData1: number;
  localData2: number;
}

/** Fields every attribute variant carries. */
interface AttributeBase {
  /**
   * Wire flags octet as received (decoder) or wanted (encoder). Optional on encode: the encoder then uses the
   * RFC's flags for the type. The ExtendedLength bit is honoured when set and forced on when length > 255.
   */
  flags?: number;
}

export interface OriginAttribute extends AttributeBase {
  type: AttrType.Origin;
  origin: Origin;
}
/** AS_PATH. Encoded with 2- or 4-octet ASNs depending on the session's `fourOctetAs`. */
export interface AsPathAttribute extends AttributeBase {
  type: AttrType.AsPath;
  segments: AsPathSegment[];
}
export interface NextHopAttribute extends AttributeBase {
  type: AttrType.NextHop;
  nextHop: string;
}
export interface MedAttribute extends AttributeBase {
  type: AttrType.MultiExitDisc;
  med: number;
}
export interface LocalPrefAttribute extends AttributeBase {
  type: AttrType.LocalPref;
  localPref: number;
}
export interface AtomicAggregateAttribute extends AttributeBase {
  type: AttrType.AtomicAggregate;
}
/** AGGREGATOR: 2- or 4-octet ASN by session context (AS_TRANS when it does not fit). */
export interface AggregatorAttribute extends AttributeBase {
  type: AttrType.Aggregator;
  asn: number;
  addr: string;
}
export interface CommunitiesAttribute extends AttributeBase {
  type: AttrType.Communities;
  communities: number[];
}
export interface OriginatorIdAttribute extends AttributeBase {
  type: AttrType.OriginatorId;
  originatorId: string;
}
export interface ClusterListAttribute extends AttributeBase {
  type: AttrType.ClusterList;
  clusterIds: string[];
}

/**
 * MP_REACH_NLRI (RFC 4760 §3). For IPv4/IPv6 unicast `nextHop` (and for a 32-byte IPv6 next hop `linkLocalNextHop`)
 * and `nlri` are decoded. For other families `nlri` is empty and `raw` holds the bytes after AFI/SAFI.
 */
export interface MpReachAttribute extends AttributeBase {
  type: AttrType.MpReachNlri;
  afi: Afi | number;
  safi: Safi | number;
  /** IPv4 (4-byte) or IPv6 global (16- or first half of 32-byte) next hop. */
  nextHop: string;
  /** Second half of a 32-byte IPv6 next hop (RFC 2545 §3). */
  linkLocalNextHop?: string;
  nlri: Prefix[];
  /** Unsupported family only: next hop length, next hop, reserved octet and NLRI as received. */
  raw?: Uint8Array;
}

/** MP_UNREACH_NLRI (RFC 4760 §4). An empty `withdrawn` for a family is that family's End-of-RIB (RFC 4724 §2). */
export interface MpUnreachAttribute extends AttributeBase {
  type: AttrType.MpUnreachNlri;
  afi: Afi | number;
  safi: Safi | number;
  withdrawn: Prefix[];
  /** Unsupported family only: the withdrawn routes bytes as received. */
  raw?: Uint8Array;
}

export interface ExtendedCommunitiesAttribute extends AttributeBase {
  type: AttrType.ExtendedCommunities;
  communities: ExtendedCommunity[];
}
/** AS4_PATH: always 4-octet ASNs; only sent to / received from 2-octet-AS sessions (RFC 6793 §4.2.2). */
export interface As4PathAttribute extends AttributeBase {
  type: AttrType.As4Path;
  segments: AsPathSegment[];
}
export interface As4AggregatorAttribute extends AttributeBase {
  type: AttrType.As4Aggregator;
  asn: number;
  addr: string;
}
export interface LargeCommunityAttribute extends AttributeBase {
  type: AttrType.LargeCommunity;
  communities: LargeCommunity[];
}

/**
 * An attribute we do not interpret. Optional transitive ones are passed on with the Partial bit set
 * (RFC 4271 §5); optional non-transitive ones are dropped by the speaker. Unrecognized well-known attributes never
 * reach here: they are an UPDATE error.
 */
export interface UnrecognizedAttribute extends AttributeBase {
  type: AttrType.Unrecognized;
  /** The wire attribute type code (0..255). */
  code: number;
  flags: number;
  value: Uint8Array;
}

export type PathAttribute =
  | OriginAttribute
  | AsPathAttribute
  | NextHopAttribute
  | MedAttribute
  | LocalPrefAttribute
  | AtomicAggregateAttribute
  | AggregatorAttribute
  | CommunitiesAttribute
  | OriginatorIdAttribute
  | ClusterListAttribute
  | MpReachAttribute
  | MpUnreachAttribute
  | ExtendedCommunitiesAttribute
  | As4PathAttribute
  | As4AggregatorAttribute
  | LargeCommunityAttribute
  | UnrecognizedAttribute;

// ---------------------------------------------------------------------------------------------------------------
// Resolved view for the RIB

/**
 * The attributes of an UPDATE resolved for route selection: one field per attribute, AS_PATH/AGGREGATOR merged
 * with AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.3), MP attributes and NEXT_HOP left out (they are per family).
 */
export interface RouteAttributes {
  origin?: Origin;
  asPath: AsPathSegment[];
  med?: number;
  localPref?: number;
  atomicAggregate: boolean;
  aggregator?: { asn: number; addr: string };
  communities: number[];
  extendedCommunities: ExtendedCommunity[];
  largeCommunities: LargeCommunity[];
  originatorId?: string;
  clusterList: string[];
  /** Unrecognized optional transitive attributes to pass on (the encoder sets Partial). */
  unrecognized: UnrecognizedAttribute[];
}
