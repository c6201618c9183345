// Shared pieces of the property tests. A window of bytes is embedded twice, once between guard bytes of 0x00 and
// once between guard bytes of 0xff; a function that reads outside its window would see different bytes in the two
// runs, so its outcomes would differ. Inputs are random bytes or mutated valid encodings (so that the deep parts
// of each decoder are reached, not only the first length check).
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { EncapError } from '../src/index.ts';

export const NUM_RUNS = 10_000;

export interface Window {
  data: Uint8Array;
  before: number;
  after: number;
}

/** Random bytes, or `seeds` truncated and with a few bytes changed. */
export function windows(seeds: readonly Buffer[], maxLength = 160): fc.Arbitrary<Window> {
  const mutated = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    )
    .map(([seed, cut, edits]) => {
      const d = Buffer.from(seed.subarray(0, seed.length - (cut % 3 === 0 ? cut % (seed.length + 1) : 0)));
      for (const [i, v] of edits) if (d.length) d[i % d.length] = v;
      return new Uint8Array(d);
    });
  const data = fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength }) }, { weight: 3, arbitrary: mutated });
  return fc.record({ data, before: fc.nat(48), after: fc.nat(48) });
}

/** The window between guard bytes of `fill`; the window starts at `w.before` with `headroom` bytes of 0x5a. */
export function embed(w: Window, fill: number, headroom = 0): Buffer {
  const b = Buffer.alloc(w.before + headroom + w.data.length + w.after, fill);
  b.fill(0x5a, w.before, w.before + headroom);
  b.set(w.data, w.before + headroom);
  return b;
}

/** Error classes a decoder may throw; anything else is a crash. */
const TYPED = new Set([
  'TruncatedError',
  'VxlanFlagsError',
  'IpHeaderError',
  'ArpFormatError',
  'MacAddressError',
  'AddressFormatError',
  'FieldRangeError',
]);

export type Outcome = { value: unknown } | { error: string; message: string; offset: number };

/** Runs `fn`, turning a typed error into a value; rethrows anything else (the property then fails). */
export function outcome(fn: () => unknown): Outcome {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof EncapError && TYPED.has(e.name) && e.name === e.constructor.name)
      return { error: e.name, message: e.message, offset: e.offset };
    throw e;
  }
}

/** A throwing decoder on windows: same outcome whatever the guard bytes; errors point inside the window. */
export function checkDecoder(
  seeds: readonly Buffer[],
  decode: (buf: Buffer, offset: number, length: number) => unknown,
): void {
  fc.assert(
    fc.property(windows(seeds), (w) => {
      const lo = outcome(() => decode(embed(w, 0x00), w.before, w.data.length));
      const hi = outcome(() => decode(embed(w, 0xff), w.before, w.data.length));
      assert.equal(lo, hi, 'the result depends on bytes outside the window');
      if ('error' in lo)
        assert.ok(
          lo.offset >= w.before && lo.offset <= w.before + w.data.length,
          `error offset ${lo.offset} outside the window`,
        );
    }),
    { numRuns: NUM_RUNS },
  );
}
