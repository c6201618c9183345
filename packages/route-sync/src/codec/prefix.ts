// IP addresses and NLRI prefixes on the wire (RFC 4271 §4.3 "Network Layer Reachability Information",
// RFC 4760 §5 for the same encoding inside MP_REACH/MP_UNREACH).
//
// One prefix is a length in bits followed by just enough octets to hold it; trailing bits are padding:
//
//   +---------------------------+
//   |   Length (1 octet, bits)  |
//   +---------------------------+
//   |   Prefix (ceil(Length/8)) |
//   +---------------------------+
//
// e.g. 10.244.1.0/24 is `18 0a f4 01` and 0.0.0.0/0 is just `00`.
//
// Addresses are text in our types (dotted quad, RFC 5952 IPv6). Padding bits are required to be zero on send and
// masked off on receive (RFC 4271 says they are irrelevant), so `addr` is always canonical.
import { Afi, type Prefix } from '../types.ts';

/** Address length in bytes per family. */
export function addrBytes(afi: Afi): number {
  return afi === Afi.Ipv4 ? 4 : 16;
}

/** Max prefix length in bits per family. */
export function maxPrefixBits(afi: Afi): number {
  return afi === Afi.Ipv4 ? 32 : 128;
}

/** Formats 4 bytes at `offset` as a dotted quad. Caller checks bounds. */
export function formatIpv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Formats 16 bytes at `offset` per RFC 5952: lower-case hex, no leading zeros, longest zero run as `::`. */
export function formatIpv6(buf: Uint8Array, offset: number): string {
  const groups = ipv6Groups;
  for (let i = 0; i < 8; i++) groups[i] = (buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!;
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; i++) {
    if (groups[i] !== 0) continue;
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

const ipv6Groups = new Uint16Array(8);

/** Writes a dotted quad into 4 bytes at `offset`. Throws TypeError on malformed text (encoder input). */
export function writeIpv4(addr: string, buf: Uint8Array, offset: number): void {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new TypeError(`not an IPv4 address: ${addr}`);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new TypeError(`not an IPv4 address: ${addr}`);
    buf[offset + i] = n;
  }
}

/** Writes IPv6 text (with optional `::` and embedded dotted quad) into 16 bytes at `offset`. Throws TypeError. */
export function writeIpv6(addr: string, buf: Uint8Array, offset: number): void {
  const bad = () => new TypeError(`not an IPv6 address: ${addr}`);
  const halves = addr.split('::');
  if (halves.length > 2) throw bad();
  const words = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        writeIpv4(p, v4, 0);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else throw bad();
    });
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  all.forEach((w, i) => {
    buf[offset + 2 * i] = w >> 8;
    buf[offset + 2 * i + 1] = w & 0xff;
  });
}

/** Writes an address of the given family; returns bytes written (4 or 16). */
export function writeAddr(afi: Afi, addr: string, buf: Uint8Array, offset: number): number {
  if (afi === Afi.Ipv4) writeIpv4(addr, buf, offset);
  else writeIpv6(addr, buf, offset);
  return addrBytes(afi);
}

/** Formats an address of the given family at `offset`. Caller checks bounds. */
export function formatAddr(afi: Afi, buf: Uint8Array, offset: number): string {
  return afi === Afi.Ipv4 ? formatIpv4(buf, offset) : formatIpv6(buf, offset);
}

/** A stable Map key for a prefix: `10.244.1.0/24`, `2001:db8::/32`. */
export function prefixKey(p: Prefix): string {
  return `${p.addr}/${p.length}`;
}

/** Parses `addr/len` text into a canonical Prefix (host bits cleared). Throws TypeError on bad input. */
export function parsePrefix(text: string): Prefix {
  const slash = text.lastIndexOf('/');
  const afi = text.includes(':') ? Afi.Ipv6 : Afi.Ipv4;
  const length = Number(text.slice(slash + 1));
  if (slash < 0 || !Number.isInteger(length) || length < 0 || length > maxPrefixBits(afi)) {
    throw new TypeError(`not a prefix: ${text}`);
  }
  const bytes = new Uint8Array(16);
  writeAddr(afi, text.slice(0, slash), bytes, 0);
  maskTail(bytes, 0, addrBytes(afi), length);
  return { afi, length, addr: formatAddr(afi, bytes, 0) };
}

function maskTail(bytes: Uint8Array, offset: number, size: number, length: number): void {
  for (let bit = length; bit < size * 8; bit++) bytes[offset + (bit >> 3)]! &= ~(0x80 >> (bit & 7));
}

/** Bytes a prefix takes in NLRI encoding: 1 length octet + ceil(length/8). */
export function prefixEncodingLength(p: Prefix): number {
  return 1 + ((p.length + 7) >> 3);
}

const scratch = new Uint8Array(16);

/** Encodes one prefix at `offset`; returns bytes written. Host bits past `length` are written as zero. */
export function encodePrefix(p: Prefix, buf: Uint8Array, offset: number): number {
  const n = (p.length + 7) >> 3;
  if (p.length < 0 || p.length > maxPrefixBits(p.afi)) throw new RangeError(`prefix length ${p.length} out of range`);
  writeAddr(p.afi, p.addr, scratch, 0);
  maskTail(scratch, 0, n, p.length);
  buf[offset] = p.length;
  for (let i = 0; i < n; i++) buf[offset + 1 + i] = scratch[i]!;
  return 1 + n;
}

/** Error from decodePrefixes: which byte went wrong. The UPDATE decoder turns it into the right NOTIFICATION. */
export class PrefixSyntaxError extends Error {
  override readonly name = 'PrefixSyntaxError';
}

/**
 * Decodes the prefixes packed in `buf[start, end)` (a Withdrawn Routes or NLRI field, or the NLRI of an MP
 * attribute) and appends them to `out`. Throws PrefixSyntaxError when a length exceeds the family maximum or a
 * prefix runs past `end` (RFC 7606 §5.3: the caller resets the session).
 */
export function decodePrefixes(afi: Afi, buf: Uint8Array, start: number, end: number, out: Prefix[]): void {
  const max = maxPrefixBits(afi);
  for (let off = start; off < end; ) {
    const length = buf[off]!;
    const n = (length + 7) >> 3;
    if (length > max) throw new PrefixSyntaxError(`prefix length ${length} > ${max} at byte ${off}`);
    if (off + 1 + n > end) throw new PrefixSyntaxError(`prefix /${length} at byte ${off} overruns its field`);
    out.push({ afi, length, addr: afi === Afi.Ipv4 ? ipv4PrefixText(buf, off + 1, length) : ipv6PrefixText(buf, off + 1, length) });
    off += 1 + n;
  }
}

/** Byte `i` of a prefix whose `length` bits start at `p`: zero past the prefix, padding bits masked off. */
function prefixByte(buf: Uint8Array, p: number, length: number, i: number): number {
  const bits = length - 8 * i;
  if (bits <= 0) return 0;
  return bits >= 8 ? buf[p + i]! : buf[p + i]! & (0xff << (8 - bits));
}

function ipv4PrefixText(buf: Uint8Array, p: number, length: number): string {
  return `${prefixByte(buf, p, length, 0)}.${prefixByte(buf, p, length, 1)}.${prefixByte(buf, p, length, 2)}.${prefixByte(buf, p, length, 3)}`;
}

function ipv6PrefixText(buf: Uint8Array, p: number, length: number): string {
  for (let i = 0; i < 16; i++) scratch[i] = prefixByte(buf, p, length, i);
  return formatIpv6(scratch, 0);
}
