// The three small messages: NOTIFICATION (RFC 4271 §4.5), KEEPALIVE (§4.4), ROUTE-REFRESH (RFC 2918 §3,
// subtypes from RFC 7313 §3.2).
//
// NOTIFICATION body:                       ROUTE-REFRESH body:
//   +-----------+-----------+---------+      +-------------------------------+-----------+-----------+
//   | Error code| Subcode   | Data... |      |           AFI (2)             | Subtype   |  SAFI     |
//   +-----------+-----------+---------+      +-------------------------------+-----------+-----------+
//
// KEEPALIVE has no body: it is the 19-byte header alone (length exactly 19, checked in header.ts).
import { MessageType, type KeepaliveMessage, type NotificationMessage, type RouteRefreshMessage } from '../types.ts';
import { copyBytes } from './bytes.ts';

export const ROUTE_REFRESH_BODY_LENGTH = 4; // AFI 2 + subtype 1 + SAFI 1

/** Bytes of the NOTIFICATION body: code + subcode + data. */
export function notificationBodyLength(msg: NotificationMessage): number {
  return 2 + msg.data.length;
}

/** Encodes the NOTIFICATION body at `offset`; returns bytes written. */
export function encodeNotificationBody(msg: NotificationMessage, buf: Uint8Array, offset: number): number {
  buf[offset] = msg.code;
  buf[offset + 1] = msg.subcode;
  buf.set(msg.data, offset + 2);
  return 2 + msg.data.length;
}

/**
 * Decodes a NOTIFICATION body in `buf[start, end)` (at least 2 bytes: header.ts checks). Never throws: unknown codes
 * are kept as numbers, since answering a NOTIFICATION with another is pointless. `data` is a copy.
 */
export function decodeNotificationBody(buf: Uint8Array, start: number, end: number): NotificationMessage {
  return {
    type: MessageType.Notification,
    code: buf[start]!,
    subcode: buf[start + 1]!,
    data: copyBytes(buf, start + 2, end),
  };
}

/** Encodes a ROUTE-REFRESH body at `offset`; returns ROUTE_REFRESH_BODY_LENGTH. */
export function encodeRouteRefreshBody(msg: RouteRefreshMessage, buf: Uint8Array, offset: number): number {
  buf[offset] = msg.afi >> 8;
  buf[offset + 1] = msg.afi & 0xff;
  buf[offset + 2] = msg.subtype;
  buf[offset + 3] = msg.safi;
  return ROUTE_REFRESH_BODY_LENGTH;
}

/**
 * Decodes a ROUTE-REFRESH body at `start` (exactly 4 bytes: header.ts checks). Unknown AFI/SAFI/subtype values are
 * returned as numbers; RFC 2918 §4 says the receiver ignores a refresh for a family it did not negotiate, and
 * RFC 7313 §5 says to ignore unknown subtypes: both are the session's decision.
 */
export function decodeRouteRefreshBody(buf: Uint8Array, start: number): RouteRefreshMessage {
  return {
    type: MessageType.RouteRefresh,
    afi: (buf[start]! << 8) | buf[start + 1]!,
    subtype: buf[start + 2]!,
    safi: buf[start + 3]!,
  };
}

/** The only KEEPALIVE there is. */
export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: MessageType.Keepalive });
