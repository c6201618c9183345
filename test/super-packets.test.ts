// The super-packet send path (issue 12, send side) on real namespaces and the real kernel: weft <-> weft for both
// formats with the path on and forced off (--no-super-packets), 200 MB each way checksummed end to end; what the
// underlay carries, decoded by tshark; and a kernel flannel node (default offloads) taking what weft sends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { canRunWith, type LabNode, type LabPod } from '@weft/lab';
import { labUp, type RunningLab } from 'weft/lab';
import { tcpTransfer } from './support/transfer.ts';
import { mustStatus } from './support/agent-lab.ts';
import { startKernelPair, wireFrames, type WireFrame } from './support/super-packets.ts';

const MB = 1024 * 1024;
const BIG = 200 * MB;

interface SendPathStatus {
  sendPath?: { superPackets: boolean; reason: string };
  counters: Record<string, number>;
  drops: Record<string, number>;
}

async function sendPathOf(node: LabNode): Promise<SendPathStatus> {
  return (await mustStatus(node)) as unknown as SendPathStatus;
}

async function bothWays(a: LabPod, b: LabPod, bytes: number): Promise<void> {
  const there = await tcpTransfer(a.ns, b.ns, b.ip, bytes, 15101);
  assert.is(there.received.bytes, bytes, `${a.name} -> ${b.name}: every byte arrived`);
  assert.is(there.received.sha256, there.sent.sha256, `${a.name} -> ${b.name}: unchanged`);
  const back = await tcpTransfer(b.ns, a.ns, a.ip, bytes, 15102);
  assert.is(back.received.bytes, bytes, `${b.name} -> ${a.name}: every byte arrived`);
  assert.is(back.received.sha256, back.sent.sha256, `${b.name} -> ${a.name}: unchanged`);
}

async function weftPair(backend: 'udp' | 'vxlan', on: boolean, label: string): Promise<RunningLab> {
  return labUp({
    name: `h5-${label}`,
    nodes: 2,
    pods: 1,
    backend,
    routeSync: 'lease',
    store: 'embedded',
    agentArgs: on ? [] : ['--no-super-packets'],
  });
}

/** weft <-> weft: the path as asked, 200 MB each way, and the sender's counters show which path carried it. */
async function exercise(backend: 'udp' | 'vxlan', on: boolean): Promise<void> {
  const run = await weftPair(backend, on, `${backend.slice(0, 2)}-${on ? 'on' : 'off'}`);
  try {
    const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
    const s = await sendPathOf(n1);
    assert.is(s.sendPath?.superPackets, on, `/status sendPath: ${JSON.stringify(s.sendPath)}`);
    if (!on) assert.match(s.sendPath!.reason, /forced off/);
    await bothWays(n1.pods[0]!, n2.pods[0]!, BIG);
    const { counters: c, drops } = await sendPathOf(n1);
    const perWrite = c.tx_bytes! / c.tx_packets!;
    // On: whole super-packets (tens of KB) go to the kernel; off: MTU-sized segments leave userspace.
    if (on) {
      assert.ok(perWrite > 8000, `${backend} on: ${perWrite.toFixed(0)} bytes per packet written`);
      assert.ok(c.tx_super_packets_whole! > 1000, `${c.tx_super_packets_whole} super-packets went to the kernel whole`);
      assert.equal([drops.outer_too_big, drops.send_malformed, c.tx_tap_errors], [0, 0, 0], 'none dropped or refused');
    } else assert.ok(perWrite <= 1500, `${backend} off: ${perWrite.toFixed(0)} bytes per packet written`);
  } finally {
    await run.lab.teardown();
  }
}

/** Frames from n1 with TCP payload: the data direction of the transfers. */
function dataFrames(frames: WireFrame[]): WireFrame[] {
  return frames.filter((f) => f.src === '192.0.2.11' && f.tcpLen > 0);
}

if (canRunWith('super-packet send path', ['ip', 'ethtool', 'tcpdump', 'tshark'])) {
  for (const backend of ['vxlan', 'udp'] as const) {
    for (const on of [true, false]) {
      test(`${backend}, super-packets ${on ? 'on' : 'forced off'}: 200 MB each way, sha256 equal`, () =>
        exercise(backend, on));
    }
  }

  for (const on of [true, false])
    test(`vxlan ${on ? 'on' : 'forced off'}, underlay NIC without offloads: standard VXLAN segments on the wire, per-flow source ports`, async () => {
      const run = await weftPair('vxlan', on, on ? 'wire-on' : 'wire-off');
      try {
        const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
        // A NIC that segments and checksums nothing: the kernel does both in software before the frame leaves, so
        // the capture shows exactly what such a wire carries (a veth would otherwise pass super-packets whole).
        await n1.ns.exec([
          'ethtool',
          '-K',
          'eth0',
          'tx',
          'off',
          'tx-udp_tnl-segmentation',
          'off',
          'tx-udp_tnl-csum-segmentation',
          'off',
        ]);
        const pcap = join(run.lab.scope.dir, 'wire.pcap');
        const frames = await wireFrames(run.lab.scope, run.lab.underlay, 'n1', pcap, 8472, async () => {
          for (let k = 0; k < 6; k++) {
            const t = await tcpTransfer(n1.pods[0]!.ns, n2.pods[0]!.ns, n2.pods[0]!.ip, 2 * MB, 15110 + k);
            assert.is(t.received.sha256, t.sent.sha256, `flow ${k} unchanged`);
          }
        });
        const data = dataFrames(frames);
        assert.ok(data.length > 100, `captured ${data.length} data frames`);
        for (const f of data) {
          assert.ok(f.frameLen <= 1514, `frame of ${f.frameLen} bytes: no larger than the underlay MTU`);
          assert.is(f.vni, 1, 'tshark decodes VXLAN with VNI 1');
          assert.is.not(f.srcPort, 8472, 'from a per-flow port, not the bound one');
          assert.ok(f.udpChecksumOk && f.tcpChecksumOk, 'outer UDP and inner TCP checksums verify');
        }
        assert.ok(
          data.filter((f) => f.tcpLen === 1398).length > data.length / 2,
          'full segments carry one MSS (1450 - 52)',
        );
        const ports = new Set(data.map((f) => f.srcPort));
        assert.ok(ports.size >= 2, `six flows left from ${ports.size} source port(s): ${[...ports].join(', ')}`);
        // Every frame of one inner flow (all of n1's, ACKs and data) leaves from one outer port, whichever path.
        const byFlow = new Map<number, Set<number>>();
        for (const f of frames.filter((x) => x.src === '192.0.2.11' && x.innerSrcPort))
          byFlow.set(f.innerSrcPort, (byFlow.get(f.innerSrcPort) ?? new Set()).add(f.srcPort));
        for (const [flow, outer] of byFlow)
          assert.is(outer.size, 1, `inner flow :${flow} left from ${[...outer].join(', ')}`);
      } finally {
        await run.lab.teardown();
      }
    });

  test('weft vxlan (super-packets on) -> kernel flannel node with default offloads: 200 MB accepted, checksummed', async () => {
    const pair = await startKernelPair('h5-kv');
    try {
      const s = (await pair.status()) as SendPathStatus;
      assert.is(s.sendPath?.superPackets, true, `/status sendPath: ${JSON.stringify(s.sendPath)}`);
      const t = await tcpTransfer(pair.weftPod.ns, pair.kernelPod.ns, pair.kernelPod.ip, BIG, 15121);
      assert.is(t.received.bytes, BIG, 'the kernel node received every byte');
      assert.is(t.received.sha256, t.sent.sha256, 'unchanged');
      const rx = await pair.kernelNode.ns.ip(['-s', '-j', 'link', 'show', 'flannel.1']);
      const stats = (JSON.parse(rx.stdout) as { stats64: { rx: { bytes: number; errors: number } } }[])[0]!.stats64.rx;
      assert.ok(stats.bytes >= BIG, `flannel.1 took ${stats.bytes} bytes`);
      assert.is(stats.errors, 0, 'and counted no errors');
    } finally {
      await pair.teardown();
    }
  });
}

test.run();
