// @weft/route-sync: public surface (filled by its issue).
export {};
// bgp codec (types and errors)
export * from './types.ts';
export { BgpMessageError } from './codec/errors.ts';
export { encodeMessage, encodeMessageToBuffer, encodingLength, decodeMessage, DEFAULT_CONTEXT } from './codec/message.ts';
export { BgpDecoder, type FramerOptions } from './codec/framer.ts';
export { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH } from './codec/header.ts';
export { KEEPALIVE } from './codec/notification.ts';
export { openAsn } from './codec/open.ts';
export { parsePrefix, prefixKey, encodePrefix, prefixEncodingLength } from './codec/prefix.ts';
export { addAs4Attributes, mergeAs4Path } from './codec/aspath.ts';
export { routerMacCommunity, findRouterMac } from './codec/communities.ts';
export { resolveAttributes, findAttribute, updateRoutes, type UpdateRoutes } from './codec/resolve.ts';
export { ATTRIBUTE_SPECS } from './codec/attributes.ts';
// session FSM (RFC 4271 §8): pure core, injected clock
export * from './fsm/types.ts';
export { step, initialFsmState } from './fsm/fsm.ts';
export { validateOpen, negotiateHoldTime, collisionLoser, backoffSeconds, BGP_VERSION, MIN_HOLD_TIME, LARGE_HOLD_TIME } from './fsm/open.ts';
export { FakeClock, FsmTimers, systemClock, type Clock } from './fsm/clock.ts';
// RIBs (RFC 4271 §3.2, §9; RFC 4456 route reflection; RFC 4724 graceful restart helper)
export { Rib, ImportRejection, type BestChange, type Announcement, type OutboundUpdate, type RibConfig } from './rib/rib.ts';
export { decide, DecisionStep, type Decision } from './rib/decision.ts';
export { exportRoute, type RibPeer, type ExportContext, type ExportedRoute } from './rib/export.ts';
export { routeKey, emptyAttributes, compareAddresses, LOCAL_SOURCE, type Route, type RouteSource } from './rib/route.ts';
// speaker API and transports
export { Speaker, BgpConfigError, isPassiveInMesh, type SpeakerConfig, type AdvertiseOptions } from './speaker/speaker.ts';
export type { PeerConfig, PeerStatus } from './speaker/peer.ts';
export { MemoryNetwork, ConnectError, type Connection, type ConnectionHandlers, type Transport } from './speaker/connection.ts';
export { TcpTransport, BGP_PORT, type TcpTransportOptions } from './transport/tcp.ts';
