// CNI error objects: what a plugin prints on stdout, with a non-zero exit, when an operation fails
// (`{"cniVersion", "code", "msg", "details"}`). Codes 1-99 are the spec's well-known ones; 100 and up are weft's.

/** Error codes: the spec's well-known codes (CNI spec, "Well-known Error Codes") and weft's own (100+). */
export enum CniErrorCode {
  IncompatibleVersion = 1,
  UnsupportedField = 2,
  UnknownContainer = 3,
  /** A required CNI_* variable is missing or wrong; the message names it (also: no delegate plugin in CNI_PATH). */
  InvalidEnvironment = 4,
  IoFailure = 5,
  DecodeFailure = 6,
  InvalidConfig = 7,
  /** Transient: the runtime may retry (subnet.env not written yet: the agent has no lease yet). */
  TryAgainLater = 11,
  /** weft: subnet.env exists but lacks a key or holds a value that does not parse. */
  SubnetEnvInvalid = 100,
  /** weft: the delegate plugin failed without printing a CNI error object of its own. */
  DelegateFailed = 101,
}

/** A failure the plugin reports as a CNI error object. Thrown by the core and the I/O layer; never retried inside. */
export class CniError extends Error {
  override name = 'CniError';

  constructor(
    readonly code: number,
    msg: string,
    readonly details = '',
  ) {
    super(msg);
  }

  /** The error object as the spec shapes it, stamped with the version of the configuration being answered. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * An error object a delegate plugin printed: passed through to the runtime unchanged (code, msg, details), as
 * flannel's plugin does, so the runtime sees bridge's or host-local's own words.
 */
export class DelegateError extends CniError {
  override name = 'DelegateError';
}
