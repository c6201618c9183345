// The IPv6 header chain walk on golden bytes (every field commented), then on malformed chains: each failure has its
// status in the hot path and its Ipv6ChainError in the checked form, at the offset where the walk stopped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  IPV6_MAX_EXTENSION_HEADERS,
  Ipv6Chain,
  Ipv6ChainError,
  Ipv6ChainStatus,
  Ipv6NextHeader,
  decodeIpv6Chain,
  walkIpv6Chain,
} from '../src/index.ts';

const hex = (parts: string[]) => Buffer.from(parts.join(''), 'hex');

/** Fixed header with next header `nh` and payload length `plen`: fd00:10:244:1::5 > fd00:10:244:2::7. */
const fixed = (nh: string, plen: string) => [
  '60000000', // version 6, traffic class 0, flow label 0
  plen, // payload length
  nh, // next header
  '40', // hop limit 64
  'fd000010024400010000000000000005', // source fd00:10:244:1::5
  'fd000010024400020000000000000007', // destination fd00:10:244:2::7
];

const GOLDEN_CHAIN = hex([
  ...fixed('00', '0040'), // payload 64 = 8 + 8 + 24 + 8 + 16
  // Hop-by-Hop Options (RFC 8200 section 4.3) at 40
  '3c', // next header 60: Destination Options
  '00', // hdr ext len 0: 8 bytes
  '01040000', // PadN option, 4 bytes of padding
  '0000',
  // Destination Options at 48
  '2b', // next header 43: Routing
  '00', // 8 bytes
  '010400000000', // PadN
  // Routing header type 2 (RFC 6275 section 6.4) at 56
  '2c', // next header 44: Fragment
  '02', // hdr ext len 2: 24 bytes
  '02', // routing type 2
  '00', // segments left 0
  '00000000', // reserved
  'fd000010024400020000000000000007', // home address
  // Fragment header (RFC 8200 section 4.5) at 80
  '3a', // next header 58: ICMPv6
  '00', // reserved
  '0001', // fragment offset 0, M = 1 (a first fragment)
  '12345678', // identification
  // ICMPv6 echo request at 88
  '8000', // type 128, code 0
  '0000', // checksum (not checked by the walk)
  '00010002', // identifier 1, sequence 2
  '7765667420763621', // data "weft v6!"
]);

test('golden chain: hop-by-hop, destination options, routing, fragment, then ICMPv6 at 88', () => {
  const c = new Ipv6Chain();
  assert.is(walkIpv6Chain(GOLDEN_CHAIN, 0, GOLDEN_CHAIN.length, c), Ipv6ChainStatus.Ok);
  assert.equal(
    [c.protocol, c.offset, c.end, c.headerCount, c.fragmented, c.fragmentOffset, c.moreFragments, c.fragmentId],
    [58, 88, 104, 4, true, 0, true, 0x12345678],
  );
  const info = decodeIpv6Chain(GOLDEN_CHAIN);
  assert.equal(info.headers, [
    { type: Ipv6NextHeader.HopByHop, offset: 40, length: 8 },
    { type: Ipv6NextHeader.DestinationOptions, offset: 48, length: 8 },
    { type: Ipv6NextHeader.Routing, offset: 56, length: 24 },
    { type: Ipv6NextHeader.Fragment, offset: 80, length: 8 },
  ]);
  assert.equal(info.fragment, { offset: 0, more: true, id: 0x12345678 });
});

test('at an offset, with trailing padding: the end comes from the payload length', () => {
  const buf = Buffer.concat([Buffer.alloc(7, 0xaa), GOLDEN_CHAIN, Buffer.alloc(9, 0xbb)]);
  const c = new Ipv6Chain();
  assert.is(walkIpv6Chain(buf, 7, buf.length - 7, c), Ipv6ChainStatus.Ok);
  assert.equal([c.protocol, c.offset, c.end], [58, 95, 111]);
});

test('no extension headers: the upper layer follows the fixed header', () => {
  const p = hex([...fixed('11', '0008'), '0035003500080000']); // UDP 53 > 53
  const info = decodeIpv6Chain(p);
  assert.equal([info.headers, info.protocol, info.offset, info.fragment], [[], 17, 40, undefined]);
});

test('a later fragment ends the walk at its data; ESP and No Next Header end it too', () => {
  const later = hex([...fixed('2c', '0010'), '06000ab9cafef00d', '0011223344556677']); // TCP, offset 0x0ab8
  const c = new Ipv6Chain();
  assert.is(walkIpv6Chain(later, 0, later.length, c), Ipv6ChainStatus.Ok);
  assert.equal(
    [c.protocol, c.offset, c.fragmentOffset, c.moreFragments, c.fragmentId],
    [6, 48, 0xab8, true, 0xcafef00d],
  );
  const esp = hex([...fixed('33', '0018'), '32040000', '0000000000000000', '0000000000000000', '00000000']);
  // AH at 40: next header 50 (ESP), payload len 4 -> (4 + 2) * 4 = 24 bytes
  assert.equal(decodeIpv6Chain(esp).headers, [{ type: Ipv6NextHeader.Ah, offset: 40, length: 24 }]);
  assert.equal([decodeIpv6Chain(esp).protocol, decodeIpv6Chain(esp).offset], [50, 64]);
  const none = hex([...fixed('3c', '0008'), '3b00010400000000']); // dst opts, then No Next Header
  assert.equal([decodeIpv6Chain(none).protocol, decodeIpv6Chain(none).offset], [59, 48]);
});

/** Asserts the hot path's status and the checked form's error, both at `at`. */
function refuses(buf: Buffer, status: Ipv6ChainStatus, at: number, label: string): void {
  const c = new Ipv6Chain();
  assert.is(walkIpv6Chain(buf, 0, buf.length, c), status, label);
  try {
    decodeIpv6Chain(buf);
    assert.unreachable(`${label}: decodeIpv6Chain should throw`);
  } catch (e) {
    assert.instance(e, Ipv6ChainError, label);
    assert.is((e as Ipv6ChainError).name, 'Ipv6ChainError');
    assert.equal([(e as Ipv6ChainError).status, (e as Ipv6ChainError).offset], [status, at], label);
  }
}

test('malformed chains: each failure, where the walk stopped', () => {
  refuses(GOLDEN_CHAIN.subarray(0, 39), Ipv6ChainStatus.NotIpv6, 0, 'shorter than the fixed header');
  const v4 = Buffer.from(GOLDEN_CHAIN);
  v4[0] = 0x45;
  refuses(v4, Ipv6ChainStatus.NotIpv6, 0, 'version 4');
  refuses(GOLDEN_CHAIN.subarray(0, 100), Ipv6ChainStatus.LengthMismatch, 0, 'payload length beyond the bytes');
  const cut = Buffer.from(GOLDEN_CHAIN.subarray(0, 70));
  cut.writeUInt16BE(30, 4); // the payload ends inside the routing header
  refuses(cut, Ipv6ChainStatus.Truncated, 56, 'routing header past the end');
  const oneByte = hex([...fixed('00', '0001'), '3a']);
  refuses(oneByte, Ipv6ChainStatus.Truncated, 40, 'a header of one byte');
  const fragCut = hex([...fixed('2c', '0004'), '3a000001']);
  refuses(fragCut, Ipv6ChainStatus.Truncated, 40, 'fragment header of 4 bytes');
  const hbhLate = hex([...fixed('3c', '0010'), '0000010400000000', '3a00010400000000']);
  refuses(hbhLate, Ipv6ChainStatus.MisplacedHopByHop, 48, 'hop-by-hop after destination options');
  const many = IPV6_MAX_EXTENSION_HEADERS + 1;
  const loop = hex([...fixed('3c', (many * 8).toString(16).padStart(4, '0')), ...Array(many).fill('3c00010400000000')]);
  refuses(loop, Ipv6ChainStatus.TooManyHeaders, 40 + 8 * IPV6_MAX_EXTENSION_HEADERS, 'nine destination options');
  const exactly = hex([
    ...fixed('3c', ((many - 1) * 8).toString(16).padStart(4, '0')),
    ...Array(many - 2).fill('3c00010400000000'),
    '3b00010400000000',
  ]);
  assert.is(decodeIpv6Chain(exactly).headers.length, IPV6_MAX_EXTENSION_HEADERS, 'eight are walked');
});

test('random bytes behind a valid fixed header: the walk ends, inside the packet, without throwing', () => {
  const c = new Ipv6Chain();
  for (let i = 0; i < 2000; i++) {
    const len = 40 + Math.floor(Math.random() * 200);
    const p = Buffer.alloc(len);
    for (let j = 40; j < len; j++) p[j] = Math.random() < 0.5 ? [0, 43, 44, 51, 60][j % 5]! : (Math.random() * 256) | 0;
    GOLDEN_CHAIN.copy(p, 0, 0, 40);
    p.writeUInt16BE(len - 40, 4);
    p[6] = p[40]! % 2 ? 0 : 44;
    const s = walkIpv6Chain(p, 0, len, c);
    if (s === Ipv6ChainStatus.Ok) assert.ok(c.offset <= c.end && c.end === len, `walk ${i} stays inside`);
    else assert.ok(s >= Ipv6ChainStatus.Truncated && c.offset <= len, `walk ${i} stopped inside with ${s}`);
  }
});

/** A chain described rather than written: each header's type, length and (for fragments) offset in 8-byte units. */
interface Spec {
  headers: { type: number; units: number; fragOffset: number }[];
  upper: number;
  cut: number;
}

const headerLength = (h: Spec['headers'][number]) =>
  h.type === 44 ? 8 : h.type === 51 ? (h.units + 2) * 4 : (h.units + 1) * 8;

/** Writes the packet a Spec describes; the payload length leaves out the last `cut` bytes. */
function build(spec: Spec): Buffer {
  const lengths = spec.headers.map(headerLength);
  const total = 40 + lengths.reduce((a, b) => a + b, 0) + 8;
  const p = Buffer.alloc(total, 0x5a);
  GOLDEN_CHAIN.copy(p, 0, 0, 40);
  p.writeUInt16BE(Math.max(0, total - 40 - spec.cut), 4);
  p[6] = spec.headers[0]?.type ?? spec.upper;
  let at = 40;
  spec.headers.forEach((h, i) => {
    p[at] = spec.headers[i + 1]?.type ?? spec.upper;
    p[at + 1] = h.type === 44 ? 0 : h.units;
    if (h.type === 44) p.writeUInt16BE(h.fragOffset << 3, at + 2);
    at += lengths[i]!;
  });
  return p;
}

/** What the walk must say, derived from the Spec alone (never from the bytes). */
function expected(spec: Spec): [Ipv6ChainStatus, number, number?] {
  const end = 40 + spec.headers.map(headerLength).reduce((a, b) => a + b, 0) + 8 - spec.cut;
  let at = 40;
  for (const [i, h] of spec.headers.entries()) {
    if (h.type === 0 && i > 0) return [Ipv6ChainStatus.MisplacedHopByHop, at];
    if (i === IPV6_MAX_EXTENSION_HEADERS) return [Ipv6ChainStatus.TooManyHeaders, at];
    if (at + Math.min(2, headerLength(h)) > end || at + headerLength(h) > end) return [Ipv6ChainStatus.Truncated, at];
    at += headerLength(h);
    if (h.type === 44 && h.fragOffset !== 0) return [Ipv6ChainStatus.Ok, at, spec.headers[i + 1]?.type ?? spec.upper];
  }
  return [Ipv6ChainStatus.Ok, at, spec.upper];
}

test('random chains against what their description says', () => {
  const header = fc.record({
    type: fc.constantFrom(0, 43, 44, 51, 60, 135, 139),
    units: fc.nat(4),
    fragOffset: fc.oneof(fc.constant(0), fc.nat(0x1fff)),
  });
  const spec = fc.record({
    headers: fc.array(header, { maxLength: 11 }),
    upper: fc.constantFrom(6, 17, 58, 59, 50),
    cut: fc.oneof(fc.constant(0), fc.nat(120)),
  });
  const c = new Ipv6Chain();
  fc.assert(
    fc.property(spec, (s) => {
      const p = build(s);
      if (40 + Math.max(0, p.length - 40 - s.cut) !== p.length - s.cut) return; // cut past the fixed header
      const [status, offset, protocol] = expected(s);
      assert.is(walkIpv6Chain(p, 0, p.length, c), status);
      assert.is(c.offset, offset);
      if (status === Ipv6ChainStatus.Ok) assert.is(c.protocol, protocol);
    }),
    { numRuns: 3000 },
  );
});

test.run();
