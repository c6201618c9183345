// The addon checks every argument before it casts or uses it: wrong kinds are TypeErrors, integers out of range
// RangeErrors, each naming the function and the argument; stats come back as named fields. No root needed: the
// checks run before any device is opened, and a UDP socket on loopback needs no privilege.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addon } from '../src/native.ts';
import { PacketBatch, openUdp } from '../src/index.ts';

const throwsWith = (fn: () => unknown, cls: typeof TypeError | typeof RangeError, text: RegExp): void => {
  assert.throws(fn, (e: Error) => e instanceof cls && text.test(e.message), `${cls.name} matching ${text}`);
};

test('typed-array kinds are checked before any cast: an Int32Array is not a slab, a Uint8Array not an index array', () => {
  const a = addon();
  const slab = new Uint8Array(4096),
    ints = new Int32Array(4);
  throwsWith(
    () => a.splitSuperPacket(new Int32Array(8) as never, slab, 2048, 0, ints, ints, 1),
    TypeError,
    /splitSuperPacket: pkt must be a Uint8Array \(got Int32Array\)/,
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 2048, 0, new Uint8Array(16) as never, ints, 1),
    TypeError,
    /offsets must be an Int32Array \(got Uint8Array\)/,
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 2048, 0, ints, new Float64Array(4) as never, 1),
    TypeError,
    /lengths must be an Int32Array \(got Float64Array\)/,
  );
  throwsWith(() => a.checksumOk('abc' as never), TypeError, /checksumOk: pkt must be a Uint8Array \(got a string\)/);
  throwsWith(() => a.checksumOk(undefined as never), TypeError, /got undefined/);
});

test('numbers must be integers in range: fractions and NaN are TypeErrors, out-of-range values RangeErrors', () => {
  const a = addon();
  const slab = new Uint8Array(4096),
    ints = new Int32Array(4);
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 1.5, 0, ints, ints, 1),
    TypeError,
    /slotSize must be an integer \(got number 1.5/,
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, Number.NaN, 0, ints, ints, 1),
    TypeError,
    /slotSize must be an integer/,
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, '2048' as never, 0, ints, ints, 1),
    TypeError,
    /slotSize must be an integer \(got a string\)/,
  );
  throwsWith(() => a.splitSuperPacket(slab, slab, 2048, 0, ints, ints, -1), RangeError, /max must be in \[0, /);
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 2048, 0, ints, ints, 3),
    RangeError,
    /3 slots of 2048 B do not fit a slab of 4096 B/,
  );
});

test('a slab that fits is accepted; index arrays too short and headroom past the slot are RangeErrors', () => {
  const a = addon();
  const slab = new Uint8Array(8192),
    ints = new Int32Array(4);
  assert.is(
    a.splitSuperPacket(new Uint8Array(4), slab, 2048, 0, ints, ints, 4),
    -1,
    'a 4-byte packet is malformed, not an error',
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 1024, 0, ints, ints, 8),
    RangeError,
    /max 8 exceeds an index array of 4 entries/,
  );
  throwsWith(
    () => a.splitSuperPacket(slab, slab, 2048, 2048, ints, ints, 1),
    RangeError,
    /headroom 2048 leaves no room/,
  );
});

test('coalescePackets: packets outside the slab and bad counts are RangeErrors; the result has named fields', () => {
  const a = addon();
  const batch = new PacketBatch(4, 256);
  batch.set(0, new Uint8Array(40).fill(0x45), 0);
  batch.count = 1;
  const r = a.coalescePackets(batch.slab, batch.offsets, batch.lengths, 0, 1, new Uint8Array(256));
  assert.equal(Object.keys(r).sort(), ['outLength', 'used', 'why']);
  assert.is(r.used, 1);
  batch.lengths[0] = 5000;
  throwsWith(
    () => a.coalescePackets(batch.slab, batch.offsets, batch.lengths, 0, 1, new Uint8Array(256)),
    RangeError,
    /packet 0 \(offset 0, length 5000\) lies outside the slab of 1024 B/,
  );
  throwsWith(
    () => a.coalescePackets(batch.slab, batch.offsets, batch.lengths, 0, 0, new Uint8Array(256)),
    RangeError,
    /count must be in \[1, 64\]/,
  );
});

test('NativeTun options are checked before the device is opened', () => {
  const { NativeTun } = addon();
  throwsWith(
    () => new NativeTun({ name: 5 as never }),
    TypeError,
    /NativeTun: option name must be a string \(got number 5\)/,
  );
  throwsWith(
    () => new NativeTun({ name: 'x', vnetHdr: 'yes' as never }),
    TypeError,
    /option vnetHdr must be a boolean/,
  );
  throwsWith(() => new NativeTun({ name: 'x', offloads: -1 }), RangeError, /option offloads must be in \[0, 65535\]/);
  throwsWith(() => new NativeTun(7 as never), TypeError, /NativeTun: options must be an object/);
});

test('UDP socket: bind, peers, buffers, GSO flags and poll check their arguments; stats are named fields', () => {
  const { NativeUdp } = addon();
  throwsWith(() => new NativeUdp({ family: 5 as never }), RangeError, /family must be 4 or 6/);
  const native = new NativeUdp({ family: 4 });
  try {
    throwsWith(
      () => native.bind('127.0.0.1', 70000),
      RangeError,
      /bind: port must be in \[0, 65535\] \(got number 70000\)/,
    );
    throwsWith(() => native.bind(127 as never, 0), TypeError, /bind: address must be a string/);
    assert.ok(native.bind('127.0.0.1', 0) > 0);
    throwsWith(() => native.addPeer(-1, '127.0.0.1', 1), RangeError, /addPeer: index must be in \[0, 1048576\]/);
    throwsWith(() => native.addPeer(0, 'nowhere', 1), RangeError, /addPeer: address nowhere is not an IP address/);
    throwsWith(() => native.setGso(1 as never), TypeError, /setGso: on must be a boolean \(got number 1\)/);
    throwsWith(() => native.setBuffers(-5, 0), RangeError, /setBuffers: send must be in/);
    throwsWith(() => native.poll(4, () => {}), RangeError, /poll: events must be in \[1, 3\]/);
    throwsWith(() => native.poll(1, 'cb' as never), TypeError, /poll: callback must be a function/);
    const batch = new PacketBatch(2, 256);
    throwsWith(
      () => native.send(batch.slab, batch.offsets, batch.lengths, batch.peers, 0, 3),
      RangeError,
      /send: count 3 exceeds an index array of 2 entries/,
    );
    throwsWith(
      () => native.recv(batch.slab, 256, 0, batch.offsets, batch.lengths, batch.peers, 1.25),
      TypeError,
      /recv: max must be an integer/,
    );
    const buffers = native.setBuffers(0, 0);
    assert.ok(buffers.send > 0 && buffers.receive > 0, 'setBuffers answers { send, receive }');
  } finally {
    native.close();
  }
  const udp = openUdp({ address: '127.0.0.1' });
  try {
    assert.equal(Object.keys(udp.stats()).sort(), [
      'gsoDisabled',
      'rxGroBatches',
      'rxPackets',
      'rxTruncated',
      'rxUnknownSource',
      'txErrors',
      'txGsoSends',
      'txPackets',
    ]);
  } finally {
    udp.close();
  }
});

test.run();
