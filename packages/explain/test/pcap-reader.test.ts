// The capture reader on files in every byte order and timestamp resolution, including ones Wireshark's own tools
// write, and its errors on damaged files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRunWith, run } from '@weft/lab';
import { CaptureFormatError, captureKind, readCapture } from '../src/index.ts';
import { icmpEcho, tempDir } from './helpers.ts';

const pkts = [icmpEcho('10.244.1.5', '10.244.2.7', 1).buf, icmpEcho('10.244.2.7', '10.244.1.5', 2, 'reply!').buf];

/** A classic pcap of raw IP packets (link type 101), big- or little-endian, micro- or nanosecond stamps. */
function pcap(le: boolean, nano: boolean): Buffer {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const head = Buffer.concat([
    u32(nano ? 0xa1b23c4d : 0xa1b2c3d4),
    u16(2),
    u16(4),
    u32(0),
    u32(0),
    u32(65535),
    u32(101),
  ]);
  const recs = pkts.map((p, i) =>
    Buffer.concat([u32(1_700_000_000 + i), u32(nano ? 250_000_000 : 250_000), u32(p.length), u32(p.length + 10), p]),
  );
  return Buffer.concat([head, ...recs]);
}

test('classic pcap: both byte orders, micro and nanosecond timestamps', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      const file = pcap(le, nano);
      assert.is(captureKind(file), 'pcap');
      const got = readCapture(file);
      assert.equal(
        got.map((p) => Buffer.from(p.data).toString('hex')),
        pkts.map((p) => p.toString('hex')),
        `le=${le} nano=${nano}`,
      );
      assert.equal(
        got.map((p) => [p.linkType, p.timestamp, p.originalLength]),
        [
          [101, 1_700_000_000.25, pkts[0]!.length + 10],
          [101, 1_700_000_001.25, pkts[1]!.length + 10],
        ],
      );
    }
  }
});

test('damaged files fail with the file offset of the damage', () => {
  const file = pcap(true, false);
  const second = 24 + 16 + pkts[0]!.length;
  try {
    readCapture(file.subarray(0, file.length - 3));
    assert.unreachable('a truncated record must throw');
  } catch (e) {
    assert.instance(e, CaptureFormatError);
    assert.is((e as CaptureFormatError).offset, second);
    assert.match((e as Error).message, /overruns the file/);
  }
  assert.throws(
    () => readCapture(Buffer.from('hello world, not a capture')),
    (e: Error) => e.name === 'CaptureFormatError' && (e as CaptureFormatError).offset === 0,
  );
  assert.is(captureKind(Buffer.from('4500', 'hex')), null);
});

if (canRunWith('pcapng written by editcap', ['editcap'])) {
  test("pcapng written by Wireshark's editcap reads back the same packets", async () => {
    const dir = tempDir();
    try {
      for (const le of [true, false]) {
        writeFileSync(join(dir, 'in.pcap'), pcap(le, false));
        await run(['editcap', '-F', 'pcapng', join(dir, 'in.pcap'), join(dir, 'out.pcapng')]);
        const file = readFileSync(join(dir, 'out.pcapng'));
        assert.is(captureKind(file), 'pcapng');
        const got = readCapture(file);
        assert.equal(
          got.map((p) => Buffer.from(p.data).toString('hex')),
          pkts.map((p) => p.toString('hex')),
        );
        assert.equal(
          got.map((p) => [p.linkType, p.timestamp, p.interfaceId]),
          [
            [101, 1_700_000_000.25, 0],
            [101, 1_700_000_001.25, 0],
          ],
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
