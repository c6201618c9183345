// IPv6 only (EnableIPv4 false) through weft's userspace vxlan on real namespaces: two weft nodes on an IPv6-only
// underlay, pods with an IPv6 address only (CNI chain). Pings both ways between pods on different nodes, 50 MB over
// TCP/IPv6 with SHA-256 compared end to end; flannel0 has no IPv4 address or route and /status says how IPv6 goes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabPod } from '@weft/lab';
import { labUp, httpGetIn, METRICS_PORT } from 'weft/lab';
import { tcpTransfer } from './support/transfer.ts';
import { twoNodeLab } from './support/two-node-lab.ts';

const MB = 1024 * 1024;

async function ping(from: LabPod, to: string): Promise<boolean> {
  const r = await from.ns.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', to], { allowFailure: true });
  return / 2 received/.test(r.stdout);
}

interface Status {
  mtu: number;
  counters: Record<string, number>;
  drops: Record<string, number>;
  routes: { subnet: string; via: string }[];
  ipv6?: { forwarded: boolean; reason: string; subnet: string };
}

async function ipv6Only(backend: 'vxlan' | 'udp'): Promise<void> {
  const run = await labUp(
    twoNodeLab({ name: `v6o-${backend.slice(0, 3)}`, backend, routeSync: 'lease', families: 'ipv6-only' }),
  );
  try {
    const [a, b] = run.lab.nodes.map((n) => n.pods[0]!) as [LabPod, LabPod];
    assert.ok(a.ip6 && b.ip6, 'pods have IPv6 addresses');
    const podV4 = await a.ns.exec(['ip', '-4', '-o', 'addr', 'show', 'scope', 'global']);
    assert.is(podV4.stdout.trim(), '', 'and no IPv4 address');
    assert.ok(await ping(a, b.ip6!), `${a.name} -> ${b.ip6} ping`);
    assert.ok(await ping(b, a.ip6!), `${b.name} -> ${a.ip6} ping`);
    const t = await tcpTransfer(a.ns, b.ns, b.ip6!, 50 * MB, 28510);
    assert.is(t.received.bytes, 50 * MB, 'every byte arrived');
    assert.is(t.received.sha256, t.sent.sha256, 'and unchanged');
    const node = run.lab.nodes[0]!;
    const st = JSON.parse((await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!) as Status;
    assert.ok(st.ipv6?.forwarded, `/status says IPv6 is forwarded: ${st.ipv6?.reason}`);
    assert.match(st.ipv6!.reason, /IPv6 underlay/);
    assert.ok(st.routes.length > 0, 'a route to the peer');
    assert.ok(
      st.routes.every((r) => r.subnet.includes(':') && r.via.includes(':')),
      `only IPv6 routes via the IPv6 underlay: ${JSON.stringify(st.routes)}`,
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
    const v4 = await node.ns.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'flannel0']);
    assert.is(v4.stdout.trim(), '', 'flannel0 has no IPv4 address');
    const r4 = await node.ns.exec(['ip', '-4', 'route', 'show', 'dev', 'flannel0']);
    assert.is(r4.stdout.trim(), '', 'and no IPv4 route');
    const r6 = await node.ns.exec(['ip', '-6', 'route', 'show', 'dev', 'flannel0']);
    assert.match(r6.stdout, new RegExp(`fd00:10:244::/56 .*mtu ${st.mtu}`), 'the IPv6 cluster route at the MTU');
    for (const [name, agent] of run.agents)
      assert.not.match(agent.log(), /not forwarded yet/, `${name} does not say IPv6 is not forwarded`);
    const ss = await node.ns.exec(['ss', '-uan']);
    const port = backend === 'udp' ? 8285 : 8472;
    assert.match(ss.stdout, new RegExp(`\\[${node.underlayIp6}\\]:${port}`), 'bound to the IPv6 underlay address');
  } finally {
    await run.lab.teardown();
  }
}

if (canRunWith('IPv6-only overlay lab', ['ip', 'ping', 'ss'])) {
  test('vxlan IPv6 only: pings both ways and 50 MB over TCP/IPv6 between IPv6-only pods, checksummed', () =>
    ipv6Only('vxlan'));
  test('udp IPv6 only: pings both ways and 50 MB over TCP/IPv6 between IPv6-only pods, checksummed', () =>
    ipv6Only('udp'));
}

test.run();
