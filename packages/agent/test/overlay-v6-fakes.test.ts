// IPv6 pod traffic through two real dual-stack agents (startAgent, vxlan and udp) on fake ports, without root:
// flannel0 is a ChannelTun, the IPv4 and IPv6 underlays share one ChannelNetwork, the store a MemoryLeaseStore.
// Two bare "nodes" hold dual-stack leases written straight into the store: C with PublicIPv6 and an IPv6 VTEP MAC,
// D without PublicIPv6 (udp then carries its IPv6 over IPv4; vxlan gives it no IPv6 route). Every assertion is about
// exact bytes or named drop counters.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv6 } from '@weft/netaddr';
import type { ChannelBind } from '@weft/tunnel';
import { dropsOf, drain, routesOf, sendFrom, until } from './support/fake-node.ts';
import {
  addressNoLeaseHolds,
  dualStackWorld,
  NODE_C,
  stopCluster,
  type BareNode,
  type DualStackWorld,
  type FakeNode6,
} from './support/fake-node6.ts';
import { NET6 } from './support/net-confs.ts';
import { ipv6, vxlan6 } from './support/ipv6-packets.ts';
import { vtepMacV6For } from '../src/dual-stack.ts';

const { subnet6: C6, mac6: C_MAC6 } = NODE_C;
/** Bare node D: dual-stack lease, no PublicIPv6. */
const NODE_D: BareNode = {
  name: 'd',
  ip4: '192.0.2.4',
  ip6: null,
  subnet: '10.244.4.0/24',
  subnet6: 'fd00:10:244:d::/64',
  mac: '0a:58:00:00:00:0d',
  mac6: '0a:58:00:00:06:0d',
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

type Node = FakeNode6;

interface World extends DualStackWorld {
  backend: 'udp' | 'vxlan';
  d4: ChannelBind;
}

async function setUp(backend: 'udp' | 'vxlan'): Promise<World> {
  const w = await dualStackWorld(backend, 'v6d-fakes-', { others: [NODE_D] });
  writeFileSync(join(w.dir, 'unused'), '');
  const d4 = w.net.bind(NODE_D.ip4, w.port);
  const { a, b } = w;
  const want = backend === 'udp' ? 6 : 5; // 3 IPv4 + 3 IPv6 peers; vxlan: no IPv6 route to D (no PublicIPv6)
  await until(() => routesOf(a).length === want && routesOf(b).length === want, 'both agents to learn the peers');
  return { ...w, backend, d4 };
}

async function wire(bind: ChannelBind): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...drain(bind)), got.length >= 1), `a datagram at ${bind.address}`);
  return got[0]!;
}

async function fromTun(node: Node): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...node.tun.take()), got.length >= 1), `a packet on ${node.name}'s flannel0`);
  return got[0]!;
}

for (const backend of ['vxlan', 'udp'] as const) {
  const t = suite<{ w: World }>(`${backend}: IPv6 pod traffic on fakes`);
  t.before(async (ctx) => {
    ctx.w = await setUp(backend);
  });
  t.after(async ({ w }) => {
    if (w) await stopCluster(w, [w.a, w.b]); // no w: setUp failed, its error is the report
  });

  t('flannel0 gets the IPv6 address and the IPv6 cluster route with the IPv6 MTU; /status says how', ({ w }) => {
    const mtu6 = backend === 'udp' ? 1452 : 1430; // 1500 - 48 (IPv6 + UDP) or - 70 (+ VXLAN + inner Ethernet)
    assert.equal(w.a.link.lines.slice(0, 2), [
      `addr replace ${w.a.addr(0)}/128 dev flannel0`,
      `route replace ${NET6} dev flannel0 mtu ${mtu6}`,
    ]);
    const st = w.a.agent.status().ipv6!;
    assert.ok(st.forwarded, 'forwarded');
    assert.match(st.reason, /IPv6 underlay/);
    assert.match(st.reason, /sent from plain UDP sockets: forced off/, 'the fake ports offer no TAP');
    assert.ok(routesOf(w.a).includes(`${C6} via 2001:db8::3`), 'C by its PublicIPv6');
  });

  t('A -> C: IPv6 over the IPv6 underlay, byte-exact (vxlan: the IPv6 VTEP MACs, 0x86dd)', async ({ w }) => {
    const pkt = ipv6(w.a.addr(5), 'fd00:10:244:c::9', 64, 'to C over IPv6');
    w.a.tun.inject(pkt);
    const got = await wire(w.c6);
    const expect =
      backend === 'udp'
        ? ipv6(w.a.addr(5), 'fd00:10:244:c::9', 63, 'to C over IPv6')
        : vxlan6(C_MAC6, vtepMacV6For('a'), pkt);
    assert.is(hex(got), hex(expect));
    assert.equal(drain(w.c4), [], 'nothing on the IPv4 underlay');
  });

  t('C -> A: decapsulated byte-exact onto flannel0', async ({ w }) => {
    const inner = ipv6('fd00:10:244:c::9', w.a.addr(5), 30, 'from C');
    sendFrom(w.c6, '2001:db8::1', w.port, backend === 'udp' ? inner : vxlan6(vtepMacV6For('a'), C_MAC6, inner));
    const got = await fromTun(w.a);
    assert.is(hex(got), hex(backend === 'udp' ? ipv6('fd00:10:244:c::9', w.a.addr(5), 29, 'from C') : inner));
  });

  t('A <-> B: agent to agent both ways over IPv6', async ({ w }) => {
    const hop = backend === 'udp' ? 62 : 64;
    w.a.tun.inject(ipv6(w.a.addr(5), w.b.addr(7), 64, 'a to b'));
    assert.is(hex(await fromTun(w.b)), hex(ipv6(w.a.addr(5), w.b.addr(7), hop, 'a to b')));
    w.b.tun.inject(ipv6(w.b.addr(7), w.a.addr(5), 64, 'b to a'));
    assert.is(hex(await fromTun(w.a)), hex(ipv6(w.b.addr(7), w.a.addr(5), hop, 'b to a')));
  });

  t('D has no PublicIPv6: udp carries its IPv6 over IPv4, vxlan has no IPv6 route to it', async ({ w }) => {
    const pkt = ipv6(w.a.addr(5), 'fd00:10:244:d::9', 64, 'to D');
    const noRoute = dropsOf(w.a).no_route!;
    w.a.tun.inject(pkt);
    if (backend === 'udp') {
      assert.is(hex(await wire(w.d4)), hex(ipv6(w.a.addr(5), 'fd00:10:244:d::9', 63, 'to D')));
      sendFrom(w.d4, '192.0.2.1', w.port, ipv6('fd00:10:244:d::9', w.a.addr(5), 30, 'from D inside IPv4'));
      assert.is(hex(await fromTun(w.a)), hex(ipv6('fd00:10:244:d::9', w.a.addr(5), 29, 'from D inside IPv4')));
    } else {
      const err = Buffer.from(await fromTun(w.a));
      assert.is(err[6], 58, 'ICMPv6');
      assert.equal([err[40], err[41]], [1, 0], 'destination unreachable, no route');
      assert.is(dropsOf(w.a).no_route, noRoute + 1);
      assert.equal(drain(w.d4), []);
    }
  });

  t('ICMPv6 destination unreachable for an IPv6 destination no peer owns; none for an ICMPv6 error', async ({ w }) => {
    const before = dropsOf(w.a).no_route!;
    const lost = ipv6(w.a.addr(5), await addressNoLeaseHolds(w.store, NET6), 64, 'nowhere');
    w.a.tun.inject(lost);
    const p = Buffer.from(await fromTun(w.a));
    assert.is(p[6], 58, 'next header ICMPv6');
    assert.is(formatIpv6(ipv6From(p, 8)), w.a.addr(0), "from flannel0's IPv6 address");
    assert.is(formatIpv6(ipv6From(p, 24)), w.a.addr(5), 'to the sender');
    assert.equal([p[40], p[41]], [1, 0], 'destination unreachable, no route');
    assert.is(hex(p.subarray(48)), hex(lost), 'quotes the packet');
    assert.is(dropsOf(w.a).no_route, before + 1);
    w.a.tun.inject(Buffer.from(p).fill(0, 8, 24).fill(0xfd, 8, 9)); // an ICMPv6 error bound nowhere (fd00::)
    await until(() => dropsOf(w.a).no_route === before + 2, 'the error to be dropped');
    assert.equal(w.a.tun.take(), [], 'no error about an error');
  });

  t('Packet Too Big with the IPv6 MTU for a packet over it', async ({ w }) => {
    const mtu6 = backend === 'udp' ? 1452 : 1430;
    const big = ipv6(w.a.addr(5), 'fd00:10:244:c::9', 64, mtu6 + 1 - 48);
    w.a.tun.inject(big);
    const p = Buffer.from(await fromTun(w.a));
    assert.equal([p[40], p[41]], [2, 0], 'packet too big');
    assert.is(p.readUInt32BE(44), mtu6);
    assert.is(dropsOf(w.a).packet_too_big, 1);
    w.a.tun.inject(ipv6(w.a.addr(5), 'fd00:10:244:c::9', 64, mtu6 - 48));
    assert.is((await wire(w.c6)).length, mtu6 + (backend === 'vxlan' ? 22 : 0), 'exactly the MTU passes');
  });

  t('hostile IPv6 from C: nothing reaches flannel0, every drop counted by name', async ({ w }) => {
    const aMac6 = vtepMacV6For('a');
    const frame = (inner: Uint8Array, head?: Uint8Array) =>
      backend === 'udp' ? Buffer.from(inner) : vxlan6(aMac6, C_MAC6, inner, head);
    const d0 = { ...dropsOf(w.a) };
    const send = (b: Uint8Array) => sendFrom(w.c6, '2001:db8::1', w.port, b);
    send(frame(ipv6(w.b.addr(9), w.a.addr(5), 30, 'spoofed: B')));
    send(frame(ipv6('fd00:10:244:99::9', w.a.addr(5), 30, 'spoofed: nobody')));
    send(frame(ipv6('2001:db8::77', w.a.addr(5), 30, 'spoofed: outside')));
    // Destination Options header claiming 64 bytes where 8 are left: truncated.
    send(frame(ipv6('fd00:10:244:c::9', w.a.addr(5), 30, '', Buffer.from([17, 7, 0, 0, 0, 0, 0, 0]))));
    let expect = { spoofed_source: 3, bad_ipv6_chain: 1 } as Record<string, number>;
    if (backend === 'vxlan') {
      send(
        vxlan6(
          aMac6,
          C_MAC6,
          ipv6('fd00:10:244:c::9', w.a.addr(5), 30, 'vni 2'),
          Buffer.from('0800000000000200', 'hex'),
        ),
      );
      expect = { ...expect, wrong_vni: 1 };
    }
    // Random bytes behind a valid outer header (seeded, so a failure repeats).
    let seed = 0x6d2b79f5;
    const rand = () => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e37) >>> 0) & 0xff;
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (rand() << 2) }, rand));
      junk[0] = (junk[0]! & 0x0f) | 0x60; // version 6, so it is judged as IPv6
      send(frame(junk));
    }
    const total = (d: Record<string, number>) => Object.values(d).reduce((x, y) => x + y, 0);
    const sent = 4 + (backend === 'vxlan' ? 1 : 0) + 50;
    await until(() => total(dropsOf(w.a)) - total(d0) === sent, `${sent} drops counted`);
    for (const [k, v] of Object.entries(expect)) assert.is(dropsOf(w.a)[k]! - d0[k]!, v, k);
    assert.equal(w.a.tun.take(), [], 'nothing reached flannel0');
  });

  t.run();
}

function ipv6From(b: Buffer, off: number): bigint {
  return (b.readBigUInt64BE(off) << 64n) | b.readBigUInt64BE(off + 8);
}
