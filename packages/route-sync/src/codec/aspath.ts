// AS_PATH and AS4_PATH values (RFC 4271 §4.3 "AS_PATH", RFC 6793 §3-§4) and the 2-octet/4-octet AS transition.
//
// The value is a run of segments:
//   +-----------------+-----------------+--------------------------------------+
//   | Segment type (1)| Segment len (1) | ASNs: len * 2 octets (old sessions)  |
//   |  1 SET 2 SEQ    | (number of ASNs)|       len * 4 octets (RFC 6793)      |
//   +-----------------+-----------------+--------------------------------------+
//
// Which width AS_PATH uses is not on the wire: it is what the session negotiated (both sides sent capability 65).
// A 4-octet speaker talking to an old one writes AS_TRANS (23456) for big ASNs in AS_PATH/AGGREGATOR and sends the
// truth alongside in AS4_PATH/AS4_AGGREGATOR (always 4-octet); the receiver merges them (RFC 6793 §4.2.3).
import { AS_TRANS, AsPathSegmentType, AttrType, type AsPathSegment, type PathAttribute } from '../types.ts';

/** Thrown by the value decoder; attributes.ts turns it into the right UPDATE error. */
export class AsPathSyntaxError extends Error {
  override readonly name = 'AsPathSyntaxError';
}

/** Bytes of an AS_PATH/AS4_PATH value with `asnBytes` (2 or 4) per ASN. */
export function asPathValueLength(segments: AsPathSegment[], asnBytes: 2 | 4): number {
  let n = 0;
  for (const s of segments) n += 2 + s.asns.length * asnBytes;
  return n;
}

/**
 * Encodes segments at `offset`; returns bytes written. With 2-octet ASNs, any ASN above 65535 becomes AS_TRANS.
 * Throws RangeError for a segment of more than 255 ASNs (split it first).
 */
export function encodeAsPathValue(segments: AsPathSegment[], asnBytes: 2 | 4, buf: Uint8Array, offset: number): number {
  let off = offset;
  for (const s of segments) {
    if (s.asns.length > 255) throw new RangeError('AS_PATH segment longer than 255 ASNs');
    buf[off++] = s.type;
    buf[off++] = s.asns.length;
    for (const asn of s.asns) {
      if (asnBytes === 4) {
        buf[off++] = asn >>> 24;
        buf[off++] = (asn >>> 16) & 0xff;
      }
      const low = asnBytes === 2 && asn > 0xffff ? AS_TRANS : asn;
      buf[off++] = (low >>> 8) & 0xff;
      buf[off++] = low & 0xff;
    }
  }
  return off - offset;
}

/**
 * Decodes the segments in `buf[start, end)`. Throws AsPathSyntaxError (RFC 7606 §7.2 "malformed AS_PATH") for an
 * unknown segment type, a zero-length segment, or a segment that overruns the attribute.
 */
export function decodeAsPathValue(buf: Uint8Array, start: number, end: number, asnBytes: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  for (let off = start; off < end; ) {
    if (off + 2 > end) throw new AsPathSyntaxError('segment header overruns AS_PATH');
    const type = buf[off]!;
    const count = buf[off + 1]!;
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.ConfedSet) {
      throw new AsPathSyntaxError(`unknown segment type ${type}`);
    }
    if (count === 0) throw new AsPathSyntaxError('empty segment'); // RFC 7606 §7.2
    off += 2;
    if (off + count * asnBytes > end) throw new AsPathSyntaxError('segment overruns AS_PATH');
    const asns: number[] = [];
    for (let i = 0; i < count; i++, off += asnBytes) {
      asns.push(
        asnBytes === 4
          ? ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0
          : (buf[off]! << 8) | buf[off + 1]!,
      );
    }
    segments.push({ type, asns });
  }
  return segments;
}

/** AS count for path length comparisons (RFC 4271 §9.1.2.2 a, RFC 6793 §4.2.3): a SET counts 1, confeds 0. */
export function asPathLength(segments: AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/**
 * Merges AS_PATH with AS4_PATH as a 4-octet speaker must for routes from a 2-octet session (RFC 6793 §4.2.3):
 * if AS4_PATH is longer than AS_PATH it is ignored; otherwise the leading ASes of AS_PATH that AS4_PATH does not
 * cover are kept, and AS4_PATH follows them.
 */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const keep = asPathLength(asPath) - asPathLength(as4Path);
  if (keep < 0) return asPath;
  const out: AsPathSegment[] = [];
  let left = keep;
  for (const s of asPath) {
    if (left <= 0) break;
    if (s.type === AsPathSegmentType.AsSequence && s.asns.length > left) {
      out.push({ type: s.type, asns: s.asns.slice(0, left) });
      left = 0;
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
      left -= asPathLength([s]);
    }
  }
  const tail = as4Path.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const last = out[out.length - 1];
  if (last?.type === AsPathSegmentType.AsSequence && tail[0]?.type === AsPathSegmentType.AsSequence) {
    last.asns.push(...tail.shift()!.asns); // one sequence, as the path was before the old speaker split it
  }
  return [...out, ...tail];
}

/**
 * Prepares attributes for a session without 4-octet AS (RFC 6793 §4.2.2): when AS_PATH or AGGREGATOR holds an ASN
 * above 65535, adds AS4_PATH (confederation segments left out) or AS4_AGGREGATOR with the real values. The encoder
 * then writes AS_TRANS in the 2-octet fields. Existing AS4_* attributes are replaced. Returns a new list.
 */
export function addAs4Attributes(attrs: PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = attrs.filter((a) => a.type !== AttrType.As4Path && a.type !== AttrType.As4Aggregator);
  for (const a of attrs) {
    if (a.type === AttrType.AsPath && a.segments.some((s) => s.asns.some((x) => x > 0xffff))) {
      const segments = a.segments.filter(
        (s) => s.type === AsPathSegmentType.AsSequence || s.type === AsPathSegmentType.AsSet,
      );
      out.push({ type: AttrType.As4Path, segments });
    } else if (a.type === AttrType.Aggregator && a.asn > 0xffff) {
      out.push({ type: AttrType.As4Aggregator, asn: a.asn, addr: a.addr });
    }
  }
  return out.sort((x, y) => wireCode(x) - wireCode(y));
}

/** The attribute's wire type code. */
export function wireCode(a: PathAttribute): number {
  return a.type === AttrType.Unrecognized ? a.code : a.type;
}
