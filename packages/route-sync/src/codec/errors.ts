// Typed BGP decode errors: each carries the NOTIFICATION to send (RFC 4271 §4.5, §6) and the RFC 7606 handling.
import {
  ErrorHandling,
  HeaderErrorSubcode,
  MessageType,
  NotificationCode,
  UpdateErrorSubcode,
  type Message,
  type NotificationMessage,
} from '../types.ts';

/**
 * A malformed BGP message. `code`/`subcode`/`data` are the NOTIFICATION the RFCs require; `handling` says what the
 * session does (RFC 7606 §2):
 * - SessionReset (thrown by the framer/decoders): send `toNotification()`, close, do not continue the read loop.
 * - TreatAsWithdraw / AttributeDiscard: never thrown; they ride on the decoded UPDATE (`UpdateMessage.errors`) and
 *   the session continues. No NOTIFICATION is sent for them.
 */
export class BgpMessageError extends Error {
  override readonly name = 'BgpMessageError';
  /** Messages decoded from the same `write()` chunk before this error, in order (framer only). */
  messages: Message[] = [];

  constructor(
    readonly code: NotificationCode,
    readonly subcode: number,
    readonly data: Uint8Array,
    readonly handling: ErrorHandling,
    message: string,
    /** Attribute type code the error is about, when there is one. */
    readonly attrType?: number,
  ) {
    super(message);
  }

  /** The NOTIFICATION to send for this error (only meaningful for SessionReset). */
  toNotification(): NotificationMessage {
    return { type: MessageType.Notification, code: this.code, subcode: this.subcode, data: this.data };
  }
}

const EMPTY = new Uint8Array(0);

/** Message Header Error (RFC 4271 §6.1): always a session reset. */
export function headerError(subcode: HeaderErrorSubcode, data: Uint8Array, message: string): BgpMessageError {
  return new BgpMessageError(NotificationCode.MessageHeaderError, subcode, data, ErrorHandling.SessionReset, message);
}

/** OPEN Message Error (RFC 4271 §6.2): always a session reset. */
export function openError(subcode: number, message: string, data: Uint8Array = EMPTY): BgpMessageError {
  return new BgpMessageError(NotificationCode.OpenMessageError, subcode, data, ErrorHandling.SessionReset, message);
}

/** UPDATE Message Error (RFC 4271 §6.3) with the RFC 7606 handling chosen by the caller. */
export function updateError(
  subcode: UpdateErrorSubcode,
  handling: ErrorHandling,
  message: string,
  data: Uint8Array = EMPTY,
  attrType?: number,
): BgpMessageError {
  return new BgpMessageError(NotificationCode.UpdateMessageError, subcode, data, handling, message, attrType);
}
