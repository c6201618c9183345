// IPv6 pod traffic through weft's userspace overlays on real namespaces: two dual-stack weft nodes (vxlan, then
// udp) on a dual-stack underlay, pods with an address in each family from the CNI chain. IPv6 pings both ways
// between pods on different nodes, and 50 MB over TCP/IPv6 with SHA-256 compared end to end; IPv4 still works.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabPod } from '@weft/lab';
import { labUp, httpGetIn, METRICS_PORT } from 'weft/lab';
import { tcpTransfer } from './support/transfer.ts';
import { twoNodeLab } from './support/two-node-lab.ts';

const MB = 1024 * 1024;

async function ping(from: LabPod, to: string, size = 56): Promise<boolean> {
  const r = await from.ns.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', String(size), to], {
    allowFailure: true,
  });
  return / 2 received/.test(r.stdout);
}

interface Status {
  counters: Record<string, number>;
  drops: Record<string, number>;
  routes: { subnet: string; via: string }[];
  ipv6?: { forwarded: boolean; reason: string; subnet: string };
}

async function dualStack(backend: 'vxlan' | 'udp'): Promise<void> {
  const run = await labUp(
    twoNodeLab({ name: `v6d-${backend.slice(0, 3)}`, backend, routeSync: 'lease', families: 'dual-stack' }),
  );
  try {
    const [a, b] = run.lab.nodes.map((n) => n.pods[0]!) as [LabPod, LabPod];
    assert.ok(a.ip6 && b.ip6, 'pods have IPv6 addresses');
    assert.ok(await ping(a, b.ip6!), `${a.name} -> ${b.ip6} ping`);
    assert.ok(await ping(b, a.ip6!), `${b.name} -> ${a.ip6} ping`);
    assert.ok(await ping(a, b.ip), 'IPv4 still forwarded');
    const t = await tcpTransfer(a.ns, b.ns, b.ip6!, 50 * MB, 15061);
    assert.is(t.received.bytes, 50 * MB, 'every byte arrived over IPv6');
    assert.is(t.received.sha256, t.sent.sha256, 'and unchanged');
    const st = JSON.parse(
      (await httpGetIn(run.lab.nodes[0]!.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!,
    ) as Status;
    assert.ok(st.ipv6?.forwarded, `/status says IPv6 is forwarded: ${st.ipv6?.reason}`);
    assert.match(st.ipv6!.reason, /IPv6 underlay/);
    assert.ok(
      st.routes.some((r) => r.subnet.includes(':') && r.via.includes(':')),
      'an IPv6 route via the IPv6 underlay',
    );
    assert.ok(st.counters.tx_bytes! >= 50 * MB, `the userspace dataplane carried it (${st.counters.tx_bytes} bytes)`);
    // IPv6 TCP left this node as super-packets through the IPv6 TAP, the kernel cutting them on the underlay.
    assert.match(st.ipv6!.reason, /super-packets sent whole through weft-gso6/);
    assert.ok(
      st.counters.tx_super_packets_whole_ipv6! > 0,
      `IPv6 super-packets handed to the kernel whole: ${st.counters.tx_super_packets_whole_ipv6}`,
    );
    assert.is(st.counters.tx_tap_errors_ipv6, 0, 'no write refused');
    for (const reason of ['unknown_peer', 'spoofed_source', 'wrong_vni', 'bad_ipv6_chain'])
      assert.is(st.drops[reason], 0, `no ${reason} drops in clean traffic`);
    for (const [name, agent] of run.agents) {
      assert.match(agent.log(), /IPv6 pod traffic forwarded/, `${name} logs how IPv6 is forwarded`);
      assert.not.match(agent.log(), /not forwarded yet/, `${name} no longer says IPv6 is not forwarded`);
    }
    // The underlay really is IPv6: the agent's IPv6 socket is bound to the node's IPv6 address.
    const ss = await run.lab.nodes[0]!.ns.exec(['ss', '-uanp']);
    assert.match(ss.stdout, new RegExp(`\\[${run.lab.nodes[0]!.underlayIp6}\\]:${backend === 'udp' ? 8285 : 8472}`));
  } finally {
    await run.lab.teardown();
  }
}

if (canRunWith('IPv6 overlay lab', ['ip', 'ping', 'ss'])) {
  test('vxlan dual stack: IPv6 pings both ways and 50 MB over TCP/IPv6 between pods, checksummed', () =>
    dualStack('vxlan'));
  test('udp dual stack: IPv6 pings both ways and 50 MB over TCP/IPv6 between pods, checksummed', () =>
    dualStack('udp'));
}

test.run();
