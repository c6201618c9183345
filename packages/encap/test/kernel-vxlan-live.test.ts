// Fresh packets from the Linux vxlan driver on this machine (root, iproute2, tcpdump): the same checks as the
// golden test, and the capture must have the fixture's shape (every field that does not vary per run equal), so
// the committed fixture cannot drift from what the kernel sends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, listLabNamespaces } from '@weft/lab';
import { KERNEL_VXLAN } from './fixtures/kernel-vxlan.ts';
import { checkKernelPackets } from './kernel-checks.ts';
import { PACKET_KINDS, captureKernelVxlan, frameOf, pickPackets, type PacketKind } from './kernel-vxlan.ts';

if (canRunWith('kernel vxlan capture', ['ip', 'bridge', 'ping', 'tcpdump'])) {
  test('fresh kernel VXLAN frames: decapsulate accepts them, encapsulate reproduces them, fixture shape holds', async () => {
    const scope = `enc-kvx-${process.pid}`; // unique: other runs of the suite may share this machine
    const packets = pickPackets(await captureKernelVxlan(scope));
    assert.equal(await listLabNamespaces(scope), [], 'namespaces deleted');
    checkKernelPackets(
      Object.fromEntries(PACKET_KINDS.map((k) => [k, frameOf(packets[k])])) as Record<PacketKind, Buffer>,
    );
    for (const k of PACKET_KINDS) {
      const fresh = packets[k];
      const fixture = KERNEL_VXLAN[k];
      assert.is(fresh.length, fixture.length, `${k}: same fields`);
      fresh.forEach(([hex, note, varies], i) => {
        const [fhex, fnote] = fixture[i]!;
        if (varies) assert.is(hex.length, fhex.length, `${k}: ${fnote}`);
        else assert.equal([hex, note], [fhex, fnote], `${k}: field ${i} drifted from the fixture`);
      });
    }
  });
}

test.run();
