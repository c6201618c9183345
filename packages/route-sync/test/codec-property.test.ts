// Property tests: no input crashes the decoder or the framer. Random bytes, random bodies behind a valid header for
// each message type, and random mutations of the golden messages either decode or raise BgpMessageError, never
// anything else; whatever decodes re-encodes to something that decodes to the same value.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BgpDecoder, BgpMessageError, encodeMessageToBuffer, type CodecContext, type Message } from '../src/index.ts';
import { decodeMessage } from '../src/codec/message.ts';
import { BIRD_GOLDEN } from './fixtures/bgpc-bird.ts';
import { HAND_GOLDEN } from './fixtures/bgpc-golden.ts';

const RUNS = Number(process.env.BGPC_FUZZ_RUNS ?? 10_000); // raise for a long local soak
const GOLDEN = [...BIRD_GOLDEN, ...HAND_GOLDEN];
const ctxArb = fc.record({ fourOctetAs: fc.boolean(), extendedMessage: fc.boolean() });

/** Decodes; returns the message, null, or 'error' for a BgpMessageError. Anything else propagates and fails. */
function tryDecode(bytes: Uint8Array, ctx: CodecContext): Message | null | 'error' {
  try {
    return decodeMessage(bytes, 0, ctx)?.message ?? null;
  } catch (e) {
    if (e instanceof BgpMessageError) return 'error';
    throw e;
  }
}

/** A decoded message must survive encode -> decode unchanged (the RFC 7606 bookkeeping aside). */
function checkStable(m: Message, ctx: CodecContext): void {
  if (m.type === 2 && m.errors) return; // dropped attributes change what "missing" means; covered by the table
  const bytes = encodeMessageToBuffer(m, ctx);
  const again = decodeMessage(bytes, 0, ctx);
  assert.equal(again?.message, m);
}

function withHeader(type: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(19 + body.length, 0xff);
  out.writeUInt16BE(out.length, 16);
  out[18] = type;
  out.set(body, 19);
  return out;
}

test('property: random bytes never crash decodeMessage', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), ctxArb, (bytes, ctx) => {
      const m = tryDecode(bytes, ctx);
      if (m && m !== 'error') checkStable(m, ctx);
    }),
    { numRuns: RUNS },
  );
});

/** Random bytes shaped like a TLV list: `[code, length, value]` with lengths that fit, from a set of codes. */
function tlvs(codes: number[], headerFlags: boolean) {
  return fc
    .array(
      fc.tuple(
        fc.constantFrom(...codes, 0, 99, 255),
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom(0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0x00),
      ),
      { maxLength: 8 },
    )
    .map((items) =>
      Buffer.concat(
        items.map(([code, value, flags]) => {
          if (!headerFlags) return Buffer.concat([Buffer.of(code, value.length), value]);
          const ext = (flags & 0x10) !== 0;
          const head = ext ? Buffer.of(flags, code, 0, value.length) : Buffer.of(flags, code, value.length);
          return Buffer.concat([head, value]);
        }),
      ),
    );
}

const prefixes = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.uint8Array({ minLength: 5, maxLength: 5 })), { maxLength: 6 })
  .map((ps) =>
    Buffer.concat(ps.map(([len, bytes]) => Buffer.concat([Buffer.of(len), bytes.subarray(0, (len + 7) >> 3)]))),
  );

const u16 = (n: number) => Buffer.of(n >> 8, n & 0xff);

const BODIES: [number, string, fc.Arbitrary<Uint8Array>][] = [
  [
    1,
    'OPEN',
    fc
      .tuple(
        fc.uint8Array({ minLength: 9, maxLength: 9 }),
        fc.array(tlvs([1, 2, 6, 64, 65, 70, 71], false), { maxLength: 3 }),
        fc.constantFrom(2, 2, 2, 1),
      )
      .map(([fixed, params, ptype]) => {
        const p = Buffer.concat(params.map((caps) => Buffer.concat([Buffer.of(ptype, caps.length), caps])));
        return Buffer.concat([Buffer.of(4), fixed.subarray(1), Buffer.of(p.length), p]).subarray(0, 4000);
      }),
  ],
  [
    2,
    'UPDATE',
    fc
      .tuple(prefixes, tlvs([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32], true), prefixes)
      .map(([w, a, n]) => Buffer.concat([u16(w.length), w, u16(a.length), a, n])),
  ],
  [3, 'NOTIFICATION', fc.uint8Array({ minLength: 2, maxLength: 40 })],
  [4, 'KEEPALIVE', fc.constant(new Uint8Array(0))],
  [5, 'ROUTE-REFRESH', fc.uint8Array({ minLength: 4, maxLength: 4 })],
];

for (const [type, name, bodies] of BODIES) {
  test(`property: random ${name} bodies behind a valid header decode or raise BgpMessageError`, () => {
    let decoded = 0;
    fc.assert(
      fc.property(bodies, ctxArb, (body, ctx) => {
        const m = tryDecode(withHeader(type, body), ctx);
        assert.ok(m !== null, 'a whole message is never "incomplete"');
        if (m !== 'error') {
          decoded++;
          checkStable(m, ctx);
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(decoded > RUNS / 20, `enough random ${name} bodies decode (${decoded})`);
    if (process.env.BGPC_VERBOSE) console.log(name, decoded);
  });
}

/** A golden message with some bytes overwritten, some inserted, or cut short (the length field kept or fixed up). */
const mutated = fc
  .tuple(
    fc.constantFrom(...GOLDEN),
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
    fc.constantFrom('overwrite', 'truncate', 'insert'),
    fc.boolean(),
  )
  .map(([g, edits, how, fixLength]) => {
    let b = Buffer.from(g.bytes);
    for (const [pos, val] of edits) {
      const at = 19 + (pos % Math.max(1, b.length - 19)); // mostly bodies; the header is covered above
      if (how === 'overwrite' && at < b.length) b[at] = val;
      else if (how === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(val), b.subarray(at)]);
      else if (how === 'truncate') b = b.subarray(0, Math.max(19, at));
    }
    if (fixLength) b.writeUInt16BE(b.length, 16);
    return { bytes: b, ctx: g.ctx };
  });

test('property: mutated golden messages decode or raise BgpMessageError, and decoded ones are stable', () => {
  fc.assert(
    fc.property(mutated, ({ bytes, ctx }) => {
      const m = tryDecode(bytes, ctx);
      if (m && m !== 'error') checkStable(m, ctx);
    }),
    { numRuns: RUNS },
  );
});

test('property: the framer survives any chunking of mutated streams', () => {
  fc.assert(
    fc.property(
      fc.array(mutated, { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map((m) => m.bytes));
        const d = new BgpDecoder({ local: { fourOctetAs: true, extendedMessage: true } });
        let off = 0;
        let i = 0;
        try {
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            d.write(stream.subarray(off, off + n));
            off += n;
          }
        } catch (e) {
          if (!(e instanceof BgpMessageError)) throw e;
        }
        assert.ok(d.bufferedBytes < 65536);
      },
    ),
    { numRuns: RUNS },
  );
});

test.run();
