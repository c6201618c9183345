// The one error class of @weft/netaddr. Text comes from config files, flags, leases and peers, so a message names
// the input and what is wrong with it; `code` lets callers branch without matching message text, and `position`
// (a character index into the input) lets codecs that report offsets keep doing so.

/** What is wrong with an address or prefix text. */
export type AddressErrorCode =
  | 'empty'
  | 'empty-part'
  | 'bad-character'
  | 'leading-zero'
  | 'octet-range'
  | 'octet-count'
  | 'group-range'
  | 'group-count'
  | 'double-colon'
  | 'embedded-ipv4'
  | 'zone-id'
  | 'prefix-length'
  | 'host-bits'
  | 'family';

/**
 * Thrown by the throwing parsers (parseIpv4, parseIpv6, parseIp and their prefix forms) and by subnet arithmetic
 * given out-of-range arguments. Never thrown on the hot path (packed forms do not parse text).
 */
export class AddressError extends Error {
  override name = 'AddressError';
  constructor(
    readonly code: AddressErrorCode,
    readonly input: string,
    detail: string,
    /** Character index in `input` where the problem starts (0 when it concerns the whole text). */
    readonly position = 0,
  ) {
    super(`"${input}": ${detail}`);
  }
}
