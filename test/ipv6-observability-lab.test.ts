// What an operator sees of IPv6 on real namespaces: two dual-stack weft nodes (vxlan, then udp) with --pcap. Five
// IPv6 pings between pods raise the IPv6 counters in both agents' /status by exactly five each way (and the totals
// with them); node 1's capture, read by tshark, holds them as VXLAN / flannel-udp over the IPv6 underlay between
// the nodes' IPv6 addresses, UDP checksums good, with the pods' ICMPv6 echoes inside, and the IPv4 ping beside them
// over the IPv4 underlay. Then an IPv6-only vxlan lab: /status and `weft status` show the IPv6 lease, no IPv4 one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TSHARK_CHECK_CHECKSUMS, canRunWith, tsharkFields, type LabPod, type Netns } from '@weft/lab';
import { labUp, httpGetIn, weftArgv, METRICS_PORT } from 'weft/lab';
import { twoNodeLab } from './support/two-node-lab.ts';

interface Status {
  counters: Record<string, number>;
  lease: { subnet?: string; ipv6Subnet?: string; publicIpv6?: string } | null;
  dropsByFamily?: { ipv4: Record<string, number>; ipv6: Record<string, number> };
}

async function statusOf(ns: Netns): Promise<Status> {
  return JSON.parse((await httpGetIn(ns, `http://127.0.0.1:${METRICS_PORT}/status`))!) as Status;
}

async function ping(from: LabPod, to: string, count: number): Promise<void> {
  const r = await from.ns.exec(['ping', '-c', String(count), '-i', '0.2', '-W', '2', to], { allowFailure: true });
  assert.match(r.stdout, new RegExp(` ${count} received`), `${from.name} -> ${to}: ${r.stdout}`);
}

const rise = (after: Status, before: Status, key: string) => (after.counters[key] ?? 0) - (before.counters[key] ?? 0);

type Node = { name: string; underlayIp: string; underlayIp6?: string; pods: LabPod[] };

/** Node 1's capture, read by tshark: five IPv6 echoes each way over the IPv6 underlay, two IPv4 ones over IPv4. */
async function checkCapture(file: string, port: number, backend: string, [n1, n2]: [Node, Node]): Promise<void> {
  const [a, b] = [n1.pods[0]!, n2.pods[0]!];
  const rows = await tsharkFields(
    file,
    ['ip.version', 'ipv6.src', 'ipv6.dst', 'ip.src', 'udp.checksum.status', 'icmpv6.type', 'icmp.type'],
    {
      decodeAs: [`udp.port==${port},${backend === 'vxlan' ? 'vxlan' : 'ip'}`],
      prefs: TSHARK_CHECK_CHECKSUMS,
      filter: `frame.interface_id == 1 && udp.port == ${port}`,
      occurrence: 'a',
    },
  );
  const over6 = rows.filter((r) => r[0] === '6,6').map((r) => r.slice(1, 6).join(' '));
  const out = `${n1.underlayIp6},${a.ip6} ${n2.underlayIp6},${b.ip6}  1 128`;
  const back = `${n2.underlayIp6},${b.ip6} ${n1.underlayIp6},${a.ip6}  1 129`;
  // Compared as five each way, not in order: a fresh CI clone once saw all five replies after the fifth request
  // (all answered; likely held while the new pods' IPv6 addresses and neighbour entries settled, not confirmed).
  assert.equal(
    [...over6].sort(),
    [out, back, out, back, out, back, out, back, out, back].sort(),
    'IPv6 echoes over the IPv6 underlay',
  );
  const over4 = rows.filter((r) => r[0] === '4,4').map((r) => `${r[3]} ${r[6]}`);
  assert.equal(over4, [
    `${n1.underlayIp},${a.ip} 8`,
    `${n2.underlayIp},${b.ip} 0`,
    `${n1.underlayIp},${a.ip} 8`,
    `${n2.underlayIp},${b.ip} 0`,
  ]);
  assert.is(rows.length, 14, 'nothing else on the wire side');
}

/** `weft status` on a dual-stack node: both subnets and public addresses, the IPv6 counters by family. */
async function checkWeftStatus(node: Node & { ns: Netns }, st: Status): Promise<void> {
  const text = (await node.ns.exec(weftArgv('status', '--metrics-port', String(METRICS_PORT)))).stdout;
  const lease = text.split('\n').find((l) => l.startsWith('lease ')) ?? '';
  assert.ok(
    lease.startsWith(
      `lease ${st.lease!.subnet} + ${st.lease!.ipv6Subnet} (public ${node.underlayIp} [${node.underlayIp6}]`,
    ),
    lease,
  );
  assert.match(text, /^ipv6: forwarded: /m);
  assert.match(text, new RegExp(`ipv6 tx ${st.counters.tx_packets_ipv6} \\(\\d+ B\\) rx \\d+ \\(\\d+ B\\)`));
}

async function dualStack(backend: 'vxlan' | 'udp'): Promise<void> {
  const pcapDir = mkdtempSync(join(tmpdir(), 'ob6-pcap-'));
  const port = backend === 'udp' ? 8285 : 8472;
  const run = await labUp(
    twoNodeLab({ name: `ob6-${backend.slice(0, 2)}`, backend, routeSync: 'lease', families: 'dual-stack', pcapDir }),
  );
  try {
    const [n1, n2] = run.lab.nodes as [(typeof run.lab.nodes)[0], (typeof run.lab.nodes)[0]];
    const [a, b] = [n1.pods[0]!, n2.pods[0]!];
    const [a0, b0] = [await statusOf(n1.ns), await statusOf(n2.ns)];
    await ping(a, b.ip6!, 5);
    const [a1, b1] = [await statusOf(n1.ns), await statusOf(n2.ns)];
    const echo = 40 + 8 + 56; // IPv6 header, ICMPv6 echo header, ping's default payload
    assert.equal(
      [rise(a1, a0, 'tx_packets_ipv6'), rise(a1, a0, 'tx_bytes_ipv6'), rise(a1, a0, 'rx_packets_ipv6')],
      [5, 5 * echo, 5],
      'node 1: five IPv6 echo requests out, five replies in',
    );
    assert.equal(
      [rise(b1, b0, 'rx_packets_ipv6'), rise(b1, b0, 'rx_bytes_ipv6'), rise(b1, b0, 'tx_packets_ipv6')],
      [5, 5 * echo, 5],
      'node 2: five in, five out',
    );
    assert.is(rise(b1, b0, 'rx_packets'), 5, 'node 2 rx_packets counts the IPv6-underlay datagrams');
    assert.is(rise(a1, a0, 'rx_packets'), 5, 'node 1 rx_packets counts the replies');
    assert.is(rise(b1, b0, 'rx_packets_ipv4'), 0);
    await ping(a, b.ip, 2);
    await checkWeftStatus(n2, b1);
    await run.agents.get(n1.name)!.stop(); // the capture is complete once its agent has stopped
    await checkCapture(join(pcapDir, `${n1.name}.pcapng`), port, backend, [n1, n2]);
  } finally {
    await run.lab.teardown();
    rmSync(pcapDir, { recursive: true, force: true });
  }
}

async function ipv6Only(): Promise<void> {
  const run = await labUp(
    twoNodeLab({ name: 'ob6-only', backend: 'vxlan', routeSync: 'lease', families: 'ipv6-only' }),
  );
  try {
    const n1 = run.lab.nodes[0]!;
    await ping(n1.pods[0]!, run.lab.nodes[1]!.pods[0]!.ip6!, 2);
    const st = await statusOf(n1.ns);
    assert.is(st.lease?.subnet, undefined, 'no IPv4 subnet');
    assert.match(st.lease?.ipv6Subnet ?? '', /^fd00:10:244:[0-9a-f]*::\/64$/);
    assert.is(st.lease?.publicIpv6, n1.underlayIp6);
    assert.is(st.counters.rx_packets_ipv6, 2);
    const text = await n1.ns.exec(weftArgv('status', '--metrics-port', String(METRICS_PORT)));
    const line = text.stdout.split('\n').find((l) => l.startsWith('lease '));
    assert.is(
      line?.replace(/, expires .*/, ''),
      `lease ${st.lease!.ipv6Subnet} (IPv6 only, public [${n1.underlayIp6}], IPv6 VTEP MAC ${(st.lease as { vtepMacV6?: string }).vtepMacV6})`,
    );
    assert.not.match(text.stdout, /0\.0\.0\.0\/0/);
    assert.match(text.stdout, /by family: ipv4 tx 0 \(0 B\) rx 0 \(0 B\); ipv6 tx 2 \(\d+ B\) rx 2 \(\d+ B\)/);
  } finally {
    await run.lab.teardown();
  }
}

if (canRunWith('IPv6 observability lab', ['ip', 'ping', 'tshark'])) {
  test('vxlan dual stack: IPv6 counters exact, the capture decodes as VXLAN over IPv6', () => dualStack('vxlan'));
  test('udp dual stack: IPv6 counters exact, the capture decodes as flannel-udp over IPv6', () => dualStack('udp'));
  test('vxlan IPv6 only: /status and weft status show the IPv6 lease, no 0.0.0.0/0', () => ipv6Only());
}

test.run();
