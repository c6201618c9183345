// The fast Internet checksum against a slow, obviously-correct reference (RFC 1071 section 4.1, word by word with
// an end-around carry each step) on random input of random (odd and even) lengths at random offsets; and the
// RFC 1624 incremental update against full recomputation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { internetChecksum, ipv4ChecksumValid } from '../src/index.ts';
import { checksumUpdate16, onesComplementSum } from '../src/checksum.ts';
import { ipv4DecrementTtl, ipv4UpdateChecksum } from '../src/ipv4.ts';

function slowSum(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < length; i += 2) {
    const word = (buf[offset + i]! << 8) | (i + 1 < length ? buf[offset + i + 1]! : 0);
    sum += word;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return sum;
}
const slowChecksum = (buf: Uint8Array, offset: number, length: number, initial = 0) =>
  ~slowSum(buf, offset, length, initial) & 0xffff;

test('RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2', () => {
  const b = Buffer.from('0001f203f4f5f6f7', 'hex');
  assert.is(onesComplementSum(b, 0, 8), 0xddf2);
  assert.is(internetChecksum(b, 0, 8), 0x220d);
});

test('fast equals slow on random bytes, lengths (odd and even) and offsets', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.nat(64),
      fc.nat(64),
      fc.integer({ min: 0, max: 0xffff }),
      (data, before, after, initial) => {
        const buf = Buffer.alloc(before + data.length + after, 0xff);
        buf.set(data, before);
        assert.is(internetChecksum(buf, before, data.length, initial), slowChecksum(buf, before, data.length, initial));
        assert.is(onesComplementSum(buf, before, data.length), slowSum(buf, before, data.length));
      },
    ),
    { numRuns: 3000 },
  );
});

test('large inputs (64 KiB of 0xff) fold correctly', () => {
  const b = Buffer.alloc(65535, 0xff);
  assert.is(internetChecksum(b, 0, b.length), slowChecksum(b, 0, b.length));
  assert.is(internetChecksum(b, 1, b.length - 1), slowChecksum(b, 1, b.length - 1));
});

test('a buffer with its checksum inserted sums to 0xffff', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 2, maxLength: 200 }).filter((a) => a.length % 2 === 0),
      (data) => {
        const b = Buffer.from(data);
        b.writeUInt16BE(0, 0);
        b.writeUInt16BE(internetChecksum(b, 0, b.length), 0);
        assert.is(onesComplementSum(b, 0, b.length), b.every((x) => x === 0) ? 0 : 0xffff);
      },
    ),
    { numRuns: 2000 },
  );
});

test('RFC 1624 incremental update equals full recomputation (IPv4 TTL decrement)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 2, max: 255 }), (hdr, ttl) => {
      const h = Buffer.from(hdr);
      h[0] = 0x45;
      h[8] = ttl;
      ipv4UpdateChecksum(h, 0);
      const full = Buffer.from(h);
      full[8] = ttl - 1;
      ipv4UpdateChecksum(full, 0);
      assert.is(ipv4DecrementTtl(h, 0), ttl - 1);
      assert.equal(h, full);
      assert.ok(ipv4ChecksumValid(h, 0));
    }),
    { numRuns: 5000 },
  );
  // Any 16-bit word change, not just the TTL.
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 2, maxLength: 64 }).filter((a) => a.length % 2 === 0),
      fc.nat(31),
      fc.integer({ min: 0, max: 0xffff }),
      (data, wi, word) => {
        const b = Buffer.from(data);
        const i = 2 * (wi % (b.length / 2));
        const before = internetChecksum(b, 0, b.length);
        const old = b.readUInt16BE(i);
        b.writeUInt16BE(word, i);
        const updated = checksumUpdate16(before, old, word);
        const full = internetChecksum(b, 0, b.length);
        // Equal, except that all-zero data has two representations of zero (RFC 1624 section 3).
        assert.ok(
          updated === full || ((updated ^ full) === 0xffff && b.every((x) => x === 0)),
          `${updated} vs ${full}`,
        );
      },
    ),
    { numRuns: 5000 },
  );
});

test.run();
