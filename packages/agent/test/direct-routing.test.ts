// vxlan DirectRouting's split: peers inside this node's underlay L2 subnet go to the kernel-route side, the rest
// to the overlay; a peer whose underlay address crosses the boundary is removed from its old side first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import pino from 'pino';
import { DirectRoutingNetwork } from '../src/backends/direct-routing.ts';
import type { DataplaneNetwork, NetworkStatus, PeerChange } from '../src/backends/types.ts';

class Recorder implements DataplaneNetwork {
  readonly mtu: number;
  readonly batches: string[][] = [];
  constructor(
    readonly backend: string,
    mtu: number,
  ) {
    this.mtu = mtu;
  }
  async start(): Promise<void> {}
  async apply(changes: readonly PeerChange[]): Promise<void> {
    this.batches.push(changes.map((c) => `${c.type} ${(c.subnet.ip >>> 8) & 255} ${c.publicIp}`));
  }
  status(): NetworkStatus {
    return { backend: this.backend, mtu: this.mtu, routes: [{ subnet: this.backend, via: '-' }] };
  }
  async stop(): Promise<void> {}
}

const net = (n: number) => tryParseIpv4Prefix(`10.244.${n}.0/24`)!;
const change = (type: 'added' | 'removed', n: number, publicIp: string): PeerChange => ({
  type,
  subnet: net(n),
  publicIp,
});

function setup() {
  const overlay = new Recorder('vxlan', 1450);
  const direct = new Recorder('native', 1500);
  const dr = new DirectRoutingNetwork({
    log: pino({ level: 'silent' }),
    overlay,
    direct,
    underlaySubnet: tryParseIpv4Prefix('192.0.2.0/24')!,
  });
  return { overlay, direct, dr };
}

test("same-L2 peers are routed directly, the others encapsulated; MTU and backend are the overlay's", async () => {
  const { overlay, direct, dr } = setup();
  await dr.apply([
    change('added', 2, '192.0.2.2'),
    change('added', 3, '198.51.100.3'),
    change('added', 4, '192.0.2.4'),
  ]);
  assert.equal(direct.batches, [['added 2 192.0.2.2', 'added 4 192.0.2.4']]);
  assert.equal(overlay.batches, [['added 3 198.51.100.3']]);
  assert.is(dr.mtu, 1450);
  assert.is(dr.backend, 'vxlan');
  assert.equal(
    dr.status().routes.map((r) => r.subnet),
    ['vxlan', 'native'],
  );
});

test('removal goes to the side that has the peer; unknown removals go nowhere', async () => {
  const { overlay, direct, dr } = setup();
  await dr.apply([change('added', 2, '192.0.2.2'), change('added', 3, '198.51.100.3')]);
  await dr.apply([
    change('removed', 2, '192.0.2.2'),
    change('removed', 3, '198.51.100.3'),
    change('removed', 9, '192.0.2.9'),
  ]);
  assert.equal(direct.batches[1], ['removed 2 192.0.2.2']);
  assert.equal(overlay.batches[1], ['removed 3 198.51.100.3']);
});

test('a peer that moves across the L2 boundary leaves its old side', async () => {
  const { overlay, direct, dr } = setup();
  await dr.apply([change('added', 2, '192.0.2.2')]);
  await dr.apply([change('added', 2, '198.51.100.2')]);
  assert.equal(direct.batches, [['added 2 192.0.2.2'], ['removed 2 192.0.2.2']]);
  assert.equal(overlay.batches, [['added 2 198.51.100.2']]);
});

test.run();
