// @weft/route-sync: a BGP-4 speaker (message codec, session FSM, RIB, TCP transport). The public face is what the
// agent's BGP route source, weft explain's BGP decoder, bench/ and tests outside this package use, with the types,
// config objects and error classes of those entry points; the FSM, the RIB internals and the codec's helpers are
// reached by this package's tests through their modules. Benchmark-only helpers: `@weft/route-sync/bench`.
// The message model (wire enums, messages, prefixes, path attributes)
export {
  Afi,
  MessageType,
  CapabilityCode,
  NotificationCode,
  HeaderErrorSubcode,
  OpenErrorSubcode,
  UpdateErrorSubcode,
  FsmErrorSubcode,
  CeaseSubcode,
  RouteRefreshErrorSubcode,
  ErrorHandling,
  type Prefix,
  type Message,
  type UpdateMessage,
  type CodecContext,
} from './types.ts';
export { AttrType, Origin, type PathAttribute } from './codec/attribute-types.ts';
// The codec as weft explain reads a capture: a stream framer, the header length, errors carrying their NOTIFICATION
export { BgpMessageError } from './codec/errors.ts';
export { BgpDecoder, type FramerOptions } from './codec/framer.ts';
export { HEADER_LENGTH } from './codec/header.ts';
export { encodeMessageToBuffer } from './codec/message.ts';
// The speaker as the agent runs it
export {
  Speaker,
  BgpConfigError,
  isPassiveInMesh,
  type SpeakerConfig,
  type AdvertiseOptions,
} from './speaker/speaker.ts';
export type { PeerConfig, PeerStatus } from './speaker/peer.ts';
export { MemoryNetwork, type Transport } from './speaker/connection.ts';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp.ts';
export { routerMacCommunity, findRouterMac } from './codec/communities.ts';
export { LOCAL_SOURCE, type Route } from './rib/route.ts';
export type { BestChange } from './rib/rib.ts';
