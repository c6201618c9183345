// OPEN checks, hold-time negotiation, collision resolution and reconnect back-off: the decisions the FSM
// makes, as small pure functions that tests can call one by one.
import { NotificationCode, OpenErrorSubcode } from '../types.ts';
import { type FsmConfig, type Notification, type OpenInfo } from './types.ts';

/** The only BGP version in use (RFC 4271 §4.2). */
export const BGP_VERSION = 4;
/** §4.2: a non-zero hold time must be at least 3 seconds. */
export const MIN_HOLD_TIME = 3;
/** §8.2.2: while waiting for the peer's OPEN the hold timer is set to "a large value"; 4 minutes is suggested. */
export const LARGE_HOLD_TIME = 240;

/**
 * Validates a received OPEN against our config (§6.2). Returns the NOTIFICATION to send, or null when the
 * OPEN is acceptable.
 */
export function validateOpen(cfg: FsmConfig, open: OpenInfo): Notification | null {
  if (open.version !== BGP_VERSION) {
    // §6.2: the data field carries the largest version we support, as 2 octets.
    return openError(OpenErrorSubcode.UnsupportedVersionNumber, new Uint8Array([0, BGP_VERSION]));
  }
  if (open.as !== cfg.peerAs) return openError(OpenErrorSubcode.BadPeerAs);
  // §6.2 + RFC 6286 §2.2: zero is invalid; inside one AS the identifiers must differ.
  const sameAs = cfg.localAs === cfg.peerAs;
  if (open.bgpId === 0 || (sameAs && open.bgpId === cfg.localId)) return openError(OpenErrorSubcode.BadBgpIdentifier);
  if (open.holdTime !== 0 && open.holdTime < MIN_HOLD_TIME) return openError(OpenErrorSubcode.UnacceptableHoldTime);
  return null;
}

function openError(subcode: OpenErrorSubcode, data?: Uint8Array): Notification {
  return data
    ? { code: NotificationCode.OpenMessageError, subcode, data }
    : { code: NotificationCode.OpenMessageError, subcode };
}

/**
 * §4.2: the session uses the smaller of the two proposed hold times; keepalives go every third of it
 * (§10 suggests one third), and not at all when the hold time is 0.
 */
export function negotiateHoldTime(local: number, remote: number): { holdTime: number; keepaliveTime: number } {
  const holdTime = Math.min(local, remote);
  return { holdTime, keepaliveTime: Math.floor(holdTime / 3) };
}

/**
 * §6.8 connection collision: when two connections to one peer both reach OPEN, the one initiated by the
 * speaker with the lower BGP Identifier is closed. Identifiers compare as unsigned 32-bit integers.
 * Returns true when the connection whose direction is `outbound` (from our point of view) must be closed.
 */
export function collisionLoser(localId: number, remoteId: number, outbound: boolean): boolean {
  const localIsLower = localId >>> 0 < remoteId >>> 0;
  // The lower speaker's connection: ours (outbound) if we are lower, the peer's (inbound) otherwise.
  return outbound === localIsLower;
}

/**
 * Seconds to wait before the next automatic restart: `min * 2^(failures-1)` capped at `max`, plus up to
 * 25 % jitter so that many speakers restarting together do not reconnect in lockstep (§8.1.1 notes
 * oscillation damping). Zero failures means start at once.
 */
export function backoffSeconds(cfg: FsmConfig, failures: number): number {
  if (failures <= 0) return 0;
  const base = Math.min(cfg.backoff.max, cfg.backoff.min * 2 ** Math.min(failures - 1, 30));
  return base * (1 + 0.25 * cfg.jitter());
}
