// IPv6 only (EnableIPv4 false) through two real agents (startAgent, vxlan and udp) on fake ports, without root:
// flannel0 is a ChannelTun, the IPv6 underlay a ChannelNetwork, the store a MemoryLeaseStore. A bare node C holds an
// IPv6-only lease (flannel's 0.0.0.0-0&V6NET-LEN key) written straight into the store. Each agent must know the
// others as peers by their lease (no IPv4 subnet), configure flannel0 for IPv6 alone and move exact bytes both ways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMac } from '@weft/encap';
import { parseIpv6Prefix } from '@weft/netaddr';
import { ChannelNetwork, type ChannelBind } from '@weft/tunnel';
import { MemoryLeaseStore } from './support/internals.ts';
import { dropsOf, drain, routesOf, sendFrom, until } from './support/fake-node.ts';
import { startFakeNode6, type FakeNode6 } from './support/fake-node6.ts';
import { VXLAN_VNI1, ipv6, vxlan6 } from './support/ipv6-packets.ts';
import { vtepMacV6For } from '../src/dual-stack.ts';
import { NO_IPV4_SUBNET } from '../src/subnet-key.ts';

const NET6 = 'fd00:10:244::/56';
const C6 = 'fd00:10:244:c::/64';
const C_MAC6 = '0a:58:00:00:06:0c';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

type Node = FakeNode6;

async function one(take: () => Uint8Array[], what: string): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...take()), got.length >= 1), what);
  return got[0]!;
}

interface World {
  port: number;
  store: MemoryLeaseStore;
  dir: string;
  a: Node;
  b: Node;
  c6: ChannelBind;
}

for (const backend of ['vxlan', 'udp'] as const) {
  const t = suite<{ w: World }>(`${backend}: IPv6 only on fakes`);
  const mtu6 = backend === 'udp' ? 1452 : 1430;
  t.before(async (ctx) => {
    const port = backend === 'udp' ? 8285 : 8472;
    const net = new ChannelNetwork();
    const store = new MemoryLeaseStore({ pollMs: 5 });
    const conf = { EnableIPv4: false, EnableIPv6: true, IPv6Network: NET6, Backend: { Type: backend } };
    await store.putConfig(JSON.stringify(conf));
    const dir = mkdtempSync(join(tmpdir(), 'v6o-fakes-'));
    const c6 = net.bind('2001:db8::3', port);
    const attrs = {
      PublicIP: '0.0.0.0',
      PublicIPv6: '2001:db8::3',
      BackendType: backend,
      ...(backend === 'vxlan' ? { BackendV6Data: { VNI: 1, VtepMAC: C_MAC6 } } : {}),
      NodeName: 'c',
    };
    await store.createLease(NO_IPV4_SUBNET, attrs, 3600_000, parseIpv6Prefix(C6));
    const a = await startFakeNode6({ name: 'a', ip6: '2001:db8::1', store, net, dir });
    const b = await startFakeNode6({ name: 'b', ip6: '2001:db8::2', store, net, dir });
    await until(() => routesOf(a).length === 2 && routesOf(b).length === 2, 'both agents to learn two IPv6 peers');
    ctx.w = { port, store, dir, a, b, c6 };
  });
  t.after(async ({ w }) => {
    if (!w) return;
    await w.a.agent.stop();
    await w.b.agent.stop();
    await w.store.close();
    rmSync(w.dir, { recursive: true, force: true });
  });

  t('flannel0 for IPv6 alone: IPv6 address and route, IPv6 MTU, IPv6 socket only; peers by lease', ({ w }) => {
    const { a } = w;
    assert.equal(a.link.links, [
      { name: 'flannel0', cfg: { mtu: mtu6, txQueueLength: 5000, addresses: [], routes: [] } },
    ]);
    assert.equal(a.link.lines, [
      `addr replace ${a.addr(0)}/128 dev flannel0`,
      `route replace ${NET6} dev flannel0 mtu ${mtu6}`,
    ]);
    assert.is(a.agent.network.mtu, mtu6);
    assert.ok(
      a.udpOpened.every((x) => x === '2001:db8::1'),
      `sockets only on the IPv6 underlay: ${a.udpOpened}`,
    );
    assert.equal(routesOf(a), [`${C6} via 2001:db8::3`, `${w.b.addr(0)}/64 via 2001:db8::2`].sort());
    const st = a.agent.status().ipv6!;
    assert.ok(st.forwarded, st.reason);
    assert.match(st.reason, /IPv6 underlay/);
  });

  t('A -> C and C -> A: exact bytes over the IPv6 underlay', async ({ w }) => {
    const { a } = w;
    const out = ipv6(a.addr(5), 'fd00:10:244:c::9', 64, 'to C');
    a.tun.inject(out);
    const expect =
      backend === 'udp' ? ipv6(a.addr(5), 'fd00:10:244:c::9', 63, 'to C') : vxlan6(C_MAC6, vtepMacV6For('a'), out);
    assert.is(hex(await one(() => drain(w.c6), 'a datagram at C')), hex(expect));
    const inner = ipv6('fd00:10:244:c::9', a.addr(5), 30, 'from C');
    sendFrom(w.c6, '2001:db8::1', w.port, backend === 'udp' ? inner : vxlan6(vtepMacV6For('a'), C_MAC6, inner));
    const got = await one(() => a.tun.take(), "a packet on a's flannel0");
    assert.is(hex(got), hex(backend === 'udp' ? ipv6('fd00:10:244:c::9', a.addr(5), 29, 'from C') : inner));
  });

  t('A <-> B: agent to agent both ways', async ({ w }) => {
    const { a, b } = w;
    const hop = backend === 'udp' ? 62 : 64;
    a.tun.inject(ipv6(a.addr(5), b.addr(7), 64, 'a to b'));
    assert.is(hex(await one(() => b.tun.take(), 'b flannel0')), hex(ipv6(a.addr(5), b.addr(7), hop, 'a to b')));
    b.tun.inject(ipv6(b.addr(7), a.addr(5), 64, 'b to a'));
    assert.is(hex(await one(() => a.tun.take(), 'a flannel0')), hex(ipv6(b.addr(7), a.addr(5), hop, 'b to a')));
  });

  t('anti-spoofing: inner sources outside C, and IPv4 inside, are dropped and counted', async ({ w }) => {
    const { a } = w;
    const aMac6 = vtepMacV6For('a');
    const frame = (inner: Uint8Array) => (backend === 'udp' ? Buffer.from(inner) : vxlan6(aMac6, C_MAC6, inner));
    const d0 = { ...dropsOf(a) };
    const send = (x: Uint8Array) => sendFrom(w.c6, '2001:db8::1', w.port, x);
    send(frame(ipv6(w.b.addr(9), a.addr(5), 30, 'spoofed: B')));
    send(frame(ipv6('fd00:10:244:99::9', a.addr(5), 30, 'spoofed: nobody')));
    send(frame(ipv6('2001:db8::77', a.addr(5), 30, 'spoofed: outside')));
    // An IPv4 packet from a peer with no IPv4 subnet: no IPv4 source is its own.
    const v4 = Buffer.from('450000200000000040110000c00002030af4010503e807d0000c000061616161', 'hex');
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += v4.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v4.writeUInt16BE(~sum & 0xffff, 10);
    send(
      backend === 'udp'
        ? v4
        : Buffer.concat([VXLAN_VNI1, parseMac(aMac6), parseMac(C_MAC6), Buffer.from('0800', 'hex'), v4]),
    );
    const total = (d: Record<string, number>) => Object.values(d).reduce((x, y) => x + y, 0);
    await until(() => total(dropsOf(a)) - total(d0) === 4, '4 drops counted');
    assert.is(dropsOf(a).spoofed_source! - d0.spoofed_source!, 4);
    assert.equal(a.tun.take(), [], 'nothing reached flannel0');
  });

  t('a peer leaving takes its IPv6 route; IPv4 from flannel0 goes nowhere', async ({ w }) => {
    const { a } = w;
    const [lease] = (await w.store.listLeases()).leases.filter((l) => l.attrs.NodeName === 'c');
    await w.store.deleteLease(lease!.subnet, lease!.ipv6Subnet);
    await until(() => routesOf(a).length === 1, 'C removed');
    a.tun.inject(ipv6(a.addr(5), 'fd00:10:244:c::9', 64, 'C is gone'));
    const err = Buffer.from(await one(() => a.tun.take(), 'an ICMPv6 error'));
    assert.equal([err[6], err[40]], [58, 1], 'ICMPv6 destination unreachable');
    assert.equal(drain(w.c6), []);
  });

  t.run();
}
