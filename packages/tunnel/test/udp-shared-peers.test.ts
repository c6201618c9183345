// sharePeers: two real sockets on one peer table (a send pool holds one copy), across a veth between namespaces.
import { canRunPrivileged } from '@weft/lab';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openUdp, PacketBatch, TunnelError, type UdpBatchSocket } from '../src/index.ts';
import { twoNamespaces } from './lab.ts';

/** Reads from `s` for up to `ms` (bounded), returning the peer index of each datagram received. */
async function readPeers(s: UdpBatchSocket, want: number, ms: number): Promise<number[]> {
  const inb = new PacketBatch(8);
  const peers: number[] = [];
  const end = Date.now() + ms;
  while (peers.length < want && Date.now() < end) {
    const n = s.read(inb, 0);
    for (let i = 0; i < n; i++) peers.push(inb.peers[i]!);
    if (!n) await new Promise((r) => setTimeout(r, 10));
  }
  return peers;
}

function batchTo(peer: number, count: number): PacketBatch {
  const out = new PacketBatch(count);
  for (let i = 0; i < count; i++) out.set(i, new Uint8Array(200).fill(i), 0, peer);
  out.count = count;
  return out;
}

if (canRunPrivileged('tunnel: UDP sockets sharing one peer table')) {
  test('sharePeers: peers added on one socket are sent to and recognised by the other; removal and close', async () => {
    const { scope, a, b } = await twoNamespaces('st-udp-share');
    const open: UdpBatchSocket[] = [];
    try {
      await a.ip(['addr', 'add', '192.0.2.3/24', 'dev', 'eth0']);
      const owner = openUdp({ address: '192.0.2.1', port: 8285, netns: a.name, gso: false, gro: false });
      const pooled = openUdp({ address: '192.0.2.3', port: 9999, netns: a.name, gso: false, gro: false });
      const far = openUdp({ address: '192.0.2.2', port: 8285, netns: b.name, gso: false, gro: false });
      open.push(owner, pooled, far);
      pooled.addPeer(1, '192.0.2.2', 8285); // dropped by sharePeers: the pooled socket now uses owner's table
      pooled.sharePeers(owner);
      owner.addPeer(5, '192.0.2.2', 8285);
      far.addPeer(9, '192.0.2.3', 9999);
      assert.is(pooled.write(batchTo(1, 2)), 2);
      assert.is(pooled.stats().txErrors, 2, 'peer 1 of its own table is gone');
      assert.is(pooled.write(batchTo(5, 3)), 3);
      assert.equal(await readPeers(far, 3, 2000), [9, 9, 9], 'sent from the pooled socket to owner peer 5');
      far.write(batchTo(9, 2));
      assert.equal(await readPeers(pooled, 2, 2000), [5, 5], 'the pooled socket knows the sender as owner peer 5');
      owner.removePeer(5);
      pooled.write(batchTo(5, 1));
      assert.is(pooled.stats().txErrors, 3, 'removed on owner: gone for the pooled socket too');
      owner.addPeer(6, '192.0.2.2', 8285);
      owner.close(); // the table lives on with the socket that shares it
      open.splice(0, 1);
      assert.is(pooled.write(batchTo(6, 1)), 1);
      assert.equal(await readPeers(far, 1, 2000), [9]);
      await b.ip(['addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
      const v6 = openUdp({ address: '2001:db8::2', port: 8472, netns: b.name });
      open.push(v6);
      assert.throws(
        () => v6.sharePeers(far),
        (e: unknown) => e instanceof TunnelError && /families/.test(String(e)),
      );
    } finally {
      for (const s of open) s.close();
      await scope.cleanup();
    }
  });
}

test.run();
