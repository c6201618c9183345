// UPDATE message body (RFC 4271 §4.3), checked per §6.3 with the revised error handling of RFC 7606.
//
//   +-----------------------------------------------------+
//   |   Withdrawn Routes Length (2 octets)                |
//   +-----------------------------------------------------+
//   |   Withdrawn Routes (variable): IPv4 prefixes        |
//   +-----------------------------------------------------+
//   |   Total Path Attribute Length (2 octets)            |
//   +-----------------------------------------------------+
//   |   Path Attributes (variable): attributes.ts TLVs    |
//   +-----------------------------------------------------+
//   |   Network Layer Reachability Information (rest)     |
//   +-----------------------------------------------------+
//
// An UPDATE with nothing in it (23 bytes in all) is the IPv4 unicast End-of-RIB marker (RFC 4724 §2).
//
// Error handling, strongest first (RFC 7606):
// - session reset (thrown): the two length fields overrun the message (§4 "Malformed Attribute List"), a bad prefix
//   in Withdrawn Routes or NLRI (§5.3 "Invalid Network Field"), MP_REACH/MP_UNREACH malformed or repeated (§3.g,
//   §7.11), an unrecognized well-known attribute (RFC 4271 §6.3).
// - treat-as-withdraw (returned on the message): an attribute overruns the attribute field (§4), a malformed
//   ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES... (§7), flags in conflict with the type (§3.c), a
//   missing well-known mandatory attribute when the UPDATE carries NLRI (§3.d).
// - attribute discard (returned): repeats of any other attribute after the first (§3.g), malformed
//   ATOMIC_AGGREGATE, AGGREGATOR, AS4_PATH, AS4_AGGREGATOR (§7.6, §7.7, RFC 6793 §6).
import {
  Afi,
  AttrFlag,
  AttrType,
  ErrorHandling,
  MessageType,
  UpdateErrorSubcode,
  type CodecContext,
  type PathAttribute,
  type Prefix,
  type UpdateMessage,
} from '../types.ts';
import { attributeEncodingLength, decodeAttribute, encodeAttribute, type AttributeSlice } from './attributes.ts';
import { BgpMessageError, updateError } from './errors.ts';
import { decodePrefixes, encodePrefix, prefixEncodingLength } from './prefix.ts';
import { copyBytes } from './bytes.ts';

const EMPTY = new Uint8Array(0);

/** Bytes of the UPDATE body under `ctx`. */
export function updateBodyLength(msg: UpdateMessage, ctx: CodecContext): number {
  let n = 4; // withdrawn length 2 + attribute length 2
  for (const p of msg.withdrawn) n += prefixEncodingLength(p);
  for (const a of msg.attributes) n += attributeEncodingLength(a, ctx);
  for (const p of msg.nlri) n += prefixEncodingLength(p);
  return n;
}

/** Encodes the UPDATE body at `offset` in the given attribute order; returns bytes written. */
export function encodeUpdateBody(msg: UpdateMessage, buf: Uint8Array, offset: number, ctx: CodecContext): number {
  let off = offset + 2;
  for (const p of msg.withdrawn) off += encodePrefix(p, buf, off);
  const withdrawnLen = off - offset - 2;
  buf[offset] = withdrawnLen >> 8;
  buf[offset + 1] = withdrawnLen & 0xff;
  const attrLenAt = off;
  off += 2;
  for (const a of msg.attributes) off += encodeAttribute(a, buf, off, ctx);
  const attrLen = off - attrLenAt - 2;
  buf[attrLenAt] = attrLen >> 8;
  buf[attrLenAt + 1] = attrLen & 0xff;
  for (const p of msg.nlri) off += encodePrefix(p, buf, off);
  return off - offset;
}

function malformedList(message: string): BgpMessageError {
  return updateError(UpdateErrorSubcode.MalformedAttributeList, ErrorHandling.SessionReset, message);
}

function decodeIpv4Field(buf: Uint8Array, start: number, end: number, what: string): Prefix[] {
  const out: Prefix[] = [];
  try {
    decodePrefixes(Afi.Ipv4, buf, start, end, out);
  } catch (e) {
    throw updateError(
      UpdateErrorSubcode.InvalidNetworkField,
      ErrorHandling.SessionReset,
      `${what}: ${(e as Error).message}`,
    );
  }
  return out;
}

/**
 * Decodes an UPDATE body in `buf[start, end)`. Throws BgpMessageError for session-reset errors; returns the message
 * with `handling`/`errors` set for treat-as-withdraw and attribute-discard ones (see the notes at the top).
 */
export function decodeUpdateBody(buf: Uint8Array, start: number, end: number, ctx: CodecContext): UpdateMessage {
  if (end - start < 4) throw malformedList('UPDATE body shorter than its two length fields');
  const withdrawnLen = (buf[start]! << 8) | buf[start + 1]!;
  const attrLenAt = start + 2 + withdrawnLen;
  if (attrLenAt + 2 > end) throw malformedList(`Withdrawn Routes Length ${withdrawnLen} overruns the message`);
  const attrLen = (buf[attrLenAt]! << 8) | buf[attrLenAt + 1]!;
  const attrStart = attrLenAt + 2;
  const attrEnd = attrStart + attrLen;
  if (attrEnd > end) throw malformedList(`Total Path Attribute Length ${attrLen} overruns the message`);
  const withdrawn = decodeIpv4Field(buf, start + 2, attrLenAt, 'Withdrawn Routes');
  const nlri = decodeIpv4Field(buf, attrEnd, end, 'NLRI');
  const errors: BgpMessageError[] = [];
  const attributes = decodeAttributeList(buf, attrStart, attrEnd, ctx, errors);
  checkMandatory(attributes, nlri.length > 0, errors);
  const msg: UpdateMessage = { type: MessageType.Update, withdrawn, attributes, nlri };
  if (errors.length) {
    msg.errors = errors;
    msg.handling = Math.max(...errors.map((e) => e.handling));
  }
  return msg;
}

/** Walks the attribute TLVs (RFC 7606 §4 for overruns, §3.g for repeats); pushes non-fatal errors to `errors`. */
function decodeAttributeList(
  buf: Uint8Array,
  start: number,
  end: number,
  ctx: CodecContext,
  errors: BgpMessageError[],
): PathAttribute[] {
  const attributes: PathAttribute[] = [];
  const seen: number[] = []; // codes so far: a handful, so a list beats a Set
  for (let off = start; off < end; ) {
    const slice = locateAttribute(buf, off, end);
    if (slice instanceof BgpMessageError) {
      errors.push(slice);
      break; // §4: the rest of the list cannot be parsed; the NLRI is still found from the Total Attribute Length
    }
    off = slice.end;
    if (seen.includes(slice.code)) {
      if (slice.code === AttrType.MpReachNlri || slice.code === AttrType.MpUnreachNlri) {
        throw malformedList(`attribute ${slice.code} repeated`);
      }
      errors.push(
        updateError(
          UpdateErrorSubcode.MalformedAttributeList,
          ErrorHandling.AttributeDiscard,
          `attribute ${slice.code} repeated; later copy discarded`,
          EMPTY,
          slice.code,
        ),
      );
      continue;
    }
    seen.push(slice.code);
    const result = decodeAttribute(buf, slice, ctx);
    if (!(result instanceof BgpMessageError)) attributes.push(result);
    else if (result.handling === ErrorHandling.SessionReset) throw result;
    else errors.push(result);
  }
  return attributes;
}

/** Finds the TLV at `off`, or a treat-as-withdraw error if its header or value runs past `end` (RFC 7606 §4). */
function locateAttribute(buf: Uint8Array, off: number, end: number): AttributeSlice | BgpMessageError {
  if (end - off < 3) return overrun(buf, off, end, 'attribute header overruns the attribute field');
  const flags = buf[off]!;
  const code = buf[off + 1]!;
  const extended = (flags & AttrFlag.ExtendedLength) !== 0;
  const headerLen = extended ? 4 : 3;
  if (end - off < headerLen) return overrun(buf, off, end, 'extended attribute header overruns the attribute field');
  const length = extended ? (buf[off + 2]! << 8) | buf[off + 3]! : buf[off + 2]!;
  if (off + headerLen + length > end)
    return overrun(buf, off, end, `attribute ${code} of ${length} bytes overruns the attribute field`);
  return { flags, code, value: off + headerLen, length, start: off, end: off + headerLen + length };
}

function overrun(buf: Uint8Array, off: number, end: number, what: string): BgpMessageError {
  return updateError(
    UpdateErrorSubcode.MalformedAttributeList,
    ErrorHandling.TreatAsWithdraw,
    what,
    copyBytes(buf, off, end),
  );
}

/**
 * RFC 7606 §3.d / RFC 4271 §6.3: with NLRI (classic or MP_REACH), ORIGIN and AS_PATH are mandatory, and NEXT_HOP
 * too for classic NLRI (RFC 4760 makes it optional for MP-only UPDATEs). LOCAL_PREF on iBGP is left to the session,
 * which knows whether the peer is internal. Data is the missing type code.
 */
function checkMandatory(attributes: PathAttribute[], classicNlri: boolean, errors: BgpMessageError[]): void {
  let hasMpReach = false;
  for (const a of attributes) if (a.type === AttrType.MpReachNlri) hasMpReach = true;
  if (!classicNlri && !hasMpReach) return;
  for (const t of classicNlri ? MANDATORY_CLASSIC : MANDATORY_MP) {
    if (attributes.some((a) => a.type === t) || errors.some((e) => e.attrType === t)) continue; // a malformed one has its own error
    errors.push(
      updateError(
        UpdateErrorSubcode.MissingWellKnownAttribute,
        ErrorHandling.TreatAsWithdraw,
        `missing well-known attribute ${t}`,
        Uint8Array.of(t),
        t,
      ),
    );
  }
}

const MANDATORY_CLASSIC = [AttrType.Origin, AttrType.AsPath, AttrType.NextHop];
const MANDATORY_MP = [AttrType.Origin, AttrType.AsPath];
