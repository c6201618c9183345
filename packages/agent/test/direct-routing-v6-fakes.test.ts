// vxlan DirectRouting per family through a real dual-stack agent (startAgent) on fake ports, without root. Node A's
// eth0 is 192.0.2.1/24 and 2001:db8::1/64; three bare peers hold dual-stack leases in the store:
//   C  192.0.2.3     2001:db8::3     both families on A's link: kernel routes, nothing for the overlay
//   D  198.51.100.4  2001:db8:1::4   neither: both through VXLAN
//   E  192.0.2.5     2001:db8:1::5   IPv4 on link (kernel route), IPv6 through VXLAN over IPv6
// Then C's PublicIPv6 moves off A's link and E leaves: their direct routes go, the overlay takes C's IPv6 subnet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpv6Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import { ChannelNetwork, type ChannelBind } from '@weft/tunnel';
import { MemoryLeaseStore, type LeaseAttrs } from './support/internals.ts';
import { NO_IPV4_SUBNET } from '../src/subnet-key.ts';
import { drain, routesOf, until } from './support/fake-node.ts';
import { startFakeNode6, type FakeNode6 } from './support/fake-node6.ts';
import { ipv6, vxlan6 } from './support/ipv6-packets.ts';
import { vtepMacV6For } from '../src/dual-stack.ts';

const NET6 = 'fd00:10:244::/56';
const PORT = 8472;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Peer {
  n: number;
  ip4: string;
  ip6: string;
}
const C: Peer = { n: 0xc, ip4: '192.0.2.3', ip6: '2001:db8::3' };
const D: Peer = { n: 0xd, ip4: '198.51.100.4', ip6: '2001:db8:1::4' };
const E: Peer = { n: 0xe, ip4: '192.0.2.5', ip6: '2001:db8:1::5' };
const v4 = (p: Peer) => `10.244.${p.n}.0/24`;
const v6 = (p: Peer) => `fd00:10:244:${p.n.toString(16)}::/64`;
const mac6 = (p: Peer) => `0a:58:00:00:06:${p.n.toString(16).padStart(2, '0')}`;

function attrs(p: Peer, ip6 = p.ip6): LeaseAttrs {
  return {
    PublicIP: p.ip4,
    PublicIPv6: ip6,
    BackendType: 'vxlan',
    BackendData: { VNI: 1, VtepMAC: `0a:58:00:00:00:${p.n.toString(16).padStart(2, '0')}` },
    BackendV6Data: { VNI: 1, VtepMAC: mac6(p) },
    NodeName: `peer-${p.n}`,
  };
}

const lease = (store: MemoryLeaseStore, p: Peer, ip6?: string) =>
  store.createLease(tryParseIpv4Prefix(v4(p))!, attrs(p, ip6), 3600_000, parseIpv6Prefix(v6(p)));

interface World {
  a: FakeNode6;
  store: MemoryLeaseStore;
  net: ChannelNetwork;
}

/**
 * Runs `body` against node A (eth0 `ip4`/24 and 2001:db8::1/64, or IPv6 only without `ip4`) on a store holding
 * `conf` and whatever `leases` writes; stops A and removes the scratch directory afterwards.
 */
async function withNodeA(
  conf: object,
  ip4: string | undefined,
  leases: (store: MemoryLeaseStore) => Promise<void>,
  body: (w: World) => Promise<void>,
): Promise<void> {
  const net = new ChannelNetwork();
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'dr6-fakes-'));
  await store.putConfig(JSON.stringify(conf));
  await leases(store);
  const a = await startFakeNode6({
    name: 'a',
    ...(ip4 && { ip4 }),
    ip6: '2001:db8::1',
    prefixLens: [24, 64],
    store,
    net,
    dir,
  });
  try {
    await body({ a, store, net });
  } finally {
    await a.agent.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The routes A asked the kernel for on eth0 (flannel0's own left out). */
const kernelLines = (a: FakeNode6) => a.link.lines.filter((l) => l.startsWith('route ') && !l.includes('flannel0'));

/** How /status shows `subnet`: `direct via X`, `vxlan via X` or `none`. */
function side(a: FakeNode6, subnet: string): string {
  const r = a.agent.network.status().routes.find((x) => x.subnet === subnet);
  return r?.direct ? `direct via ${r.via}` : r?.vtepMac ? `vxlan via ${r.via}` : 'none';
}

/** The first datagram to reach `bind` (waits for it). */
async function firstDatagram(bind: ChannelBind, what: string): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...drain(bind)), got.length >= 1), what);
  return got[0]!;
}

const DUAL = {
  Network: '10.244.0.0/16',
  EnableIPv6: true,
  IPv6Network: NET6,
  Backend: { Type: 'vxlan', DirectRouting: true },
};

test('dual stack: direct or VXLAN per family, and the direct routes follow a move and a leave', () =>
  withNodeA(
    DUAL,
    '192.0.2.1',
    async (store) => {
      for (const p of [C, D, E]) await lease(store, p);
    },
    async ({ a, store, net }) => {
      const wires = new Map([C, D, E].flatMap((p) => [p.ip4, p.ip6].map((ip) => [ip, net.bind(ip, PORT)] as const)));
      await until(() => routesOf(a).length === 6, 'A to route three peers, both families');
      assert.equal(kernelLines(a).sort(), [
        `route replace ${v4(C)} via ${C.ip4} dev eth0 proto static`,
        `route replace ${v4(E)} via ${E.ip4} dev eth0 proto static`,
        `route replace ${v6(C)} via ${C.ip6} dev eth0 proto static`,
      ]);
      assert.equal(
        [v4(C), v6(C), v4(D), v6(D), v4(E), v6(E)].map((s) => side(a, s)),
        [
          `direct via ${C.ip4}`,
          `direct via ${C.ip6}`,
          `vxlan via ${D.ip4}`,
          `vxlan via ${D.ip6}`,
          `direct via ${E.ip4}`,
          `vxlan via ${E.ip6}`,
        ],
        '/status tells each family of each peer apart',
      );
      assert.ok(
        a.agent.status().routes.some((r) => r.subnet === v6(C) && r.direct),
        "the agent's /status has it",
      );

      // flannel0: E's IPv6 leaves as VXLAN over IPv6; C's IPv6 is the kernel's and never reaches the wire.
      const toE = ipv6(a.addr(5), 'fd00:10:244:e::9', 64, 'to E over VXLAN');
      a.tun.inject(toE);
      const got = await firstDatagram(wires.get(E.ip6)!, 'a datagram at E');
      assert.is(hex(got), hex(vxlan6(mac6(E), vtepMacV6For('a'), toE)), "E's IPv6 VTEP, byte-exact");
      a.tun.inject(ipv6(a.addr(5), 'fd00:10:244:c::9', 64, 'to C: not the overlay'));
      await new Promise((r) => setTimeout(r, 50));
      for (const ip of [C.ip4, C.ip6, E.ip4]) assert.equal(drain(wires.get(ip)!), [], `nothing encapsulated to ${ip}`);

      // C's PublicIPv6 moves off A's link; E leaves.
      a.link.lines.length = 0;
      await store.renewLease(tryParseIpv4Prefix(v4(C))!, attrs(C, '2001:db8:2::3'), 3600_000, parseIpv6Prefix(v6(C)));
      await store.deleteLease(tryParseIpv4Prefix(v4(E))!, parseIpv6Prefix(v6(E)));
      const moved = () => routesOf(a).length === 4 && routesOf(a).includes(`${v6(C)} via 2001:db8:2::3`);
      await until(moved, 'the move and the leave');
      assert.equal(kernelLines(a).sort(), [`route del ${v4(E)}`, `route del ${v6(C)}`]);
      assert.equal(
        [side(a, v4(C)), side(a, v6(C))],
        [`direct via ${C.ip4}`, 'vxlan via 2001:db8:2::3'],
        "C's IPv4 stays direct, its IPv6 is now encapsulated",
      );
    },
  ));

test('IPv6 only: the on-link peer gets a kernel route, the other VXLAN over IPv6; no IPv4 route at all', () =>
  withNodeA(
    { ...DUAL, EnableIPv4: false, Network: undefined },
    undefined,
    async (store) => {
      for (const p of [C, D]) {
        const attrs6 = { PublicIP: '0.0.0.0', PublicIPv6: p.ip6, BackendType: 'vxlan' };
        const lease6 = { ...attrs6, BackendV6Data: { VNI: 1, VtepMAC: mac6(p) } };
        await store.createLease(NO_IPV4_SUBNET, lease6, 3600_000, parseIpv6Prefix(v6(p)));
      }
    },
    async ({ a, net }) => {
      const d6 = net.bind(D.ip6, PORT);
      await until(() => routesOf(a).length === 2, 'A to route both IPv6 peers');
      assert.equal(kernelLines(a), [`route replace ${v6(C)} via ${C.ip6} dev eth0 proto static`]);
      assert.equal([side(a, v6(C)), side(a, v6(D))], [`direct via ${C.ip6}`, `vxlan via ${D.ip6}`]);
      const toD = ipv6(a.addr(5), 'fd00:10:244:d::9', 64, 'to D');
      a.tun.inject(toD);
      const got = await firstDatagram(d6, 'a datagram at D');
      assert.is(hex(got), hex(vxlan6(mac6(D), vtepMacV6For('a'), toD)), 'VXLAN over IPv6 to D, byte-exact');
    },
  ));

test.run();
