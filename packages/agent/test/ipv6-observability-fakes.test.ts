// What an operator sees of IPv6 traffic, through real agents (startAgent, vxlan and udp) on fake ports: counters
// in /status that rise by exactly the packets and bytes sent per family, IPv6 drops by reason and family, the
// weft_family_* metrics read from them, the capture hook given the IPv6 peer of IPv6-underlay datagrams, and an
// IPv6-only node's lease (its IPv6 subnet, no IPv4 one). Dual stack: A and B are agents, C a bare node with a
// dual-stack lease on both underlays.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeIpv4Header, encodeUdpHeader } from '@weft/encap';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6Prefix } from '@weft/netaddr';
import type { ChannelBind } from '@weft/tunnel';
import {
  CaptureDirection,
  CaptureSide,
  NO_IPV4_SUBNET,
  createMetrics,
  vtepMacFor,
  type AgentStatus,
} from './support/internals.ts';
import { RecordingCapture, drain, sendFrom, until } from './support/fake-node.ts';
import {
  addressNoLeaseHolds,
  dualStackWorld,
  fakeCluster,
  NODE_C,
  startFakeNode6,
  stopCluster,
  type DualStackWorld,
  type FakeCluster,
  type FakeNode6,
} from './support/fake-node6.ts';
import { NET6, ipv6OnlyConf } from './support/net-confs.ts';
import { ipv6, vxlan6 } from './support/ipv6-packets.ts';
import { vtepMacV6For } from '../src/dual-stack.ts';

const { subnet6: C6, mac6: C_MAC6 } = NODE_C;

/** The wire-side records of `capture` (each with the IPv6 peer the overlay named, if any). */
const wireRecords = (capture: RecordingCapture) => capture.records.filter((r) => r.side === CaptureSide.Wire);

/** An IPv4/UDP packet, ports 1000 -> 2000, valid header checksum. */
function ipv4(src: string, dst: string, payload: string): Buffer {
  const body = Buffer.from(payload);
  const b = Buffer.alloc(28 + body.length);
  const h = { dscp: 0, ecn: 0, totalLength: b.length, identification: 7, flags: 2, fragmentOffset: 0, ttl: 64 };
  encodeIpv4Header({ ...h, protocol: 17, src: parseIpv4(src), dst: parseIpv4(dst), options: Buffer.alloc(0) }, b, 0);
  encodeUdpHeader({ srcPort: 1000, dstPort: 2000, length: 8 + body.length, checksum: 0 }, b, 20);
  b.set(body, 28);
  return b;
}

const counters = (n: FakeNode6) => n.agent.status().counters;
const status = (n: FakeNode6): AgentStatus => n.agent.status();
/** Each counter's rise since `before`. */
const rise = (n: FakeNode6, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(counters(n)).map(([k, v]) => [k, v - (before[k] ?? 0)]));

async function takeN(n: FakeNode6, count: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...n.tun.take()), got.length >= count), `${count} packets on ${n.name}'s flannel0`);
  return got;
}

/** The value of one series in Prometheus text (exact labels), or null. */
function metric(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

interface World extends DualStackWorld {
  capture: RecordingCapture;
  stranger6: ChannelBind;
}

async function dualStack(backend: 'udp' | 'vxlan'): Promise<World> {
  const capture = new RecordingCapture();
  const w = await dualStackWorld(backend, 'ob6-fakes-', { captureA: capture });
  const { a, b } = w;
  const peers = (n: FakeNode6) => n.agent.network.status().routes.length;
  await until(() => peers(a) === 4 && peers(b) === 4, 'both agents to learn B or A and C in both families');
  return { ...w, capture, stranger6: w.net.bind('2001:db8::99', w.port) };
}

for (const backend of ['vxlan', 'udp'] as const) {
  const t = suite<{ w: World }>(`${backend}: IPv6 counters, drops and capture on fakes`);
  t.before(async (ctx) => {
    ctx.w = await dualStack(backend);
  });
  t.after(async ({ w }) => {
    if (w) await stopCluster(w, [w.a, w.b]); // no w: setUp failed, its error is the report
  });

  t('IPv6 A -> B: sent and received counted exactly, as IPv6, in the totals too', async ({ w }) => {
    const a0 = counters(w.a);
    const b0 = counters(w.b);
    const pkt = (n: number) => ipv6(w.a.addr(5), w.b.addr(7), 64, `ping ${n}`);
    const len = pkt(0).length;
    for (let n = 0; n < 5; n++) w.a.tun.inject(pkt(n));
    await takeN(w.b, 5);
    const ra = rise(w.a, a0);
    const rb = rise(w.b, b0);
    assert.equal(
      [ra.tx_packets, ra.tx_packets_ipv6, ra.tx_bytes_ipv6, ra.tx_packets_ipv4, ra.tun_read_packets],
      [5, 5, 5 * len, 0, 5],
      'A sent five IPv6 packets',
    );
    assert.equal(
      [rb.rx_packets, rb.udp_read_packets, rb.rx_packets_ipv6, rb.rx_bytes_ipv6, rb.rx_packets_ipv4],
      [5, 5, 5, 5 * len, 0],
      'B received five over the IPv6 underlay (rx_packets counted none before)',
    );
    assert.is(rb.rx_bytes, 5 * len, 'rx_bytes: the pod bytes delivered');
  });

  t('IPv4 beside it: counted as IPv4, the IPv6 counters stay', async ({ w }) => {
    const b0 = counters(w.b);
    const src = formatIpv4(w.a.agent.lease()!.subnet.ip + 5);
    const dst = formatIpv4(w.b.agent.lease()!.subnet.ip + 7);
    for (let n = 0; n < 3; n++) w.a.tun.inject(ipv4(src, dst, `v4 ${n}`));
    await takeN(w.b, 3);
    const rb = rise(w.b, b0);
    assert.equal([rb.rx_packets, rb.rx_packets_ipv4, rb.rx_packets_ipv6], [3, 3, 0]);
    assert.is(rb.rx_bytes_ipv4, 3 * ipv4(src, dst, 'v4 0').length);
  });

  t('IPv6 drops by reason and family; each reason adds up to its total', async ({ w }) => {
    const before = status(w.a);
    const d0 = before.dropsByFamily!;
    const frame = (inner: Uint8Array, head?: Uint8Array) =>
      backend === 'udp' ? Buffer.from(inner) : vxlan6(vtepMacV6For('a'), C_MAC6, inner, head);
    const fromC6 = (b: Uint8Array) => sendFrom(w.c6, '2001:db8::1', w.port, b);
    fromC6(frame(ipv6(w.b.addr(9), w.a.addr(5), 30, 'spoofed: B')));
    fromC6(frame(ipv6('fd00:10:244:c::9', w.a.addr(5), 30, '', Buffer.from([17, 7, 0, 0, 0, 0, 0, 0]))));
    sendFrom(w.stranger6, '2001:db8::1', w.port, frame(ipv6('fd00:10:244:c::9', w.a.addr(5), 30, 'who?')));
    w.a.tun.inject(ipv6(w.a.addr(5), await addressNoLeaseHolds(w.store, NET6), 64, 'nowhere'));
    const mtu6 = backend === 'udp' ? 1452 : 1430;
    w.a.tun.inject(ipv6(w.a.addr(5), 'fd00:10:244:c::9', 64, mtu6 + 1 - 48));
    sendFrom(w.c4, '192.0.2.1', w.port, ipv4UnderC(backend, ipv4('10.244.77.1', '10.244.0.1', 'spoofed v4')));
    const expect6: Record<string, number> = {
      spoofed_source: 1,
      bad_ipv6_chain: 1,
      unknown_peer: 1,
      no_route: 1,
      packet_too_big: 1,
    };
    const sum = (d: Record<string, number>) => Object.values(d).reduce((x, y) => x + y, 0);
    await until(
      () =>
        sum(status(w.a).dropsByFamily!.ipv6) - sum(d0.ipv6) === 5 &&
        sum(status(w.a).dropsByFamily!.ipv4) - sum(d0.ipv4) === 1,
      'six drops counted',
    );
    const after = status(w.a);
    for (const [k, v] of Object.entries(expect6))
      assert.is((after.dropsByFamily!.ipv6[k] ?? 0) - (d0.ipv6[k] ?? 0), v, `ipv6 ${k}`);
    assert.is((after.dropsByFamily!.ipv4.spoofed_source ?? 0) - (d0.ipv4.spoofed_source ?? 0), 1, 'ipv4 spoofed');
    for (const [reason, total] of Object.entries(after.drops))
      assert.is(
        (after.dropsByFamily!.ipv4[reason] ?? 0) + (after.dropsByFamily!.ipv6[reason] ?? 0),
        reason.startsWith('inner_') || reason.startsWith('udp_') || reason.startsWith('tx_') ? 0 : total,
        `${reason}: ipv4 + ipv6 = total`,
      );
    w.a.tun.take(); // the ICMPv6 errors
  });

  t('metrics: weft_family_* match /status; weft_packets_total includes IPv6', async ({ w }) => {
    const text = await createMetrics(() => w.b.agent.status()).metrics();
    const c = counters(w.b);
    assert.is(metric(text, 'weft_family_packets_total{direction="rx",family="ipv6"}'), c.rx_packets_ipv6!);
    assert.is(metric(text, 'weft_family_packets_total{direction="rx",family="ipv4"}'), c.rx_packets_ipv4!);
    assert.is(metric(text, 'weft_family_bytes_total{direction="rx",family="ipv6"}'), c.rx_bytes_ipv6!);
    assert.is(metric(text, 'weft_packets_total{direction="rx"}'), c.rx_packets!);
    assert.ok(c.rx_packets_ipv6! >= 5 && c.rx_packets! === c.rx_packets_ipv4! + c.rx_packets_ipv6!);
    const ta = await createMetrics(() => w.a.agent.status()).metrics();
    const d6 = status(w.a).dropsByFamily!.ipv6;
    assert.is(
      metric(ta, 'weft_family_dropped_packets_total{reason="packet_too_big",family="ipv6"}'),
      d6.packet_too_big!,
    );
    assert.is(metric(ta, 'weft_family_dropped_packets_total{reason="spoofed_source",family="ipv4"}'), 1);
  });

  t('capture: IPv6-underlay datagrams name the IPv6 peer, both ways; IPv4 ones its IPv4 address', async ({ w }) => {
    w.capture.records.length = 0;
    w.a.tun.inject(ipv6(w.a.addr(5), w.b.addr(7), 64, 'captured'));
    await takeN(w.b, 1);
    w.b.tun.inject(ipv6(w.b.addr(7), w.a.addr(5), 64, 'captured back'));
    await takeN(w.a, 1);
    const six = wireRecords(w.capture).map(
      (r) => `${r.direction === CaptureDirection.Outbound ? 'out' : 'in'} ${r.peer6}`,
    );
    assert.equal(six, ['out 2001:db8::2', 'in 2001:db8::2']);
    assert.ok(wireRecords(w.capture).every((r) => r.peerAddress === 0));
    sendFrom(w.c4, '192.0.2.1', w.port, ipv4UnderC(backend, ipv4('10.244.3.9', '10.244.0.1', 'v4 from C')));
    await until(() => wireRecords(w.capture).length === 3, 'the IPv4 datagram recorded');
    const v4 = wireRecords(w.capture)[2]!;
    assert.equal([v4.peer6, v4.peerAddress], [null, parseIpv4('192.0.2.3')]);
    w.a.tun.take();
  });

  t.run();
}

/** An IPv4 pod packet as C sends it over the IPv4 underlay (vxlan: C's IPv4 VTEP to A's, VNI 1). */
function ipv4UnderC(backend: 'udp' | 'vxlan', inner: Buffer): Buffer {
  if (backend === 'udp') return inner;
  const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');
  const head = Buffer.from('0800000000000100', 'hex');
  return Buffer.concat([head, mac(vtepMacFor('a')), mac('0a:58:00:00:00:0c'), Buffer.from('0800', 'hex'), inner]);
}

const only = suite<{ w?: FakeCluster & { a: FakeNode6; c6: ChannelBind } }>(
  'IPv6 only: the lease in /status, counters',
);
only.before(async (ctx) => {
  const cluster = await fakeCluster(ipv6OnlyConf('udp'), 'ob6-only-');
  const { net, store, dir } = cluster;
  const c6 = net.bind('2001:db8::3', 8285);
  const attrs = { PublicIP: '0.0.0.0', PublicIPv6: '2001:db8::3', BackendType: 'udp', NodeName: 'c' };
  await store.createLease(NO_IPV4_SUBNET, attrs, 3600_000, parseIpv6Prefix(C6));
  const a = await startFakeNode6({ name: 'a', ip6: '2001:db8::1', store, net, dir });
  await until(() => a.agent.network.status().routes.length === 1, 'A to learn C');
  ctx.w = { ...cluster, a, c6 };
});
only.after(async ({ w }) => {
  if (w) await stopCluster(w, [w.a]);
});

only('lease: the IPv6 subnet and PublicIPv6, no IPv4 subnet (not 0.0.0.0/0)', ({ w }) => {
  const lease = status(w!.a).lease!;
  const sub6 = w!.a.agent.lease()!.ipv6Subnet!;
  assert.is(lease.subnet, undefined);
  assert.is(lease.ipv6Subnet, `${formatIpv6(sub6.ip)}/${sub6.prefixLen}`);
  assert.is(lease.publicIpv6, '2001:db8::1');
  assert.ok(!JSON.stringify(lease).includes('0.0.0.0/0'), JSON.stringify(lease));
});

only('counters: IPv6 from C counted as received IPv6; a spoofed one as an IPv6 drop', async ({ w }) => {
  const { a, c6 } = w!;
  const a0 = counters(a);
  const spoofed0 = status(a).dropsByFamily!.ipv6.spoofed_source ?? 0;
  const pkt = ipv6('fd00:10:244:c::9', a.addr(5), 30, 'from C');
  sendFrom(c6, '2001:db8::1', 8285, pkt);
  sendFrom(c6, '2001:db8::1', 8285, ipv6('fd00:10:244:77::9', a.addr(5), 30, 'spoofed'));
  await takeN(a, 1);
  await until(() => (status(a).dropsByFamily!.ipv6.spoofed_source ?? 0) === spoofed0 + 1, 'the spoof counted');
  const r = rise(a, a0);
  assert.equal([r.rx_packets, r.rx_packets_ipv6, r.rx_bytes_ipv6, r.rx_packets_ipv4], [1, 1, pkt.length, 0]);
  assert.equal(drain(c6), []);
});

only.run();
