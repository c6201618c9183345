// The stream framer: whole messages out of arbitrary TCP chunking, header checks before bodies arrive, bounded
// buffering, a poisoned stream after a fatal error, and negotiation applied from the peer's OPEN.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BgpDecoder, BgpMessageError, HeaderErrorSubcode, MessageType, type UpdateMessage } from '../src/index.ts';
import { BIRD_GOLDEN } from './fixtures/bgpc-bird.ts';
import { HAND_GOLDEN } from './fixtures/bgpc-golden.ts';
import { MARKER, hex } from './fixtures/bgpc-hex.ts';

const birdStream = Buffer.concat(BIRD_GOLDEN.map((g) => g.bytes));
const birdMessages = BIRD_GOLDEN.map((g) => g.message);
const local = { fourOctetAs: true, extendedMessage: true };

test('framer: the BIRD stream in one chunk', () => {
  const d = new BgpDecoder({ local });
  assert.equal(d.write(birdStream), birdMessages);
  assert.is(d.bufferedBytes, 0);
});

test('framer: the BIRD stream one byte at a time, and in random chunks', () => {
  const d = new BgpDecoder({ local });
  const out = [];
  for (let i = 0; i < birdStream.length; i++) out.push(...d.write(birdStream.subarray(i, i + 1)));
  assert.equal(out, birdMessages);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 20; round++) {
    const f = new BgpDecoder({ local });
    const got = [];
    for (let off = 0; off < birdStream.length; ) {
      const n = 1 + Math.floor(rand() * 200);
      got.push(...f.write(birdStream.subarray(off, off + n)));
      off += n;
    }
    assert.equal(got, birdMessages);
  }
});

test('framer: decoded messages do not alias the chunk', () => {
  const g = HAND_GOLDEN.find((x) => x.name.includes('Unrecognized Well-known'))!;
  const chunk = Buffer.from(g.bytes);
  const [m] = new BgpDecoder().write(chunk);
  chunk.fill(0);
  assert.equal(m, g.message);
});

test('framer: negotiates 4-octet AS from the OPEN it decodes, within the same chunk', () => {
  // The 4-octet-AS UPDATE from the hand fixtures right after BIRD's OPEN: decodes only with fourOctetAs on.
  const upd = HAND_GOLDEN.find((x) => x.name.includes('route reflector'))!;
  const d = new BgpDecoder({ local: { fourOctetAs: true } });
  const msgs = d.write(Buffer.concat([BIRD_GOLDEN[0]!.bytes, upd.bytes]));
  assert.equal(msgs[1], upd.message);
  assert.equal(d.context, { fourOctetAs: true, extendedMessage: false });
  // A local side without 4-octet AS reads the same AS_PATH as 2-octet, which is malformed there.
  const old = new BgpDecoder({ local: { fourOctetAs: false } });
  const m = old.write(Buffer.concat([BIRD_GOLDEN[0]!.bytes, upd.bytes]))[1] as UpdateMessage;
  assert.ok(m.handling !== undefined);
});

test('framer: a bad header is rejected as soon as its 19 bytes arrive, before the body', () => {
  const d = new BgpDecoder();
  assert.equal(d.write(hex(MARKER, '10')), []);
  assert.throws(
    () => d.write(hex('01', '02')),
    (e: unknown) => e instanceof BgpMessageError && e.subcode === HeaderErrorSubcode.BadMessageLength,
  );
});

test('framer: buffers at most one partial message', () => {
  const d = new BgpDecoder();
  const big = hex(MARKER, '1000', '02', '0000', '0ffd'); // a 4096-byte UPDATE header, body still to come
  d.write(big);
  for (let i = 0; i < 10; i++) d.write(Buffer.alloc(400));
  assert.is(d.bufferedBytes, big.length + 4000);
  assert.ok(d.bufferedBytes < 4096);
});

test('framer: after a fatal error, returns the earlier messages on the error and stays failed', () => {
  const d = new BgpDecoder();
  const keepalive = hex(MARKER, '0013', '04');
  const bad = hex(MARKER, '0013', '09');
  let err: BgpMessageError | undefined;
  try {
    d.write(Buffer.concat([keepalive, keepalive, bad, keepalive]));
  } catch (e) {
    err = e as BgpMessageError;
  }
  assert.ok(err instanceof BgpMessageError);
  assert.is(err!.subcode, HeaderErrorSubcode.BadMessageType);
  assert.equal(
    err!.messages.map((m) => m.type),
    [MessageType.Keepalive, MessageType.Keepalive],
  );
  assert.throws(
    () => d.write(keepalive),
    (e: unknown) => e === err,
  );
});

test.run();
