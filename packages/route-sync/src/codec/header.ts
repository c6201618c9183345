// The BGP message header (RFC 4271 §4.1), checked per §6.1.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |
//   +                                                               +
//   |                           Marker                              |
//   +                     (16 octets, all ones)                     +
//   |                                                               |
//   +                                                               +
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Length               |      Type     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts the whole message, header included: 19..4096 (65535 with RFC 8654 extended messages).
import { HeaderErrorSubcode, MessageType, NotificationCode, ErrorHandling, type CodecContext } from '../types.ts';
import { BgpMessageError, headerError } from './errors.ts';
import { copyBytes } from './bytes.ts';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19; // 16 marker + 2 length + 1 type
export const MAX_MESSAGE_LENGTH = 4096; // RFC 4271 §4
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535; // RFC 8654 §4

/** Smallest legal length per type (RFC 4271 §6.1; ROUTE-REFRESH is fixed at 23, RFC 2918 §3). */
const MIN_LENGTH: Record<MessageType, number> = {
  [MessageType.Open]: 29, // header + version 1 + AS 2 + hold 2 + id 4 + opt len 1
  [MessageType.Update]: 23, // header + withdrawn len 2 + attr len 2
  [MessageType.Notification]: 21, // header + code 1 + subcode 1
  [MessageType.Keepalive]: 19, // header only, and exactly that
  [MessageType.RouteRefresh]: 23, // header + AFI 2 + subtype 1 + SAFI 1
};

export interface MessageHeader {
  length: number;
  type: MessageType;
}

/** The largest message this session may carry. */
export function maxMessageLength(ctx: CodecContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/** Writes marker, length and type at `offset`; returns HEADER_LENGTH. The caller ensures the room. */
export function encodeHeader(h: MessageHeader, buf: Uint8Array, offset: number): number {
  buf.fill(0xff, offset, offset + MARKER_LENGTH);
  buf[offset + 16] = h.length >> 8;
  buf[offset + 17] = h.length & 0xff;
  buf[offset + 18] = h.type;
  return HEADER_LENGTH;
}

/**
 * Decodes and checks the header at `offset` (needs HEADER_LENGTH bytes; the caller checks). Throws a session-reset
 * BgpMessageError per RFC 4271 §6.1: marker not all ones, length out of range or impossible for the type, unknown
 * type. The length check here does not need the body to be present yet, so the framer can reject early.
 */
export function decodeHeader(buf: Uint8Array, offset: number, ctx: CodecContext): MessageHeader {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[offset + i] !== 0xff) {
      throw headerError(HeaderErrorSubcode.ConnectionNotSynchronized, new Uint8Array(0), 'marker is not all ones');
    }
  }
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  const type = buf[offset + 18]!;
  if (length < HEADER_LENGTH || length > maxMessageLength(ctx)) {
    throw headerError(
      HeaderErrorSubcode.BadMessageLength,
      lengthField(buf, offset),
      `message length ${length} out of range`,
    );
  }
  if (!(type in MIN_LENGTH)) {
    throw headerError(HeaderErrorSubcode.BadMessageType, Uint8Array.of(type), `unknown message type ${type}`);
  }
  const min = MIN_LENGTH[type as MessageType];
  if (type === MessageType.RouteRefresh && length !== min) {
    // RFC 7313 §5: its own error code; the data is the message (as much of it as has arrived).
    throw new BgpMessageError(
      NotificationCode.RouteRefreshMessageError,
      1,
      copyBytes(buf, offset, Math.min(buf.length, offset + length)),
      ErrorHandling.SessionReset,
      `ROUTE-REFRESH length ${length} != 23`,
    );
  }
  if (length < min || (type === MessageType.Keepalive && length !== min)) {
    throw headerError(
      HeaderErrorSubcode.BadMessageLength,
      lengthField(buf, offset),
      `length ${length} impossible for type ${type}`,
    );
  }
  return { length, type };
}

/** §6.1: the data of a Bad Message Length error is the erroneous Length field. */
function lengthField(buf: Uint8Array, offset: number): Uint8Array {
  return copyBytes(buf, offset + 16, offset + 18);
}
