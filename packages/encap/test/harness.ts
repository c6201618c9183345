// One round-trip harness for every codec (after dns-packet's testEncoder): encode at offset 0 into a buffer of
// exactly the right size, decode back, re-encode the decoded value to the same bytes, then do it again at a
// random offset inside a larger buffer full of random bytes and check nothing outside the window was touched.
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';

export interface Codec<T> {
  name: string;
  /** Writes `value` at `offset`; returns the bytes written. */
  encode(value: T, buf: Buffer, offset: number): number;
  /** Reads a value from `[offset, offset + length)`. */
  decode(buf: Buffer, offset: number, length: number): T;
  /** Bytes `value` encodes to, when the codec can say in advance. */
  encodingLength?(value: T): number;
}

export interface RoundTripOptions<T> {
  /** What decode(encode(value)) must equal, when the codec transforms the value (flannel-udp's TTL). */
  expected?: T;
  /** Skip the re-encode-is-stable check (for codecs that change the value on each pass). */
  unstable?: boolean;
  /** Bytes the encoder may write before `offset` (VXLAN headroom); default 0. */
  writesBefore?: number;
}

/** Runs the round trip; `label` names the case in failures. */
export function roundTrip<T>(codec: Codec<T>, value: T, label = codec.name, opts: RoundTripOptions<T> = {}): void {
  const expected = opts.expected ?? value;
  const probe = Buffer.alloc(70_000);
  const n = codec.encode(value, probe, 0);
  if (codec.encodingLength) assert.is(codec.encodingLength(value), n, `${label}: encodingLength agrees with encode`);
  const exact = Buffer.alloc(n);
  assert.is(codec.encode(value, exact, 0), n, `${label}: same length into an exact buffer`);
  assert.equal(exact, probe.subarray(0, n), `${label}: same bytes into an exact buffer`);
  const encoded = Buffer.from(exact); // decoders may work in place (flannel-udp decrements the TTL)
  const decoded = codec.decode(exact, 0, n);
  assert.equal(decoded, expected, `${label}: decode(encode(v))`);
  if (!opts.unstable) {
    const again = Buffer.alloc(n);
    codec.encode(decoded, again, 0);
    assert.equal(again, encoded, `${label}: re-encoding the decoded value is stable`);
  }

  const before = opts.writesBefore ?? 0;
  const offset = before + 1 + Math.floor(Math.random() * 300);
  const big = randomBytes(offset + n + 1 + Math.floor(Math.random() * 300));
  const original = Buffer.from(big);
  assert.is(codec.encode(value, big, offset), n, `${label} at offset ${offset}: length`);
  assert.equal(big.subarray(offset, offset + n), encoded, `${label} at offset ${offset}: same bytes as at offset 0`);
  assert.equal(
    big.subarray(0, offset - before),
    original.subarray(0, offset - before),
    `${label} at offset ${offset}: bytes before untouched`,
  );
  assert.equal(
    big.subarray(offset + n),
    original.subarray(offset + n),
    `${label} at offset ${offset}: bytes after untouched`,
  );
  assert.equal(codec.decode(big, offset, n), expected, `${label} at offset ${offset}: decode`);
}
