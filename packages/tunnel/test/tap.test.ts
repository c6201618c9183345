// TapSender on the real kernel: a VXLAN-encapsulated TCP super-packet handed to the TAP whole reaches a kernel
// vxlan device at its defaults with every byte, in whole segments; with tx offloads off on weft's underlay veth it
// leaves as standard segments (tshark checks lengths, sequence numbers and checksums), and with them at their
// defaults as the kernel passes it on (super-frames allowed). Either way a plain packet gets its partial checksum
// completed and malformed metadata is counted, not sent. Reverse-path filtering in the namespace makes
// openTapSender refuse with TunnelGsoUnavailableError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { PacketBatch, TCP_OFFLOADS, TunnelGsoUnavailableError, openTapSender, openTun } from '../src/index.ts';
import { quietNamespace, twoNamespaces } from './lab.ts';
import { HEADROOM, SLOT, V4, VXLAN_LEN, WEFT_OFFLOADS, withVtepLab } from './support/tap-lab.ts';
import { sendAndCheck } from './support/tap-wire.ts';

if (canRunWith('tunnel: TAP with UDP-tunnel GSO', ['ip', 'bridge', 'ethtool', 'nstat', 'tcpdump', 'tshark'])) {
  for (const offloads of WEFT_OFFLOADS) {
    const scopeName = offloads === 'defaults' ? 'h1-tap-def' : 'h1-tap-off';
    test(`a super-packet written whole reaches the kernel's vxlan device; bad metadata is counted (weft's veth: ${offloads})`, () =>
      withVtepLab(scopeName, V4, offloads, async (lab) => {
        const tap = await openTapSender({
          name: 'weft-gso0',
          netns: lab.a.name,
          source: V4.source,
          encapLength: VXLAN_LEN,
          batchSize: 4,
        });
        try {
          tap.addPeer(0, V4.peer, 8472);
          await sendAndCheck(lab, V4, tap, offloads, true);
        } finally {
          tap.close();
        }
      }));
  }

  test('reverse-path filtering in the namespace: openTapSender refuses with TunnelGsoUnavailableError', async () => {
    const { scope, a } = await twoNamespaces('h1-taprp');
    try {
      await a.exec(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=1']);
      const err = await openTapSender({ netns: a.name, source: '192.0.2.1', encapLength: VXLAN_LEN }).catch(
        (e: unknown) => e,
      );
      assert.instance(err, TunnelGsoUnavailableError);
      assert.match((err as Error).message, /rp_filter is 1/);
      const links = await a.ip(['-o', 'link', 'show']);
      assert.not.match(links.stdout, /weft-gso0/, 'no TAP left behind');
    } finally {
      await scope.cleanup();
    }
  });

  test('a TUN in whole mode refuses slots that cannot hold a 64 KB super-packet and its virtio header', async () => {
    const { scope, ns } = await quietNamespace('h1-whole');
    try {
      const tun = openTun({ name: 'flannel0', netns: ns.name, offloads: TCP_OFFLOADS, whole: true, batchSize: 4 });
      try {
        assert.throws(() => tun.read(new PacketBatch(4, 2048), HEADROOM), /whole mode needs/);
        assert.throws(
          () => tun.read(new PacketBatch(4, SLOT), 4),
          /whole mode needs/,
          'headroom below the 10-byte header',
        );
        assert.is(tun.read(new PacketBatch(4, SLOT), HEADROOM), 0, 'a fitting batch reads (nothing waits)');
      } finally {
        tun.close();
      }
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
