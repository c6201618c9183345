// peerByAddress: tunnel peers are known by address. The kernel's vxlan driver sends each flow from its own
// source port (RFC 7348 section 5), so a datagram from a registered peer's address but another port must still
// count as that peer when the socket asks for it, and as unknown (-1) when it does not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openUdp, PacketBatch, type UdpBatchSocket } from '../src/index.ts';

async function readOne(sock: UdpBatchSocket): Promise<PacketBatch> {
  const batch = new PacketBatch(4);
  for (let i = 0; i < 200; i++) {
    if (sock.read(batch, 16) > 0) return batch;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no datagram within 2 s');
}

for (const peerByAddress of [true, false]) {
  test(`a registered address on another port reads as ${peerByAddress ? 'that peer' : 'unknown (-1)'} with peerByAddress ${peerByAddress}`, async () => {
    const receiver = openUdp({ address: '127.0.0.1', peerByAddress });
    const peer = openUdp({ address: '127.0.0.1' });
    const otherPort = openUdp({ address: '127.0.0.1' });
    try {
      receiver.addPeer(3, '127.0.0.1', peer.port);
      otherPort.addPeer(0, '127.0.0.1', receiver.port);
      const out = new PacketBatch(1);
      out.set(0, Buffer.from('from the peer address, another port'), 0, 0);
      out.count = 1;
      assert.is(otherPort.write(out), 1);
      const got = await readOne(receiver);
      assert.is(got.peers[0], peerByAddress ? 3 : -1);
      assert.is(Buffer.from(got.packet(0)).toString(), 'from the peer address, another port');
      receiver.removePeer(3);
      assert.is(otherPort.write(out), 1);
      assert.is((await readOne(receiver)).peers[0], -1, 'a removed peer is unknown again');
    } finally {
      for (const s of [receiver, peer, otherPort]) s.close();
    }
  });
}

test.run();
