// BGP-4 message and path attribute types (RFC 4271 and its extensions), shared by the codec, FSM, RIB and speaker.
//
// Design notes
// - Every wire number is a numeric enum holding the wire value. Messages are a discriminated union on `type`.
// - Open-ended code spaces (capabilities, path attributes) need a variant for codes we do not understand. Those
//   variants use the sentinel discriminant `Unrecognized = 256` (outside the one-octet code space, so it can never
//   collide) and keep the real wire code in `code`, so `if (a.type === AttrType.Origin)` narrows cleanly.
// - Prefixes are `{ afi, length, addr }` with `addr` the canonical text form (dotted quad; RFC 5952 compressed IPv6)
//   and every bit past `length` zero. Text makes prefixes usable as Map keys (`prefixKey`) and readable in logs.
// - An UPDATE keeps its attributes as an ordered list with their wire flags, so a decoded message re-encodes to the
//   same bytes. `RouteAttributes` is the resolved view a RIB wants (AS4_PATH merged, one field per attribute).
// - RFC 7606 errors that do not reset the session ride on the decoded UPDATE (`handling`, `errors`), so the session
//   can treat its routes as withdrawn instead of tearing down.
import type { BgpMessageError } from './codec/errors.ts';

// ---------------------------------------------------------------------------------------------------------------
// Message header (RFC 4271 §4.1)

/** Message type octet of the 19-byte header (RFC 4271 §4.1, RFC 2918 §3 for ROUTE-REFRESH). */
export enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

/** Address Family Identifier (IANA "Address Family Numbers"). */
export enum Afi {
  Ipv4 = 1,
  Ipv6 = 2,
}

/** Subsequent Address Family Identifier (RFC 4760 §6). Only unicast is decoded; others are carried raw. */
export enum Safi {
  Unicast = 1,
  Multicast = 2,
}

/** An IP prefix. `addr` is canonical text (RFC 5952 for IPv6) with all bits past `length` zero. */
export interface Prefix {
  afi: Afi;
  /** Prefix length in bits: 0..32 for IPv4, 0..128 for IPv6. */
  length: number;
  addr: string;
}

// ---------------------------------------------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2) and capabilities (RFC 5492)

/** Capability codes (IANA "Capability Codes"). Ones we decode have a typed `Capability` variant. */
export enum CapabilityCode {
  Multiprotocol = 1, // RFC 4760
  RouteRefresh = 2, // RFC 2918
  ExtendedNextHop = 5, // RFC 8950 (carried raw)
  ExtendedMessage = 6, // RFC 8654 (carried raw)
  GracefulRestart = 64, // RFC 4724
  FourOctetAs = 65, // RFC 6793
  AddPath = 69, // RFC 7911 (carried raw)
  EnhancedRouteRefresh = 70, // RFC 7313 (carried raw)
  LongLivedGracefulRestart = 71, // RFC 9494 (carried raw)
  Fqdn = 73, // draft-walton-bgp-hostname-capability (carried raw)
  /** Not a wire value: discriminant of `UnrecognizedCapability`, whose `code` holds the real one. */
  Unrecognized = 256,
}

/** AS_TRANS (RFC 6793 §9): stands in for a 4-octet AS number in 2-octet fields. */
export const AS_TRANS = 23456;

export interface MultiprotocolCapability {
  type: CapabilityCode.Multiprotocol;
  afi: Afi | number;
  safi: Safi | number;
}

export interface RouteRefreshCapability {
  type: CapabilityCode.RouteRefresh;
}

export interface FourOctetAsCapability {
  type: CapabilityCode.FourOctetAs;
  /** The speaker's real AS number, 0..2^32-1. */
  asn: number;
}

/** One <AFI, SAFI, flags> tuple of the graceful restart capability (RFC 4724 §3). */
export interface GracefulRestartFamily {
  afi: Afi | number;
  safi: Safi | number;
  /** F bit: forwarding state for this family was preserved across the restart. */
  forwardingPreserved: boolean;
}

export interface GracefulRestartCapability {
  type: CapabilityCode.GracefulRestart;
  /** R bit: the speaker has restarted (suppresses the peer's wait for End-of-RIB deadlock). */
  restarting: boolean;
  /** N bit (RFC 8538): graceful restart also covers NOTIFICATION-initiated resets. */
  notification: boolean;
  /** Restart Time in seconds, 12 bits (0..4095). */
  restartTime: number;
  families: GracefulRestartFamily[];
}

/** A capability we do not interpret, kept byte-for-byte so it can be logged or re-encoded. */
export interface UnrecognizedCapability {
  type: CapabilityCode.Unrecognized;
  /** The wire capability code (0..255). */
  code: number;
  value: Uint8Array;
}

export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | FourOctetAsCapability
  | GracefulRestartCapability
  | UnrecognizedCapability;

export interface OpenMessage {
  type: MessageType.Open;
  /** Always 4 on send; anything else is an OPEN error on receive. */
  version: number;
  /** The 2-octet My Autonomous System field: AS_TRANS when the real AS (in FourOctetAs) does not fit. */
  myAs: number;
  /** Hold Time in seconds: 0 or at least 3 (RFC 4271 §4.2). */
  holdTime: number;
  /** BGP Identifier as a dotted quad. */
  bgpId: string;
  /** Every capability, flattened over all Capabilities optional parameters, in wire order. */
  capabilities: Capability[];
  /**
   * How many capabilities each Capabilities optional parameter (type 2) carried, in order. Peers differ (one
   * parameter for all, or one each); the decoder records it so re-encoding is byte-exact. Absent: one parameter.
   */
  capabilityGroups?: number[];
}

// ---------------------------------------------------------------------------------------------------------------
// UPDATE (RFC 4271 §4.3) and path attributes (§5)

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

export interface OriginAttribute extends AttributeBase { type: AttrType.Origin; origin: Origin }
/** AS_PATH. Encoded with 2- or 4-octet ASNs depending on the session's `fourOctetAs`. */
export interface AsPathAttribute extends AttributeBase { type: AttrType.AsPath; segments: AsPathSegment[] }
export interface NextHopAttribute extends AttributeBase { type: AttrType.NextHop; nextHop: string }
export interface MedAttribute extends AttributeBase { type: AttrType.MultiExitDisc; med: number }
export interface LocalPrefAttribute extends AttributeBase { type: AttrType.LocalPref; localPref: number }
export interface AtomicAggregateAttribute extends AttributeBase { type: AttrType.AtomicAggregate }
/** AGGREGATOR: 2- or 4-octet ASN by session context (AS_TRANS when it does not fit). */
export interface AggregatorAttribute extends AttributeBase { type: AttrType.Aggregator; asn: number; addr: string }
export interface CommunitiesAttribute extends AttributeBase { type: AttrType.Communities; communities: number[] }
export interface OriginatorIdAttribute extends AttributeBase { type: AttrType.OriginatorId; originatorId: string }
export interface ClusterListAttribute extends AttributeBase { type: AttrType.ClusterList; clusterIds: string[] }

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
export interface As4PathAttribute extends AttributeBase { type: AttrType.As4Path; segments: AsPathSegment[] }
export interface As4AggregatorAttribute extends AttributeBase { type: AttrType.As4Aggregator; asn: number; addr: string }
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

export interface UpdateMessage {
  type: MessageType.Update;
  /** IPv4 unicast withdrawn routes (the classic field). */
  withdrawn: Prefix[];
  /** Path attributes in wire order. */
  attributes: PathAttribute[];
  /** IPv4 unicast NLRI (the classic field). */
  nlri: Prefix[];
  /**
   * Decoder only, RFC 7606: the strongest non-fatal handling that applied (TreatAsWithdraw or AttributeDiscard).
   * With TreatAsWithdraw the session must withdraw every prefix in `nlri` and in MP_REACH instead of installing
   * them. Session-reset errors are thrown instead and never appear here.
   */
  handling?: ErrorHandling;
  /** Decoder only: the errors behind `handling`, for logging. Discarded attributes are absent from `attributes`. */
  errors?: BgpMessageError[];
}

// ---------------------------------------------------------------------------------------------------------------
// NOTIFICATION (RFC 4271 §4.5, §6), KEEPALIVE (§4.4), ROUTE-REFRESH (RFC 2918, RFC 7313)

/** NOTIFICATION error codes (RFC 4271 §4.5; 7 from RFC 7313). */
export enum NotificationCode {
  MessageHeaderError = 1,
  OpenMessageError = 2,
  UpdateMessageError = 3,
  HoldTimerExpired = 4,
  FsmError = 5,
  Cease = 6,
  RouteRefreshMessageError = 7,
}

/** Subcodes of Message Header Error (RFC 4271 §6.1). */
export enum HeaderErrorSubcode {
  ConnectionNotSynchronized = 1,
  BadMessageLength = 2,
  BadMessageType = 3,
}

/** Subcodes of OPEN Message Error (RFC 4271 §6.2; 7 from RFC 5492). 5 is deprecated. */
export enum OpenErrorSubcode {
  Unspecific = 0,
  UnsupportedVersionNumber = 1,
  BadPeerAs = 2,
  BadBgpIdentifier = 3,
  UnsupportedOptionalParameter = 4,
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7,
}

/** Subcodes of UPDATE Message Error (RFC 4271 §6.3). 7 is deprecated. */
export enum UpdateErrorSubcode {
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}

/** Subcodes of Finite State Machine Error (RFC 6608). */
export enum FsmErrorSubcode {
  Unspecified = 0,
  UnexpectedInOpenSent = 1,
  UnexpectedInOpenConfirm = 2,
  UnexpectedInEstablished = 3,
}

/** Subcodes of Cease (RFC 4486; 9 from RFC 8538, 10 from RFC 9384). */
export enum CeaseSubcode {
  Unspecified = 0,
  MaxPrefixesReached = 1,
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  HardReset = 9,
  BfdDown = 10,
}

/** Subcodes of ROUTE-REFRESH Message Error (RFC 7313 §5). */
export enum RouteRefreshErrorSubcode {
  InvalidMessageLength = 1,
}

/**
 * How a receiver reacts to an error (RFC 7606 §2), ordered weakest to strongest so `Math.max` picks the one to
 * apply. Not a wire value.
 */
export enum ErrorHandling {
  /** Drop the malformed attribute, keep the route (RFC 7606 §2 "attribute discard"). */
  AttributeDiscard = 1,
  /** Treat every prefix in the UPDATE as withdrawn, keep the session (RFC 7606 §2 "treat-as-withdraw"). */
  TreatAsWithdraw = 2,
  /** Disable the AFI/SAFI (RFC 4760 §7 / RFC 7606 §2); we do not implement it and escalate to session reset. */
  AfiSafiDisable = 3,
  /** Send NOTIFICATION and close the session (RFC 4271 §6). */
  SessionReset = 4,
}

export interface NotificationMessage {
  type: MessageType.Notification;
  code: NotificationCode | number;
  /** Interpret with the enum for `code` (HeaderErrorSubcode, OpenErrorSubcode, ...). */
  subcode: number;
  /** Diagnostic data; may be empty. */
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: MessageType.Keepalive;
}

/** ROUTE-REFRESH message subtype, the old Reserved octet (RFC 7313 §3.2). */
export enum RouteRefreshSubtype {
  Normal = 0,
  BeginOfRouteRefresh = 1,
  EndOfRouteRefresh = 2,
}

export interface RouteRefreshMessage {
  type: MessageType.RouteRefresh;
  afi: Afi | number;
  safi: Safi | number;
  subtype: RouteRefreshSubtype | number;
}

export type Message = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

// ---------------------------------------------------------------------------------------------------------------
// Session context for the codec

/** What the session negotiated that changes the wire format. Passed to decoders and encoders. */
export interface CodecContext {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  fourOctetAs: boolean;
  /** Both sides sent the Extended Message capability (RFC 8654): max message 65535 instead of 4096. */
  extendedMessage?: boolean;
}

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
