// OPEN message body (RFC 4271 §4.2), checked per §6.2; capabilities in optional parameter 2 (RFC 5492 §4).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+
//   |    Version    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     My Autonomous System      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Hold Time           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         BGP Identifier                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Opt Parm Len  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |             Optional Parameters (variable)                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each optional parameter is Type (1) | Length (1) | Value. Only type 2 (Capabilities) is defined today; any other
// type is "Unsupported Optional Parameter". Peer AS and hold-time policy are the session's business, not ours.
import {
  AS_TRANS,
  CapabilityCode,
  MessageType,
  OpenErrorSubcode,
  type Capability,
  type OpenMessage,
} from '../types.ts';
import { capabilityEncodingLength, decodeCapabilities, encodeCapability } from './capabilities.ts';
import { openError } from './errors.ts';
import { formatIpv4, writeIpv4 } from './prefix.ts';
import { copyBytes } from './bytes.ts';

const OPEN_FIXED_LENGTH = 10; // version 1 + AS 2 + hold 2 + id 4 + opt parm len 1
const PARAM_CAPABILITIES = 2;
const BGP_VERSION = 4;

/** The capability groups to encode: the recorded layout if it adds up, else one parameter for all. */
function groups(msg: OpenMessage): Capability[][] {
  const caps = msg.capabilities;
  const layout = msg.capabilityGroups;
  if (!layout || layout.reduce((a, b) => a + b, 0) !== caps.length) return caps.length ? [caps] : [];
  const out: Capability[][] = [];
  let i = 0;
  for (const n of layout) {
    out.push(caps.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Bytes of the OPEN body (after the 19-byte header). */
export function openBodyLength(msg: OpenMessage): number {
  let len = OPEN_FIXED_LENGTH;
  for (const g of groups(msg)) len += 2 + g.reduce((a, c) => a + capabilityEncodingLength(c), 0);
  return len;
}

/**
 * Encodes the OPEN body at `offset`; returns bytes written. A `myAs` above 65535 is written as AS_TRANS. Throws
 * RangeError if the parameters exceed 255 bytes or the hold time 65535.
 */
export function encodeOpenBody(msg: OpenMessage, buf: Uint8Array, offset: number): number {
  const total = openBodyLength(msg);
  if (total - OPEN_FIXED_LENGTH > 255) throw new RangeError('OPEN optional parameters exceed 255 bytes');
  if (msg.holdTime > 0xffff || msg.holdTime < 0) throw new RangeError(`hold time ${msg.holdTime}`);
  const myAs = msg.myAs > 0xffff ? AS_TRANS : msg.myAs; // RFC 6793 §4.1: the real AS goes in capability 65
  buf[offset] = msg.version;
  buf[offset + 1] = myAs >> 8;
  buf[offset + 2] = myAs & 0xff;
  buf[offset + 3] = msg.holdTime >> 8;
  buf[offset + 4] = msg.holdTime & 0xff;
  writeIpv4(msg.bgpId, buf, offset + 5);
  buf[offset + 9] = total - OPEN_FIXED_LENGTH;
  let off = offset + OPEN_FIXED_LENGTH;
  for (const g of groups(msg)) {
    const len = g.reduce((a, c) => a + capabilityEncodingLength(c), 0);
    if (len > 255) throw new RangeError('capabilities parameter exceeds 255 bytes');
    buf[off] = PARAM_CAPABILITIES;
    buf[off + 1] = len;
    off += 2;
    for (const c of g) off += encodeCapability(c, buf, off);
  }
  return off - offset;
}

/**
 * Decodes an OPEN body in `buf[start, end)`. Throws a session-reset BgpMessageError (OPEN Message Error) for: a
 * version other than 4 (data: the version we support), hold time 1 or 2, BGP Identifier 0.0.0.0, an optional
 * parameter length that disagrees with the message, an unknown optional parameter type, or a malformed capability.
 */
export function decodeOpenBody(buf: Uint8Array, start: number, end: number): OpenMessage {
  if (end - start < OPEN_FIXED_LENGTH) throw openError(OpenErrorSubcode.Unspecific, 'OPEN body too short');
  const version = buf[start]!;
  if (version !== BGP_VERSION) {
    throw openError(OpenErrorSubcode.UnsupportedVersionNumber, `BGP version ${version}`, Uint8Array.of(0, BGP_VERSION));
  }
  const myAs = (buf[start + 1]! << 8) | buf[start + 2]!;
  const holdTime = (buf[start + 3]! << 8) | buf[start + 4]!;
  if (holdTime === 1 || holdTime === 2) throw openError(OpenErrorSubcode.UnacceptableHoldTime, `hold time ${holdTime}`);
  const bgpId = formatIpv4(buf, start + 5);
  if (bgpId === '0.0.0.0') throw openError(OpenErrorSubcode.BadBgpIdentifier, 'BGP Identifier 0.0.0.0');
  const paramsLen = buf[start + 9]!;
  const paramsEnd = start + OPEN_FIXED_LENGTH + paramsLen;
  if (paramsEnd !== end)
    throw openError(OpenErrorSubcode.Unspecific, `Opt Parm Len ${paramsLen} disagrees with length`);
  const capabilities: Capability[] = [];
  const capabilityGroups: number[] = [];
  for (let off = start + OPEN_FIXED_LENGTH; off < paramsEnd; ) {
    if (off + 2 > paramsEnd) throw openError(OpenErrorSubcode.Unspecific, 'optional parameter header overruns');
    const type = buf[off]!;
    const len = buf[off + 1]!;
    if (off + 2 + len > paramsEnd) throw openError(OpenErrorSubcode.Unspecific, 'optional parameter overruns');
    if (type !== PARAM_CAPABILITIES) {
      throw openError(
        OpenErrorSubcode.UnsupportedOptionalParameter,
        `optional parameter ${type}`,
        copyBytes(buf, off, off + 2 + len),
      );
    }
    const before = capabilities.length;
    decodeCapabilities(buf, off + 2, off + 2 + len, capabilities);
    capabilityGroups.push(capabilities.length - before);
    off += 2 + len;
  }
  return { type: MessageType.Open, version, myAs, holdTime, bgpId, capabilities, capabilityGroups };
}

/** The peer's real AS: the 4-octet AS capability if present (RFC 6793 §4.1), else My Autonomous System. */
export function openAsn(msg: OpenMessage): number {
  for (const c of msg.capabilities) if (c.type === CapabilityCode.FourOctetAs) return c.asn;
  return msg.myAs;
}
