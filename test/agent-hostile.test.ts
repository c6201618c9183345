// Hostile packets at a running `weft agent`, for both overlay backends (vxlan, udp), on a two-node lab.
//
// An attacker namespace joins the underlay bridge (192.0.2.99) and sends to the victim (n1) from an address
// that is no peer; the known peer's namespace (n2) sends from its own underlay address, from an ephemeral
// port (the agent knows peers by address: kernel vxlan peers hash their source port per flow): wrong VNI,
// bad flags, spoofed inner sources, truncated headers (down to empty datagrams), lying lengths, non-IP
// payloads, then 12,000 random datagrams from both (and, for vxlan, 5,000 more behind valid VXLAN and
// Ethernet headers, to reach the IP checks).
// Asserted: every datagram the agent read is counted under the expected drop reason (per case, exactly),
// /metrics agrees with /status, nothing reaches the victim pod's listener or the TUN device except the three
// deliberately valid control packets, the agent stays up, and pods still ping each other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { canRunWith, type LabNode, type Netns } from '@weft/lab';
import { labUp, httpGetIn, waitFor, METRICS_PORT, type RunningLab } from 'weft/lab';
import { agentMetrics, metricValue, mustStatus, pingCount, type AgentStatusJson } from './support/agent-lab.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, ipv4Tcp, ipv4Udp, ipv6Udp, vxlan } from './support/agent-craft.ts';
import type { SendSpec } from './support/agent-send.ts';

const TSX = import.meta.resolve('tsx');
const SEND = fileURLToPath(new URL('./support/agent-send.ts', import.meta.url));
const LISTEN = fileURLToPath(new URL('./support/agent-listen.ts', import.meta.url));
const ATTACKER_IP = '192.0.2.99';
const POD_PORT = 9999;
const VNI = 1;
const RANDOM_FROM_PEER = 10_000;
const RANDOM_FROM_STRANGER = 2_000;
/** vxlan: random bytes behind a valid VXLAN + Ethernet (IPv4) header, so they reach the IP checks. */
const RANDOM_BEHIND_HEADERS = 5_000;
const CONTROLS = 3;
const started = Date.now();
const say = (m: string) => console.log(`[agent-hostile +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

type Backend = 'vxlan' | 'udp';

interface Case {
  what: string;
  /** The drop reason every datagram of the case must be counted under. */
  reason: string;
  packets: Buffer[];
}

/** Runs agent-send.ts inside `ns`; resolves with the number of datagrams it sent. */
async function send(ns: Netns, spec: SendSpec): Promise<number> {
  const r = await ns.exec([process.execPath, '--import', TSX, SEND], {
    input: JSON.stringify(spec),
    timeoutMs: 60_000,
  });
  return (JSON.parse(r.stdout) as { sent: number }).sent;
}

const times = (n: number, make: (i: number) => Buffer): Buffer[] => Array.from({ length: n }, (_, i) => make(i));

/** The cases for one backend. `wrap` puts an inner IPv4/IPv6 packet into the backend's encapsulation. */
function casesFor(
  backend: Backend,
  victim: AgentStatusJson,
  peer: AgentStatusJson,
  podIp: string,
  peerPodIp: string,
): { cases: Case[]; valid: (src: string) => Buffer } {
  const inner = (src: string, extra: Partial<Parameters<typeof ipv4Udp>[0]> = {}) =>
    ipv4Udp({ src, dst: podIp, dstPort: POD_PORT, payload: Buffer.from('weft hostile test'), ...extra });
  const victimMac = victim.lease!.vtepMac ?? '';
  const peerMac = peer.lease!.vtepMac ?? '';
  const frame = (ip: Buffer, etherType = ETHERTYPE_IPV4) => ethernet(victimMac, peerMac, etherType, ip);
  const wrap =
    backend === 'vxlan'
      ? (ip: Buffer, etherType = ETHERTYPE_IPV4) => vxlan(VNI, frame(ip, etherType))
      : (ip: Buffer) => ip;
  const tcp = (size: number, checksum: 'valid' | 'wrong' | 'partial', dataOffset?: number) =>
    ipv4Tcp({ src: peerPodIp, dst: podIp, dstPort: POD_PORT, payload: Buffer.alloc(size, 0x61), checksum, dataOffset });
  const spoofedSources = ['10.99.0.1', podIp, '192.0.2.12', '10.244.0.7', '10.245.1.1'].filter(
    (s) => !s.startsWith(peer.lease!.subnet.replace(/0\/24$/, '')),
  );
  const common: Case[] = [
    {
      what: "spoofed inner source (outside the peer's subnet)",
      reason: 'spoofed_source',
      packets: times(100, (i) => wrap(inner(spoofedSources[i % spoofedSources.length]!))),
    },
    {
      what: 'IP total length longer than the datagram',
      reason: 'length_mismatch',
      packets: times(50, () => wrap(inner(peerPodIp, { totalLength: 1400 }))),
    },
    {
      what: 'IPv4 header length 3 words',
      reason: 'bad_ip_header',
      packets: times(50, () => wrap(inner(peerPodIp, { ihl: 3 }))),
    },
    // Past the encapsulation checks, caught by the TUN write (native/inner.cc): a 30 KB TCP super-packet (one
    // datagram, as a kernel VTEP sends them) whose complete checksum fails, a TCP header longer than the
    // packet, and a 20 KB UDP super-packet whose datagram boundaries are lost.
    {
      what: 'TCP super-packet, complete checksum that fails',
      reason: 'inner_bad_checksum',
      packets: times(10, () => wrap(tcp(30_000, 'wrong'))),
    },
    {
      what: 'TCP data offset past the end of the packet',
      reason: 'inner_malformed',
      packets: times(20, () => wrap(tcp(0, 'partial', 15))),
    },
    {
      what: 'UDP super-packet (20 KB, not a fragment)',
      reason: 'inner_udp_super_packet',
      packets: times(10, () => wrap(inner(peerPodIp, { payload: Buffer.alloc(20_000, 7) }))),
    },
  ];
  if (backend === 'vxlan') {
    const ip = inner(peerPodIp);
    return {
      valid: (src) => wrap(inner(src)),
      cases: [
        ...common,
        {
          what: 'wrong VNI',
          reason: 'wrong_vni',
          packets: times(100, (i) => vxlan([0, 2, 0xffffff][i % 3]!, frame(ip))),
        },
        {
          what: 'VXLAN I flag clear',
          reason: 'bad_flags',
          packets: times(100, (i) => vxlan(VNI, frame(ip), [0x00, 0xf7][i % 2])),
        },
        {
          what: 'truncated: empty, VXLAN header only, half an Ethernet header',
          reason: 'too_short',
          packets: times(150, (i) => wrap(ip).subarray(0, [0, 8, 15][i % 3])),
        },
        {
          what: 'truncated: 10 bytes of IPv4 header',
          reason: 'too_short',
          packets: times(50, () => wrap(ip).subarray(0, 8 + 14 + 10)),
        },
        {
          what: 'EtherType neither IPv4 nor IPv6',
          reason: 'not_ip',
          packets: times(50, () => vxlan(VNI, frame(ip, 0x88b5))),
        },
        {
          what: 'IPv6 inside',
          reason: 'not_ipv4',
          packets: times(50, () => vxlan(VNI, frame(ipv6Udp(Buffer.from('v6')), ETHERTYPE_IPV6))),
        },
      ],
    };
  }
  return {
    valid: (src) => wrap(inner(src)),
    cases: [
      ...common,
      {
        what: 'truncated: empty, 1 byte, 19 bytes of IPv4 header',
        reason: 'too_short',
        packets: times(150, (i) => inner(peerPodIp).subarray(0, [0, 1, 19][i % 3])),
      },
      {
        what: 'IP version 5',
        reason: 'not_ip',
        packets: times(50, () => {
          const p = inner(peerPodIp);
          p[0] = 0x55;
          return p;
        }),
      },
      {
        what: 'TTL 1 (flannel-udp decrements it)',
        reason: 'ttl_expired',
        packets: times(50, () => inner(peerPodIp, { ttl: 1 })),
      },
      { what: 'IPv6 inside', reason: 'not_ipv4', packets: times(50, () => ipv6Udp(Buffer.from('v6'))) },
    ],
  };
}

async function tunRxPackets(node: LabNode): Promise<number> {
  const r = await node.ns.ip(['-s', '-j', 'link', 'show', 'flannel0']);
  return (JSON.parse(r.stdout) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
}

async function udpRcvbufErrors(ns: Netns): Promise<string> {
  const lines = (await ns.exec(['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  return lines.join(' / ');
}

/** The attacker: a namespace on the underlay bridge (a port of br0) at 192.0.2.99, which is no node. */
async function addAttacker(run: RunningLab, victim: LabNode): Promise<Netns> {
  const atk = await run.lab.scope.netns('atk');
  await run.lab.scope.veth(atk, 'eth0', run.lab.underlay, 'atk');
  await run.lab.underlay.ip(['link', 'set', 'atk', 'master', 'br0']);
  await atk.ip(['addr', 'add', `${ATTACKER_IP}/24`, 'dev', 'eth0']);
  assert.is(await pingCount({ ns: atk }, victim.underlayIp, 1), 1, 'the attacker reaches the victim on the underlay');
  return atk;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) if (after[k]! - (before[k] ?? 0) !== 0) out[k] = after[k]! - (before[k] ?? 0);
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function attack(backend: Backend): Promise<void> {
  const run = await labUp(
    {
      name: `age-hos${backend[0]}`,
      nodes: 2,
      pods: 1,
      backend,
      routeSync: 'lease',
      store: 'embedded',
      persistent: false,
    },
    say,
  );
  try {
    const [victim, peer] = run.lab.nodes as [LabNode, LabNode];
    const pod = victim.pods[0]!;
    const peerPod = peer.pods[0]!;
    const port = backend === 'vxlan' ? 8472 : 8285;
    const vs = await mustStatus(victim);
    const ps = await mustStatus(peer);
    const atk = await addAttacker(run, victim);
    // The victim's kernel would otherwise send the odd IPv6 packet (MLD, router solicitation) into flannel0,
    // which the agent counts as not_ipv4 on the way out: keep the counters to what this test sends.
    await victim.ns.exec([
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv6.conf.flannel0.disable_ipv6=1',
    ]);
    const listener = run.lab.scope.spawn('listener', pod.ns, [
      process.execPath,
      '--import',
      TSX,
      LISTEN,
      String(POD_PORT),
      '240',
    ]);
    await waitFor(() => listener.log().includes('listening'), 20_000, 'the pod listener');
    const { cases, valid } = casesFor(backend, vs, ps, pod.ip, peerPod.ip);
    const to = { address: victim.underlayIp, port };
    const asPeer = { address: peer.underlayIp, port: 0 };
    const before = await mustStatus(victim);
    const tunBefore = await tunRxPackets(victim);
    const received = () =>
      listener
        .log()
        .split('\n')
        .filter((l) => l.startsWith('rx ')).length;

    // Deterministic cases, case by case, from the peer's address; valid-looking packets from the stranger.
    let sent = 0;
    for (const c of cases)
      sent += await send(peer.ns, { bind: asPeer, to, packets: c.packets.map((p) => p.toString('hex')) });
    const strangers = times(200, () => valid(peerPod.ip));
    sent += await send(atk, {
      bind: { address: ATTACKER_IP, port: 40001 },
      to,
      packets: strangers.map((p) => p.toString('hex')),
    });
    sent += await send(peer.ns, {
      bind: asPeer,
      to,
      packets: times(CONTROLS, () => valid(peerPod.ip)).map((p) => p.toString('hex')),
    });
    let mid = before;
    await waitFor(
      async () => {
        mid = await mustStatus(victim);
        return mid.counters.udp_read_packets! - before.counters.udp_read_packets! >= sent;
      },
      30_000,
      `the victim agent to read all ${sent} datagrams`,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}; read ${mid.counters.udp_read_packets! - before.counters.udp_read_packets!}; ${await udpRcvbufErrors(victim.ns)}`,
      );
    });
    await waitFor(() => received() >= CONTROLS, 10_000, 'the control packets at the pod').catch(() => undefined);
    const d1 = delta(mid.drops, before.drops);
    say(`${backend}: ${sent} crafted datagrams read; drops ${JSON.stringify(d1)}`);
    assert.is(
      mid.counters.udp_read_packets! - before.counters.udp_read_packets!,
      sent,
      'the agent read exactly what was sent',
    );
    const expected: Record<string, number> = {};
    for (const c of cases) expected[c.reason] = (expected[c.reason] ?? 0) + c.packets.length;
    for (const [reason, n] of Object.entries(expected))
      assert.is(
        d1[reason] ?? 0,
        n,
        `${backend}: ${reason} drops (${cases
          .filter((c) => c.reason === reason)
          .map((c) => c.what)
          .join('; ')})`,
      );
    assert.is(
      d1.unknown_peer ?? 0,
      strangers.length,
      'unknown_peer: every datagram from the stranger, even well-formed ones',
    );
    assert.is(sum(d1), sent - CONTROLS, 'every datagram but the controls was dropped');
    // Packets dropped by the TUN write passed the encapsulation checks: counted as forwarded there, then dropped.
    const atTunWrite = ['inner_bad_checksum', 'inner_malformed', 'inner_udp_super_packet'].reduce(
      (a, r) => a + (d1[r] ?? 0),
      0,
    );
    assert.is(
      mid.counters.rx_packets! - before.counters.rx_packets!,
      CONTROLS + atTunWrite,
      'only the controls went into the TUN device',
    );
    assert.is(received(), CONTROLS, 'only the controls reached the pod');

    // Random bytes: from the forged peer (through every parser) and from the stranger.
    const fromPeer = await send(peer.ns, {
      bind: asPeer,
      to,
      random: { seed: 0x5eed + port, count: RANDOM_FROM_PEER, maxLength: 1472 },
      burst: 100,
      pauseMs: 5,
    });
    const behind =
      backend === 'vxlan'
        ? await send(peer.ns, {
            bind: asPeer,
            to,
            burst: 100,
            pauseMs: 5,
            random: {
              seed: 11,
              count: RANDOM_BEHIND_HEADERS,
              maxLength: 1472 - 22,
              prefix: vxlan(
                VNI,
                ethernet(vs.lease!.vtepMac!, ps.lease!.vtepMac!, ETHERTYPE_IPV4, Buffer.alloc(0)),
              ).toString('hex'),
            },
          })
        : 0;
    const fromStranger = await send(atk, {
      bind: { address: ATTACKER_IP, port: 40002 },
      to,
      random: { seed: 7, count: RANDOM_FROM_STRANGER, maxLength: 1472 },
      burst: 100,
      pauseMs: 5,
    });
    let end = mid;
    await waitFor(
      async () => {
        end = await mustStatus(victim);
        return end.counters.udp_read_packets! - mid.counters.udp_read_packets! >= fromPeer + behind + fromStranger;
      },
      60_000,
      `the victim agent to read ${fromPeer + behind + fromStranger} random datagrams`,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}; read ${end.counters.udp_read_packets! - mid.counters.udp_read_packets!}; ${await udpRcvbufErrors(victim.ns)}`,
      );
    });
    const d2 = delta(end.drops, mid.drops);
    say(`${backend}: ${fromPeer} + ${behind} + ${fromStranger} random datagrams read; drops ${JSON.stringify(d2)}`);
    assert.is(fromPeer + fromStranger, RANDOM_FROM_PEER + RANDOM_FROM_STRANGER);
    assert.is(sum(d2), fromPeer + behind + fromStranger, 'every random datagram was dropped and counted');
    const ipLevel = ['too_short', 'bad_ip_header', 'length_mismatch', 'spoofed_source', 'not_ipv4'].reduce(
      (a, r) => a + (d2[r] ?? 0),
      0,
    );
    assert.ok(ipLevel >= behind, `random bytes behind valid headers fail the IP checks (${ipLevel} >= ${behind})`);
    assert.ok((d2.unknown_peer ?? 0) >= fromStranger, "the stranger's random datagrams count as unknown_peer");
    assert.ok(
      Object.keys(d2).length >= 3,
      `random bytes from the peer exercise several checks: ${Object.keys(d2).join(', ')}`,
    );
    assert.is(end.counters.rx_packets! - mid.counters.rx_packets!, 0, 'no random datagram went into the TUN device');
    assert.is((await tunRxPackets(victim)) - tunBefore, CONTROLS, 'kernel: flannel0 received only the controls');
    assert.is(received(), CONTROLS, 'nothing more reached the pod');

    // /metrics agrees with /status; the agent is alive and still forwards.
    const metrics = (await agentMetrics(victim)) ?? '';
    const now = await mustStatus(victim);
    for (const [reason, n] of Object.entries(now.drops)) {
      if (n > 0)
        assert.is(metricValue(metrics, 'weft_dropped_packets_total', `{reason="${reason}"}`), n, `/metrics ${reason}`);
    }
    assert.ok(run.agents.get(victim.name)!.running, 'the victim agent is still running');
    assert.is(await httpGetIn(victim.ns, `http://127.0.0.1:${METRICS_PORT}/healthz`), 'ok\n', '/healthz answers');
    assert.ok((await pingCount(peerPod, pod.ip, 3)) >= 2, `${peerPod.name} -> ${pod.name} still pings`);
    assert.ok((await pingCount(pod, peerPod.ip, 3)) >= 2, `${pod.name} -> ${peerPod.name} still pings`);
  } finally {
    await run.lab.teardown();
  }
}

if (canRunWith('weft agent under hostile traffic', ['ip', 'ping'])) {
  test('vxlan: crafted and random datagrams are dropped by reason, never delivered; the agent keeps forwarding', () =>
    attack('vxlan'));
  test('udp: crafted and random datagrams are dropped by reason, never delivered; the agent keeps forwarding', () =>
    attack('udp'));
}

test.run();
