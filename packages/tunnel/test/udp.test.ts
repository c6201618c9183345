// Real UDP sockets in two namespaces joined by a veth, with GSO/GRO on and off.
import { canRunPrivileged } from '@weft/lab';
import { openUdp, type UdpBatchSocket } from '../src/index.ts';
import { udpCompliance } from './compliance.ts';
import { twoNamespaces } from './lab.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

if (canRunPrivileged('tunnel: UDP batches across a veth')) {
  for (const offload of [false, true]) {
    udpCompliance(`UdpBatchSocket (GSO/GRO ${offload ? 'on' : 'off'})`, async () => {
      const { scope, a, b } = await twoNamespaces(`tun-udp${offload ? 'g' : 'p'}`);
      const opts = { batchSize: 8, gso: offload, gro: offload };
      const sa = openUdp({ ...opts, address: '192.0.2.1', port: 8285, netns: a.name });
      const sb = openUdp({ ...opts, address: '192.0.2.2', port: 8285, netns: b.name, receiveBuffer: 4 << 20 });
      await a.ip(['addr', 'add', '192.0.2.3/24', 'dev', 'eth0']);
      const sc = openUdp({ ...opts, address: '192.0.2.3', port: 9999, netns: a.name });
      if (offload) {
        assert.ok(sa.gso && sb.gro, 'this kernel accepts UDP_SEGMENT and UDP_GRO');
        after.push(() => assert.ok(sa.stats().txGsoSends > 0, 'GSO sends happened'));
      }
      return {
        a: sa,
        b: sb,
        c: sc,
        addrA: { address: '192.0.2.1', port: 8285 },
        addrB: { address: '192.0.2.2', port: 8285 },
        addrC: { address: '192.0.2.3', port: 9999 },
        async close() {
          for (const f of after.splice(0)) f();
          [sa, sb, sc].forEach((s: UdpBatchSocket) => s.close());
          await scope.cleanup();
        },
      };
    });
  }
  test('IPv6 sockets bind and exchange a batch (peer index by address)', async () => {
    const { scope, a, b } = await twoNamespaces('tun-udp6');
    try {
      await a.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
      await b.ip(['addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
      const s1 = openUdp({ address: '2001:db8::1', port: 8472, netns: a.name });
      const s2 = openUdp({ address: '2001:db8::2', port: 8472, netns: b.name });
      s1.addPeer(2, '2001:db8::2', 8472);
      s2.addPeer(7, '2001:db8::1', 8472);
      const { PacketBatch } = await import('../src/index.ts');
      const out = new PacketBatch(4);
      for (let i = 0; i < 4; i++) out.set(i, new Uint8Array(500).fill(i), 0, 2);
      out.count = 4;
      assert.is(s1.write(out), 4);
      const inb = new PacketBatch(8);
      let got = 0;
      const end = Date.now() + 2000;
      const peers: number[] = [];
      while (got < 4 && Date.now() < end) {
        const n = s2.read(inb, 0);
        for (let i = 0; i < n; i++) peers.push(inb.peers[i]!);
        got += n;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.is(got, 4);
      assert.equal(peers, [7, 7, 7, 7]);
      s1.close();
      s2.close();
    } finally {
      await scope.cleanup();
    }
  });
}
const after: (() => void)[] = [];

test.run();
