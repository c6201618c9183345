// Two real agents (startAgent: lease manager, lease route source, overlay backend) in one process, without root:
// flannel0 is a ChannelTun, the underlay a ChannelNetwork, the store a MemoryLeaseStore, iproute2 a recorder.
// Two more "nodes" are bare sockets with leases written straight into the store, so the test sees the exact
// bytes on the wire and can send any datagram as a known peer. Every assertion is about packets or counters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeIpv4Header, encodeIpv6Header, encodeUdpHeader, internetChecksum, parseMac } from '@weft/encap';
import { parseIpv4 } from '@weft/netaddr';
import { ChannelNetwork, type ChannelBind } from '@weft/tunnel';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { CaptureDirection, CaptureSide, MemoryLeaseStore, vtepMacFor, type LeaseAttrs } from './support/internals.ts';
import { drain, dropsOf, routesOf, sendFrom, startFakeNode, until, type FakeNode } from './support/fake-node.ts';

const C_MAC = '0a:58:00:00:00:0c';
const D_MAC = '0a:58:00:00:00:0d';
/** VXLAN header, RFC 7348 section 5: flags 0x08 (I: VNI valid), 3 reserved, VNI 1 (24 bits), 1 reserved. */
const VXLAN_VNI1 = Buffer.from('0800000000000100', 'hex');
const ETHERTYPE_IPV4 = Buffer.from('0800', 'hex');

/** An IPv4/UDP packet (ports 1000 -> 2000) built with @weft/encap's encoders; the IPv4 checksum computed anew. */
function ipv4(
  src: string,
  dst: string,
  ttl: number,
  payload: string | Uint8Array,
  patch: Partial<{ totalLength: number }> = {},
): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const b = Buffer.alloc(28 + body.length);
  encodeIpv4Header(
    {
      dscp: 0,
      ecn: 0,
      totalLength: patch.totalLength ?? b.length,
      identification: 7,
      flags: 2,
      fragmentOffset: 0,
      ttl,
      protocol: 17,
      src: parseIpv4(src),
      dst: parseIpv4(dst),
      options: Buffer.alloc(0),
    },
    b,
    0,
  );
  encodeUdpHeader({ srcPort: 1000, dstPort: 2000, length: 8 + body.length, checksum: 0 }, b, 20);
  b.set(body, 28);
  return b;
}

function ipv6Packet(): Buffer {
  const b = Buffer.alloc(48);
  const addr = (last: number) => Buffer.from([0xfd, 0, ...new Array<number>(13).fill(0), last]);
  encodeIpv6Header(
    { trafficClass: 0, flowLabel: 0, payloadLength: 8, nextHeader: 17, hopLimit: 64, src: addr(1), dst: addr(2) },
    b,
    0,
  );
  return b;
}

/** What a peer's VTEP puts on the wire for `inner`: VXLAN header, inner Ethernet (dst, src, type), the packet. */
const vxlanFrame = (dstMac: string, srcMac: string, inner: Uint8Array, head = VXLAN_VNI1) =>
  Buffer.concat([head, parseMac(dstMac), parseMac(srcMac), ETHERTYPE_IPV4, inner]);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface World {
  backend: 'udp' | 'vxlan';
  port: number;
  net: ChannelNetwork;
  store: MemoryLeaseStore;
  dir: string;
  a: FakeNode;
  b: FakeNode;
  /** Bare peers: C owns 10.244.3.0/24, D the longer 10.244.3.128/25. */
  c: ChannelBind;
  d: ChannelBind;
}

const attrs = (backend: string, ip: string, mac: string, name: string): LeaseAttrs => ({
  PublicIP: ip,
  BackendType: backend,
  ...(backend === 'vxlan' ? { BackendData: { VNI: 1, VtepMAC: mac } } : {}),
  NodeName: name,
});

async function setUp(backend: 'udp' | 'vxlan'): Promise<World> {
  const port = backend === 'udp' ? 8285 : 8472;
  const net = new ChannelNetwork();
  const store = new MemoryLeaseStore({ pollMs: 5 });
  await store.putConfig(JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 24, Backend: { Type: backend } }));
  const dir = mkdtempSync(join(tmpdir(), 'weft-fakes-'));
  const c = net.bind('192.0.2.3', port);
  const d = net.bind('192.0.2.4', port);
  await store.createLease(tryParseIpv4Prefix('10.244.3.0/24')!, attrs(backend, '192.0.2.3', C_MAC, 'c'), 3600_000);
  await store.createLease(tryParseIpv4Prefix('10.244.3.128/25')!, attrs(backend, '192.0.2.4', D_MAC, 'd'), 3600_000);
  const a = await startFakeNode({ name: 'a', publicIp: '192.0.2.1', subnet: '10.244.1.0/24', net, store, dir });
  const b = await startFakeNode({ name: 'b', publicIp: '192.0.2.2', subnet: '10.244.2.0/24', net, store, dir });
  await until(() => routesOf(a).length === 3 && routesOf(b).length === 3, 'both agents to learn three peers');
  return { backend, port, net, store, dir, a, b, c, d };
}

async function tearDown(w: World): Promise<void> {
  await w.a.agent.stop();
  await w.b.agent.stop();
  await w.store.close();
  rmSync(w.dir, { recursive: true, force: true });
}

/** Waits for `n` datagrams on a bare peer's socket. */
async function wire(bind: ChannelBind, n = 1): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...drain(bind)), got.length >= n), `${n} datagram(s) at ${bind.address}`);
  return got;
}

/** Waits for `n` packets written to a node's flannel0. */
async function fromTun(node: FakeNode, n = 1): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await until(() => (got.push(...node.tun.take()), got.length >= n), `${n} packet(s) on ${node.name}'s flannel0`);
  return got;
}

for (const backend of ['udp', 'vxlan'] as const) {
  const t = suite<{ w: World }>(`${backend} agents on fakes`);
  t.before(async (ctx) => {
    ctx.w = await setUp(backend);
  });
  t.after(async (ctx) => tearDown(ctx.w));

  t('the agents programmed flannel0 and the cluster route through the link programmer, not iproute2', ({ w }) => {
    const mtu = backend === 'udp' ? 1472 : 1450; // 1500 - 28 (IPv4 + UDP) or - 50 (+ VXLAN + inner Ethernet)
    assert.equal(w.a.link.links, [
      { name: 'flannel0', cfg: { mtu, txQueueLength: 5000, addresses: ['10.244.1.0/32'], routes: ['10.244.0.0/16'] } },
    ]);
    assert.equal(routesOf(w.a), [
      '10.244.2.0/24 via 192.0.2.2',
      '10.244.3.0/24 via 192.0.2.3',
      '10.244.3.128/25 via 192.0.2.4',
    ]);
  });

  t('longest prefix wins: 10.244.3.200 goes to D (/25), 10.244.3.5 to C (/24); wire bytes exact', async ({ w }) => {
    const toD = ipv4('10.244.1.5', '10.244.3.200', 64, 'to D');
    const toC = ipv4('10.244.1.5', '10.244.3.5', 64, 'to C');
    w.a.tun.inject(toD);
    w.a.tun.inject(toC);
    const [atD] = await wire(w.d);
    const [atC] = await wire(w.c);
    const aMac = vtepMacFor('a');
    // flannel-udp: the IP packet itself, TTL decremented by the sender (64 -> 63, checksum recomputed here).
    const expectD = backend === 'udp' ? ipv4('10.244.1.5', '10.244.3.200', 63, 'to D') : vxlanFrame(D_MAC, aMac, toD);
    const expectC = backend === 'udp' ? ipv4('10.244.1.5', '10.244.3.5', 63, 'to C') : vxlanFrame(C_MAC, aMac, toC);
    assert.is(hex(atD!), hex(expectD));
    assert.is(hex(atC!), hex(expectC));
    assert.equal(drain(w.c).length + drain(w.d).length, 0, 'each packet went to one peer only');
    const wireOut = w.a.capture.records.filter(
      (r) => r.side === CaptureSide.Wire && r.direction === CaptureDirection.Outbound,
    );
    assert.ok(
      wireOut.some(
        (r) => hex(r.bytes) === hex(expectD) && r.peerAddress === parseIpv4('192.0.2.4') && r.peerPort === w.port,
      ),
      'the capture saw the wire side',
    );
    assert.ok(
      w.a.capture.records.some((r) => r.side === CaptureSide.Tun && hex(r.bytes) === hex(toD)),
      'and the TUN side',
    );
  });

  t("a peer's datagram is decapsulated byte-exact onto flannel0", async ({ w }) => {
    const inner = ipv4('10.244.3.9', '10.244.1.5', 30, 'from C');
    sendFrom(w.c, '192.0.2.1', w.port, backend === 'udp' ? inner : vxlanFrame(vtepMacFor('a'), C_MAC, inner));
    const [got] = await fromTun(w.a);
    assert.is(hex(got!), hex(backend === 'udp' ? ipv4('10.244.3.9', '10.244.1.5', 29, 'from C') : inner));
  });

  t("agent to agent: A's pod reaches B's pod through both dataplanes", async ({ w }) => {
    w.a.tun.inject(ipv4('10.244.1.5', '10.244.2.5', 64, 'a to b'));
    const [got] = await fromTun(w.b);
    assert.is(hex(got!), hex(ipv4('10.244.1.5', '10.244.2.5', backend === 'udp' ? 62 : 64, 'a to b')));
  });

  t("anti-spoofing: C may not send from B's subnet", async ({ w }) => {
    const before = dropsOf(w.a).spoofed_source!;
    const spoofed = ipv4('10.244.2.9', '10.244.1.5', 30, 'spoofed');
    sendFrom(w.c, '192.0.2.1', w.port, backend === 'udp' ? spoofed : vxlanFrame(vtepMacFor('a'), C_MAC, spoofed));
    await until(() => dropsOf(w.a).spoofed_source === before + 1, 'the spoofed packet to be dropped');
    assert.equal(w.a.tun.take(), [], 'nothing reached flannel0');
  });

  t('ICMP net unreachable back into flannel0 for a destination no peer owns', async ({ w }) => {
    const lost = ipv4('10.244.1.5', '10.244.99.1', 64, 'nowhere');
    w.a.tun.inject(lost);
    const [icmp] = await fromTun(w.a);
    const p = Buffer.from(icmp!);
    assert.is(p[9], 1, 'protocol ICMP');
    assert.is(p.readUInt32BE(12), parseIpv4('10.244.1.0'), "from flannel0's address");
    assert.is(p.readUInt32BE(16), parseIpv4('10.244.1.5'), 'to the sender');
    assert.equal([p[20], p[21]], [3, 0], 'destination unreachable, net');
    assert.is(internetChecksum(p, 0, 20), 0, 'IPv4 checksum');
    assert.is(internetChecksum(p, 20, p.length - 20), 0, 'ICMP checksum');
    assert.is(hex(p.subarray(28)), hex(lost.subarray(0, 28)), 'quotes the IP header and 8 bytes');
  });

  t("peers come and go while A streams to B: no packet to B is lost, C's subnet follows its lease", async ({ w }) => {
    const N = 300;
    let sent = 0;
    const pump = (async () => {
      for (; sent < N; sent++) {
        w.a.tun.inject(ipv4('10.244.1.5', '10.244.2.5', 64, `seq ${sent}`));
        if (sent % 10 === 9) await new Promise((r) => setImmediate(r));
      }
    })();
    const atB: Uint8Array[] = [];
    const collectB = () => atB.push(...w.b.tun.take());
    const cSubnet = tryParseIpv4Prefix('10.244.3.0/24')!;
    await w.store.deleteLease(cSubnet);
    await until(() => (collectB(), !routesOf(w.a).includes('10.244.3.0/24 via 192.0.2.3')), 'A to forget C');
    const noRoute = dropsOf(w.a).no_route!;
    w.a.tun.inject(ipv4('10.244.1.5', '10.244.3.5', 64, 'C is gone'));
    await until(
      () => (collectB(), dropsOf(w.a).no_route === noRoute + 1),
      'the packet to the removed subnet to be dropped',
    );
    assert.is(w.a.tun.take().length, 1, 'answered with ICMP');
    const c2 = w.net.bind('192.0.2.5', w.port); // C comes back on another underlay address
    await w.store.createLease(cSubnet, attrs(backend, '192.0.2.5', C_MAC, 'c'), 3600_000);
    await until(() => (collectB(), routesOf(w.a).includes('10.244.3.0/24 via 192.0.2.5')), 'A to learn C again');
    w.a.tun.inject(ipv4('10.244.1.5', '10.244.3.5', 64, 'C is back'));
    const [back] = await wire(c2);
    assert.ok(Buffer.from(back!).includes('C is back'));
    assert.equal(drain(w.c), [], 'nothing went to the old address');
    await pump;
    await until(() => (collectB(), atB.length >= N), `${N} packets at B`);
    assert.equal(
      atB.map((p) => Buffer.from(p.subarray(28)).toString()),
      Array.from({ length: N }, (_, i) => `seq ${i}`),
      'all, in order',
    );
  });

  t.run();
}

// Drop reasons: each provoked once (vxlan-only reasons on vxlan, TTL on flannel-udp, which decrements it), and the
// whole table compared, so a packet counted under the wrong name fails too.
const DROP_CASES: Record<'udp' | 'vxlan', { name: string; provoke: (w: World) => void }[]> = {
  udp: [
    {
      name: 'too_short',
      provoke: (w) => sendFrom(w.c, '192.0.2.1', w.port, ipv4('10.244.3.9', '10.244.1.5', 30, '').subarray(0, 10)),
    },
    { name: 'not_ip', provoke: (w) => sendFrom(w.c, '192.0.2.1', w.port, Buffer.alloc(40, 0x55)) },
    {
      name: 'bad_ip_header',
      provoke: (w) =>
        sendFrom(w.c, '192.0.2.1', w.port, Object.assign(ipv4('10.244.3.9', '10.244.1.5', 30, 'x'), { 0: 0x44 })),
    },
    {
      name: 'length_mismatch',
      provoke: (w) =>
        sendFrom(w.c, '192.0.2.1', w.port, ipv4('10.244.3.9', '10.244.1.5', 30, 'x', { totalLength: 200 })),
    },
    {
      name: 'ttl_expired',
      provoke: (w) => sendFrom(w.c, '192.0.2.1', w.port, ipv4('10.244.3.9', '10.244.1.5', 1, 'x')),
    },
  ],
  vxlan: [
    { name: 'too_short', provoke: (w) => sendFrom(w.c, '192.0.2.1', w.port, VXLAN_VNI1) },
    {
      name: 'bad_flags',
      provoke: (w) =>
        sendFrom(
          w.c,
          '192.0.2.1',
          w.port,
          vxlanFrame(vtepMacFor('a'), C_MAC, ipv4('10.244.3.9', '10.244.1.5', 30, 'x'), Buffer.alloc(8)),
        ),
    },
    {
      name: 'wrong_vni',
      provoke: (w) =>
        sendFrom(
          w.c,
          '192.0.2.1',
          w.port,
          vxlanFrame(
            vtepMacFor('a'),
            C_MAC,
            ipv4('10.244.3.9', '10.244.1.5', 30, 'x'),
            Buffer.from('0800000000000200', 'hex'),
          ),
        ),
    },
    {
      name: 'not_ip',
      provoke: (w) =>
        sendFrom(
          w.c,
          '192.0.2.1',
          w.port,
          Buffer.concat([
            VXLAN_VNI1,
            parseMac(vtepMacFor('a')),
            parseMac(C_MAC),
            Buffer.from('88cc', 'hex'),
            Buffer.alloc(46),
          ]),
        ),
    },
    {
      name: 'bad_ip_header',
      provoke: (w) => sendFrom(w.c, '192.0.2.1', w.port, vxlanFrame(vtepMacFor('a'), C_MAC, ipv6Packet())),
    },
    {
      name: 'length_mismatch',
      provoke: (w) =>
        sendFrom(
          w.c,
          '192.0.2.1',
          w.port,
          vxlanFrame(vtepMacFor('a'), C_MAC, ipv4('10.244.3.9', '10.244.1.5', 30, 'x', { totalLength: 200 })),
        ),
    },
  ],
};
const COMMON_CASES: { name: string; provoke: (w: World) => void }[] = [
  {
    name: 'unknown_peer',
    provoke: (w) => sendFrom(w.net.bind('192.0.2.66', w.port), '192.0.2.1', w.port, Buffer.alloc(64)),
  },
  {
    name: 'spoofed_source',
    provoke: (w) =>
      sendFrom(
        w.c,
        '192.0.2.1',
        w.port,
        (w.backend === 'udp' ? (p: Buffer) => p : (p: Buffer) => vxlanFrame(vtepMacFor('a'), C_MAC, p))(
          ipv4('10.244.2.9', '10.244.1.5', 30, 'x'),
        ),
      ),
  },
  { name: 'no_route', provoke: (w) => w.a.tun.inject(ipv4('10.244.1.5', '10.244.200.1', 64, 'x')) },
  { name: 'not_ipv4', provoke: (w) => w.a.tun.inject(ipv6Packet()) },
];

for (const backend of ['udp', 'vxlan'] as const) {
  const t = suite<{ w: World }>(`${backend} drop reasons`);
  t.before(async (ctx) => {
    ctx.w = await setUp(backend);
  });
  t.after(async (ctx) => tearDown(ctx.w));
  for (const c of [...DROP_CASES[backend], ...COMMON_CASES]) {
    t(`${c.name} is counted under its name and nothing else is`, async ({ w }) => {
      const before = { ...dropsOf(w.a) };
      c.provoke(w);
      await until(() => dropsOf(w.a)[c.name] !== before[c.name], `a ${c.name} drop`);
      assert.equal(dropsOf(w.a), { ...before, [c.name]: before[c.name]! + 1 });
      w.a.tun.take(); // an ICMP error for no_route
    });
  }
  t.run();
}
