// Typed errors of the decoders and encoders that run outside the per-packet hot path (control-plane parsing,
// fixtures, tools). The hot path never throws for a bad packet: it returns a DropReason (drop.ts) instead.
// Each class sets `name`, so callers can tell kinds apart without instanceof across package copies, and
// carries `offset`: where in the buffer (or string) the problem was found. Messages cite the RFC section.

/** Base class of every encap error. Not thrown itself. */
export class EncapError extends Error {
  override name = 'EncapError';
  constructor(
    message: string,
    /** Byte offset in the buffer (character index for text parsers) where the problem was found. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The buffer ends before the header does. The packet is unusable; a caller reading a stream should wait for more. */
export class TruncatedError extends EncapError {
  override name = 'TruncatedError';
  constructor(
    what: string,
    rfc: string,
    readonly needed: number,
    readonly available: number,
    offset: number,
  ) {
    super(`${what} needs ${needed} bytes at offset ${offset}, ${Math.max(available, 0)} present (${rfc})`, offset);
  }
}

/** The VXLAN I flag is clear, so the VNI is not valid (RFC 7348 section 5). Drop the packet. */
export class VxlanFlagsError extends EncapError {
  override name = 'VxlanFlagsError';
  constructor(
    readonly flags: number,
    offset: number,
  ) {
    super(
      `VXLAN flags 0x${flags.toString(16).padStart(2, '0')} at offset ${offset}: the I flag (0x08) must be set (RFC 7348 section 5)`,
      offset,
    );
  }
}

/** A value given to an encoder does not fit its field (a VNI over 24 bits, a port over 16). A caller bug. */
export class FieldRangeError extends EncapError {
  override name = 'FieldRangeError';
  constructor(
    field: string,
    readonly value: number,
    min: number,
    max: number,
    rfc: string,
    offset: number,
  ) {
    super(`${field} ${value} is outside ${min}..${max} (${rfc}), writing at offset ${offset}`, offset);
  }
}

/** A MAC address string or buffer is not 6 octets (IEEE 802; text form as in RFC 7042 section 2.1). */
export class MacAddressError extends EncapError {
  override name = 'MacAddressError';
  constructor(detail: string, offset: number) {
    super(
      `${detail} at offset ${offset}: a MAC address is 6 octets, written aa:bb:cc:dd:ee:ff (RFC 7042 section 2.1)`,
      offset,
    );
  }
}

/** An IPv4 or IPv6 address string does not parse (RFC 791 section 3.2 dotted quad, RFC 4291 section 2.2). */
export class AddressFormatError extends EncapError {
  override name = 'AddressFormatError';
  constructor(text: string, rfc: string, offset: number) {
    super(`cannot parse address "${text}" at character ${offset} (${rfc})`, offset);
  }
}

/** An IP header field contradicts the header itself (version, IHL, total length; RFC 791 section 3.1, RFC 8200 section 3). */
export class IpHeaderError extends EncapError {
  override name = 'IpHeaderError';
  constructor(detail: string, rfc: string, offset: number) {
    super(`${detail} at offset ${offset} (${rfc})`, offset);
  }
}

/** An ARP packet is not an Ethernet/IPv4 request or reply (RFC 826, "Packet format"). Ignore it. */
export class ArpFormatError extends EncapError {
  override name = 'ArpFormatError';
  constructor(detail: string, offset: number) {
    super(`${detail} at offset ${offset} (RFC 826, packet format: Ethernet/IPv4 request or reply expected)`, offset);
  }
}

/** Throws TruncatedError unless `[offset, offset + needed)` lies inside `[offset, end)`. */
export function need(what: string, rfc: string, needed: number, offset: number, end: number): void {
  if (offset < 0 || !Number.isInteger(offset) || end - offset < needed)
    throw new TruncatedError(what, rfc, needed, end - offset, offset);
}

/** End of the window a decoder may read: `offset + length`, never past the buffer. */
export function windowEnd(buf: Uint8Array, offset: number, length: number | undefined): number {
  return length === undefined ? buf.length : Math.min(buf.length, offset + Math.max(length, 0));
}
