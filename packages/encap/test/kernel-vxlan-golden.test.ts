// Golden bytes from the Linux vxlan driver configured the flannel way (fixtures/kernel-vxlan.ts): our decoders
// agree with the kernel and our encoders reproduce its bytes exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KERNEL_VXLAN } from './fixtures/kernel-vxlan.ts';
import { checkKernelPackets } from './kernel-checks.ts';
import { PACKET_KINDS, annotate, frameOf, type PacketKind } from './kernel-vxlan.ts';

const frames = Object.fromEntries(PACKET_KINDS.map((k) => [k, frameOf(KERNEL_VXLAN[k])])) as Record<PacketKind, Buffer>;

test('the fixture annotates back to itself (every field commented, nothing left over)', () => {
  for (const k of PACKET_KINDS) assert.equal(annotate(frames[k]), KERNEL_VXLAN[k], k);
});

test('decode agrees with the kernel, re-encoding reproduces its bytes, decap/encap round-trip', () => {
  checkKernelPackets(frames);
});

test.run();
