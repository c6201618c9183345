// vxlan DirectRouting's split: peers inside this node's underlay L2 subnet go to the kernel-route side, the rest
// to the overlay; a peer whose underlay address crosses the boundary is removed from its old side first. Per
// family: a dual-stack peer's IPv6 subnet is direct when its PublicIPv6 is inside this node's IPv6 prefix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv6Prefix, parseIpv6Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import pino from 'pino';
import { DirectRoutingNetwork } from '../src/backends/direct-routing.ts';
import type { DataplaneNetwork, NetworkStatus, PeerChange } from '../src/backends/types.ts';
import type { Ipv6PeerChange } from '../src/backends/ipv6-routes.ts';
import { NO_IPV4_SUBNET } from '../src/subnet-key.ts';

class Recorder implements DataplaneNetwork {
  readonly mtu: number;
  readonly batches: string[][] = [];
  readonly batches6: string[][] = [];
  constructor(
    readonly backend: string,
    mtu: number,
  ) {
    this.mtu = mtu;
  }
  async start(): Promise<void> {}
  async apply(changes: readonly PeerChange[]): Promise<void> {
    this.batches.push(
      changes.map(
        (c) =>
          `${c.type} ${c.key ?? '-'} ${(c.subnet.ip >>> 8) & 255} ${c.publicIp}` +
          (c.ipv6 ? ` ${formatIpv6Prefix(c.ipv6.subnet)} ${c.ipv6.publicIp}` : ''),
      ),
    );
  }
  async applyIpv6(changes: readonly Ipv6PeerChange[]): Promise<void> {
    this.batches6.push(changes.map((c) => `${c.type} ${formatIpv6Prefix(c.subnet)} ${c.publicIp}`));
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

function setup(families: { v4?: boolean; v6?: boolean } = { v4: true }) {
  const overlay = new Recorder('vxlan', 1450);
  const direct = new Recorder('native', 1500);
  const dr = new DirectRoutingNetwork({
    log: pino({ level: 'silent' }),
    overlay,
    direct,
    ...(families.v4 && { underlaySubnet: tryParseIpv4Prefix('192.0.2.0/24')! }),
    ...(families.v6 && { underlaySubnetV6: parseIpv6Prefix('2001:db8::/64') }),
  });
  return { overlay, direct, dr };
}

/** A dual-stack (or, with v4 0, IPv6-only) lease's change, known by its lease key. */
const change6 = (type: 'added' | 'removed', n: number, v4: number, ip4: string, ip6?: string): PeerChange => ({
  type,
  key: `lease-${n}`,
  subnet: v4 ? net(v4) : NO_IPV4_SUBNET,
  publicIp: ip4,
  ipv6: { subnet: parseIpv6Prefix(`fd00:10:244:${n}::/64`), ...(ip6 && { publicIp: ip6 }), vtepMac: 'x' },
});

test("same-L2 peers are routed directly, the others encapsulated; MTU and backend are the overlay's", async () => {
  const { overlay, direct, dr } = setup();
  await dr.apply([
    change('added', 2, '192.0.2.2'),
    change('added', 3, '198.51.100.3'),
    change('added', 4, '192.0.2.4'),
  ]);
  assert.equal(direct.batches, [['added - 2 192.0.2.2', 'added - 4 192.0.2.4']]);
  assert.equal(overlay.batches, [['added 10.244.3.0-24 3 198.51.100.3']]);
  assert.is(dr.mtu, 1450);
  assert.is(dr.backend, 'vxlan');
  assert.equal(
    dr.status().routes.map((r) => r.subnet),
    ['vxlan', 'native'],
  );
  assert.equal(
    dr.status().routes.map((r) => (r as { direct?: boolean }).direct ?? false),
    [false, true],
    'the direct routes are marked so',
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
  assert.equal(direct.batches[1], ['removed - 2 192.0.2.2']);
  assert.equal(overlay.batches[1], ['removed 10.244.3.0-24 3 198.51.100.3']);
});

test('a peer that moves across the L2 boundary leaves its old side', async () => {
  const { overlay, direct, dr } = setup();
  await dr.apply([change('added', 2, '192.0.2.2')]);
  await dr.apply([change('added', 2, '198.51.100.2')]);
  assert.equal(direct.batches, [['added - 2 192.0.2.2'], ['removed - 2 192.0.2.2']]);
  assert.equal(overlay.batches, [['added 10.244.2.0-24 2 198.51.100.2']]);
});

test('dual stack: each family is direct or encapsulated on its own; the overlay keeps only the encapsulated one', async () => {
  const { overlay, direct, dr } = setup({ v4: true, v6: true });
  await dr.apply([
    change6('added', 2, 2, '192.0.2.2', '2001:db8::2'), // both on link
    change6('added', 3, 3, '198.51.100.3', '2001:db8:1::3'), // neither
    change6('added', 4, 4, '192.0.2.4', '2001:db8:1::4'), // IPv4 on link, IPv6 routed
    change6('added', 5, 5, '198.51.100.5', '2001:db8::5'), // IPv6 on link, IPv4 routed
    change6('added', 6, 6, '192.0.2.6'), // no PublicIPv6: its IPv6 stays with the overlay
  ]);
  assert.equal(direct.batches, [['added - 2 192.0.2.2', 'added - 4 192.0.2.4', 'added - 6 192.0.2.6']]);
  assert.equal(direct.batches6, [['added fd00:10:244:2::/64 2001:db8::2', 'added fd00:10:244:5::/64 2001:db8::5']]);
  assert.equal(overlay.batches, [
    [
      'added lease-3 3 198.51.100.3 fd00:10:244:3::/64 2001:db8:1::3',
      'added lease-4 0 192.0.2.4 fd00:10:244:4::/64 2001:db8:1::4',
      'added lease-5 5 198.51.100.5',
      'added lease-6 0 192.0.2.6 fd00:10:244:6::/64 undefined',
    ],
  ]);
  const plan = dr.plan([change6('added', 4, 4, '192.0.2.4', '2001:db8:1::4')]);
  assert.is(plan.overlay[0]!.subnet, NO_IPV4_SUBNET, 'an IPv4-direct peer is IPv6-only to the overlay');
});

test('dual stack: a peer moving in and out of the IPv6 prefix, then leaving, takes its routes along', async () => {
  const { overlay, direct, dr } = setup({ v4: true, v6: true });
  await dr.apply([change6('added', 2, 2, '192.0.2.2', '2001:db8:1::2')]);
  await dr.apply([change6('added', 2, 2, '192.0.2.2', '2001:db8::2')]); // moved onto our IPv6 link
  await dr.apply([change6('added', 2, 2, '192.0.2.2', '2001:db8::22')]); // new address, same link
  await dr.apply([change6('added', 2, 2, '192.0.2.2', '2001:db8:2::2')]); // moved away again
  await dr.apply([change6('removed', 2, 2, '192.0.2.2', '2001:db8:2::2')]);
  assert.equal(overlay.batches, [
    ['added lease-2 0 192.0.2.2 fd00:10:244:2::/64 2001:db8:1::2'],
    ['removed lease-2 2 192.0.2.2 fd00:10:244:2::/64 2001:db8::2'],
    ['added lease-2 0 192.0.2.2 fd00:10:244:2::/64 2001:db8:2::2'],
    ['removed lease-2 2 192.0.2.2 fd00:10:244:2::/64 2001:db8:2::2'],
  ]);
  assert.equal(direct.batches6, [
    ['added fd00:10:244:2::/64 2001:db8::2'],
    ['removed fd00:10:244:2::/64 2001:db8::2', 'added fd00:10:244:2::/64 2001:db8::22'],
    ['removed fd00:10:244:2::/64 2001:db8::22'],
  ]);
  assert.equal(direct.batches.at(-1), ['removed - 2 192.0.2.2'], 'the IPv4 route goes with the lease');
});

test('IPv6 only: no IPv4 prefix, IPv6 peers split by the IPv6 prefix alone', async () => {
  const { overlay, direct, dr } = setup({ v6: true });
  await dr.apply([
    change6('added', 2, 0, '0.0.0.0', '2001:db8::2'),
    change6('added', 3, 0, '0.0.0.0', '2001:db8:1::3'),
  ]);
  assert.equal(direct.batches, [], 'no IPv4 route at all');
  assert.equal(direct.batches6, [['added fd00:10:244:2::/64 2001:db8::2']]);
  assert.equal(overlay.batches, [['added lease-3 0 0.0.0.0 fd00:10:244:3::/64 2001:db8:1::3']]);
  await dr.apply([change6('removed', 2, 0, '0.0.0.0', '2001:db8::2')]);
  assert.equal(direct.batches6[1], ['removed fd00:10:244:2::/64 2001:db8::2']);
  assert.is(overlay.batches.length, 1, 'the overlay never had the direct peer');
});

test.run();
