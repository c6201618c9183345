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
import type { PathAttribute } from './codec/attribute-types.ts';

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
// UPDATE (RFC 4271 §4.3); its path attributes (§5) are in codec/attribute-types.ts, re-exported here.

export * from './codec/attribute-types.ts';

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
