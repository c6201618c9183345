// Whole messages: header (header.ts) + body, dispatched on the type octet (RFC 4271 §4).
//
//   | Marker (16) | Length (2) | Type (1) | Body: OPEN / UPDATE / NOTIFICATION / (KEEPALIVE: none) / ROUTE-REFRESH |
import { MessageType, type CodecContext, type Message } from '../types.ts';
import { HEADER_LENGTH, decodeHeader, encodeHeader, maxMessageLength } from './header.ts';
import {
  KEEPALIVE,
  ROUTE_REFRESH_BODY_LENGTH,
  decodeNotificationBody,
  decodeRouteRefreshBody,
  encodeNotificationBody,
  encodeRouteRefreshBody,
  notificationBodyLength,
} from './notification.ts';
import { decodeOpenBody, encodeOpenBody, openBodyLength } from './open.ts';
import { decodeUpdateBody, encodeUpdateBody, updateBodyLength } from './update.ts';

/** Context for messages that do not depend on it (OPEN, and everything before negotiation). */
export const DEFAULT_CONTEXT: CodecContext = Object.freeze({ fourOctetAs: false });

function bodyLength(msg: Message, ctx: CodecContext): number {
  switch (msg.type) {
    case MessageType.Open:
      return openBodyLength(msg);
    case MessageType.Update:
      return updateBodyLength(msg, ctx);
    case MessageType.Notification:
      return notificationBodyLength(msg);
    case MessageType.Keepalive:
      return 0;
    case MessageType.RouteRefresh:
      return ROUTE_REFRESH_BODY_LENGTH;
  }
}

/** Bytes the whole message takes on the wire (header included) under `ctx`. */
export function encodingLength(msg: Message, ctx: CodecContext = DEFAULT_CONTEXT): number {
  return HEADER_LENGTH + bodyLength(msg, ctx);
}

/**
 * Encodes `msg` into `buf` at `offset`; returns the bytes written (= encodingLength). Throws RangeError when the
 * message exceeds the session's maximum (4096, or 65535 with extended messages) or `buf` lacks room, and
 * TypeError for malformed address text. The speaker splits large route sets across UPDATEs before encoding.
 */
export function encodeMessage(
  msg: Message,
  buf: Uint8Array,
  offset: number,
  ctx: CodecContext = DEFAULT_CONTEXT,
): number {
  const length = encodingLength(msg, ctx);
  if (length > maxMessageLength(ctx))
    throw new RangeError(`message of ${length} bytes exceeds ${maxMessageLength(ctx)}`);
  if (offset < 0 || offset + length > buf.length) throw new RangeError(`need ${length} bytes at offset ${offset}`);
  encodeHeader({ length, type: msg.type }, buf, offset);
  const body = offset + HEADER_LENGTH;
  switch (msg.type) {
    case MessageType.Open:
      encodeOpenBody(msg, buf, body);
      break;
    case MessageType.Update:
      encodeUpdateBody(msg, buf, body, ctx);
      break;
    case MessageType.Notification:
      encodeNotificationBody(msg, buf, body);
      break;
    case MessageType.Keepalive:
      break;
    case MessageType.RouteRefresh:
      encodeRouteRefreshBody(msg, buf, body);
      break;
  }
  return length;
}

/** Convenience: encodes into a new Buffer of exactly the right size (control plane; allocation is fine). */
export function encodeMessageToBuffer(msg: Message, ctx: CodecContext = DEFAULT_CONTEXT): Buffer {
  const buf = Buffer.alloc(encodingLength(msg, ctx));
  encodeMessage(msg, buf, 0, ctx);
  return buf;
}

/**
 * Decodes one whole message at `offset` (header included) and returns it with its length. Returns null if fewer
 * bytes than the header announces are present (the framer waits for more). Throws a session-reset
 * BgpMessageError for anything malformed; UPDATE treat-as-withdraw/attribute-discard ride on the message.
 * Byte arrays in the result are copies, so `buf` may be reused.
 */
export function decodeMessage(
  buf: Uint8Array,
  offset: number,
  ctx: CodecContext = DEFAULT_CONTEXT,
): { message: Message; length: number } | null {
  if (offset < 0 || buf.length - offset < HEADER_LENGTH) return null;
  const { length, type } = decodeHeader(buf, offset, ctx);
  if (buf.length - offset < length) return null;
  const body = offset + HEADER_LENGTH;
  const end = offset + length;
  return { message: decodeBody(type, buf, body, end, ctx), length };
}

function decodeBody(type: MessageType, buf: Uint8Array, body: number, end: number, ctx: CodecContext): Message {
  switch (type) {
    case MessageType.Open:
      return decodeOpenBody(buf, body, end);
    case MessageType.Update:
      return decodeUpdateBody(buf, body, end, ctx);
    case MessageType.Notification:
      return decodeNotificationBody(buf, body, end);
    case MessageType.Keepalive:
      return KEEPALIVE;
    case MessageType.RouteRefresh:
      return decodeRouteRefreshBody(buf, body);
  }
}
