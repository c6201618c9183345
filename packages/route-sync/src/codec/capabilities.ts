// Capabilities advertisement (RFC 5492 §4): a list of TLVs inside OPEN optional parameter 2.
//
//   +------------------------------+
//   | Capability Code (1 octet)    |
//   +------------------------------+
//   | Capability Length (1 octet)  |
//   +------------------------------+
//   | Capability Value (variable)  |
//   +------------------------------+
//
// Values we decode:
//   Multiprotocol (1, RFC 4760 §8):   AFI (2) | Reserved (1) | SAFI (1)
//   Route Refresh (2, RFC 2918 §2):   empty
//   4-octet AS (65, RFC 6793 §3):     AS number (4)
//   Graceful Restart (64, RFC 4724 §3):
//       +--------------------------------------------------+
//       | Restart Flags (4 bits: R N 0 0) | Restart Time (12 bits, seconds) |
//       +--------------------------------------------------+
//       | AFI (2) | SAFI (1) | Flags for AFI/SAFI (1: F bit 0x80) |  repeated
//       +--------------------------------------------------+
// Everything else (extended message, enhanced route refresh, add-path, long-lived GR, FQDN...) is kept raw.
import { CapabilityCode, OpenErrorSubcode, type Capability, type GracefulRestartFamily } from '../types.ts';
import { openError } from './errors.ts';
import { copyBytes } from './bytes.ts';

const GR_RESTARTING = 0x8000; // R bit in the 16-bit flags+time word
const GR_NOTIFICATION = 0x4000; // N bit (RFC 8538 §2)
const GR_TIME_MASK = 0x0fff;
const GR_FORWARDING = 0x80; // F bit in the per-family flags
const GR_FAMILY_LENGTH = 4; // AFI 2 + SAFI 1 + flags 1

/** Bytes of one capability TLV, header included. */
export function capabilityEncodingLength(c: Capability): number {
  return 2 + capabilityValueLength(c);
}

function capabilityValueLength(c: Capability): number {
  switch (c.type) {
    case CapabilityCode.Multiprotocol:
      return 4;
    case CapabilityCode.RouteRefresh:
      return 0;
    case CapabilityCode.FourOctetAs:
      return 4;
    case CapabilityCode.GracefulRestart:
      return 2 + GR_FAMILY_LENGTH * c.families.length;
    case CapabilityCode.Unrecognized:
      return c.value.length;
  }
}

/** Encodes one capability TLV at `offset`; returns bytes written. Throws RangeError if the value exceeds 255. */
export function encodeCapability(c: Capability, buf: Uint8Array, offset: number): number {
  const len = capabilityValueLength(c);
  if (len > 255) throw new RangeError(`capability value of ${len} bytes does not fit its length octet`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[offset] = c.type === CapabilityCode.Unrecognized ? c.code : c.type;
  buf[offset + 1] = len;
  const v = offset + 2;
  switch (c.type) {
    case CapabilityCode.Multiprotocol:
      view.setUint16(v, c.afi);
      buf[v + 2] = 0;
      buf[v + 3] = c.safi;
      break;
    case CapabilityCode.RouteRefresh:
      break;
    case CapabilityCode.FourOctetAs:
      view.setUint32(v, c.asn);
      break;
    case CapabilityCode.GracefulRestart:
      view.setUint16(
        v,
        (c.restarting ? GR_RESTARTING : 0) | (c.notification ? GR_NOTIFICATION : 0) | (c.restartTime & GR_TIME_MASK),
      );
      c.families.forEach((f, i) => {
        const o = v + 2 + i * GR_FAMILY_LENGTH;
        view.setUint16(o, f.afi);
        buf[o + 2] = f.safi;
        buf[o + 3] = f.forwardingPreserved ? GR_FORWARDING : 0;
      });
      break;
    case CapabilityCode.Unrecognized:
      buf.set(c.value, v);
      break;
  }
  return 2 + len;
}

/**
 * Decodes the capability TLVs in `buf[start, end)` and appends them to `out`. Throws a session-reset OPEN error
 * (subcode Unspecific, data = the capability) when a TLV overruns its parameter or a known capability has an
 * impossible length: RFC 5492 names no subcode for that, and a peer we cannot understand must not get Established.
 */
export function decodeCapabilities(buf: Uint8Array, start: number, end: number, out: Capability[]): void {
  for (let off = start; off < end; ) {
    if (off + 2 > end) throw openError(OpenErrorSubcode.Unspecific, 'capability header overruns its parameter');
    const code = buf[off]!;
    const len = buf[off + 1]!;
    if (off + 2 + len > end) throw openError(OpenErrorSubcode.Unspecific, `capability ${code} overruns its parameter`);
    out.push(decodeCapability(code, buf, off + 2, len));
    off += 2 + len;
  }
}

function decodeCapability(code: number, buf: Uint8Array, v: number, len: number): Capability {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const malformed = () =>
    openError(OpenErrorSubcode.Unspecific, `capability ${code} has bad length ${len}`, copyBytes(buf, v - 2, v + len));
  switch (code) {
    case CapabilityCode.Multiprotocol:
      if (len !== 4) throw malformed();
      return { type: CapabilityCode.Multiprotocol, afi: view.getUint16(v), safi: buf[v + 3]! };
    case CapabilityCode.RouteRefresh:
      if (len !== 0) throw malformed();
      return { type: CapabilityCode.RouteRefresh };
    case CapabilityCode.FourOctetAs:
      if (len !== 4) throw malformed();
      return { type: CapabilityCode.FourOctetAs, asn: view.getUint32(v) };
    case CapabilityCode.GracefulRestart:
      if (len < 2 || (len - 2) % GR_FAMILY_LENGTH !== 0) throw malformed();
      return decodeGracefulRestart(view, v, len);
    default:
      return { type: CapabilityCode.Unrecognized, code, value: copyBytes(buf, v, v + len) };
  }
}

function decodeGracefulRestart(view: DataView, v: number, len: number): Capability {
  const word = view.getUint16(v);
  const families: GracefulRestartFamily[] = [];
  for (let o = v + 2; o < v + len; o += GR_FAMILY_LENGTH) {
    families.push({
      afi: view.getUint16(o),
      safi: view.getUint8(o + 2),
      forwardingPreserved: (view.getUint8(o + 3) & GR_FORWARDING) !== 0,
    });
  }
  return {
    type: CapabilityCode.GracefulRestart,
    restarting: (word & GR_RESTARTING) !== 0,
    notification: (word & GR_NOTIFICATION) !== 0,
    restartTime: word & GR_TIME_MASK,
    families,
  };
}
