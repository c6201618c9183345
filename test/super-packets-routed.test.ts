// Super-packets across a router, both families, with pods whose MTU is below the overlay's (1450):
//
//   n1 (192.0.2.11, 2001:db8:a::11) -- router -- n2 (198.51.100.11, 2001:db8:b::11), vxlan, dual stack
//
// VXLAN carries no segment size, so the receiving agent re-cuts a super-packet at its overlay MTU. Segments cut
// from a 1400-byte pod's super-packet and re-cut at 1450 would not fit the destination pod's veth: n2 dropped
// them (Ip6InTooBigErrors / ICMP too-big to a sender already at 1400) and pod TCP stalled. The sender now cuts
// such super-packets itself (tx_super_packets_split*); here 4 MB must cross in each family. At 1440 the IPv6 pods
// sit between flannel0's IPv6 route MTU (1430) and its device MTU: their segments are 1430, which the sender
// rightly sends whole, and the receiver must cut IPv6 at 1430 too (it cut at 1450 and the pod's veth refused).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { readSubnetEnv } from '@weft/agent';
import { httpGetIn, waitFor } from 'weft/lab';
import { METRICS_PORT, startAgentNode, writeNetConf, type AgentNode } from './support/flannel-nodes.ts';
import { tcpTransfer } from './support/transfer.ts';

const BYTES = 4 * 1024 * 1024;
/** flannel0's IPv6 route MTU over an IPv6 underlay: 1500 - 70. */
const IPV6_ROUTE_MTU = 1430;

interface Pod {
  ns: Netns;
  ip: string;
  ip6: string;
}

async function counters(node: AgentNode): Promise<Record<string, number>> {
  const s = JSON.parse((await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`)) ?? '{}');
  return (s as { counters?: Record<string, number> }).counters ?? {};
}

async function routeCount(node: AgentNode): Promise<number> {
  const s = JSON.parse((await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`)) ?? '{}');
  return (s as { routes?: unknown[] }).routes?.length ?? 0;
}

/** A node on its own link to the router: both families, default routes via the router. */
async function node(scope: LabScope, router: Netns, name: string, addrs: [string, string, string, string]) {
  const ns = await scope.netns(name);
  await scope.veth(router, name, ns, 'eth0');
  const [gw, ip, gw6, ip6] = addrs;
  await router.ipBatch([`addr add ${gw}/24 dev ${name}`, `addr add ${gw6}/64 dev ${name} nodad`]);
  await ns.ipBatch([
    `addr add ${ip}/24 dev eth0`,
    `addr add ${ip6}/64 dev eth0 nodad`,
    `route add default via ${gw}`,
    `route add default via ${gw6}`,
  ]);
  await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  return ns;
}

/** One dual-stack pod behind cni0 (MTU `mtu`) on `n`. */
async function addPod(scope: LabScope, n: AgentNode, mtu: number): Promise<Pod> {
  const [base, len] = n.subnet.split('/') as [string, string];
  const v6 = readSubnetEnv(join(n.dir, 'subnet.env'))?.FLANNEL_IPV6_SUBNET ?? '';
  const base6 = v6.replace(/::1\/.*$/, '::');
  await n.ns.ipBatch([
    `link add cni0 mtu ${mtu} type bridge`,
    `addr add ${base.replace(/\.0$/, '.1')}/${len} dev cni0`,
    `addr add ${base6}1/64 dev cni0 nodad`,
    'link set cni0 up',
  ]);
  const ns = await scope.netns(`${n.name}p`);
  await scope.veth(ns, 'eth0', n.ns, 'veth1', mtu);
  await n.ns.ip(['link', 'set', 'veth1', 'master', 'cni0']);
  const ip = base.replace(/\.0$/, '.2');
  await ns.ipBatch([
    `addr add ${ip}/${len} dev eth0`,
    `addr add ${base6}2/64 dev eth0 nodad`,
    `route add default via ${base.replace(/\.0$/, '.1')}`,
    `route add default via ${base6}1`,
  ]);
  return { ns, ip, ip6: `${base6}2` };
}

/** BYTES from `from` to `to` at `ip` over TCP: true when every byte arrived unchanged (a stall times out). */
async function transfer(from: Pod, to: Pod, ip: string, port: number): Promise<boolean> {
  const t = await tcpTransfer(from.ns, to.ns, ip, BYTES, port);
  return t.received.bytes === BYTES && t.received.sha256 === t.sent.sha256;
}

for (const [podMtu, scopeName, port] of [
  [1400, 'rt-routed', 47901],
  [1440, 'rt-routed2', 47903],
] as const) {
  if (!canRunWith('super-packets across a router', ['ip'])) break;
  test(`super-packets across a router: pods at MTU ${podMtu}, under the overlay's, both families`, async () => {
    const scope = new LabScope(scopeName);
    try {
      const router = await scope.netns('r');
      await router.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      const n1ns = await node(scope, router, 'n1', ['192.0.2.1', '192.0.2.11', '2001:db8:a::1', '2001:db8:a::11']);
      const n2ns = await node(scope, router, 'n2', [
        '198.51.100.1',
        '198.51.100.11',
        '2001:db8:b::1',
        '2001:db8:b::11',
      ]);
      const conf = writeNetConf(scope, {
        Network: '10.244.0.0/16',
        EnableIPv6: true,
        IPv6Network: 'fd00:10:244::/56',
        Backend: { Type: 'vxlan' },
      });
      const n1 = await startAgentNode(scope, 'n1', n1ns, conf, '192.0.2.11', ['--public-ipv6', '2001:db8:a::11']);
      const n2 = await startAgentNode(scope, 'n2', n2ns, conf, '198.51.100.11', ['--public-ipv6', '2001:db8:b::11']);
      for (const n of [n1, n2]) await waitFor(async () => (await routeCount(n)) === 2, 30_000, `${n.name} routes`);
      const [p1, p2] = [await addPod(scope, n1, podMtu), await addPod(scope, n2, podMtu)];
      assert.ok(await transfer(p1, p2, p2.ip, port), 'IPv4: n1 pod -> n2 pod, every byte unchanged');
      assert.ok(await transfer(p1, p2, p2.ip6, port + 1), 'IPv6: n1 pod -> n2 pod, every byte unchanged');
      const c = await counters(n1);
      assert.ok(
        (c.tx_super_packets_split ?? 0) > 0,
        `IPv4 super-packets cut by the sender: ${c.tx_super_packets_split}`,
      );
      const split6 = c.tx_super_packets_split_ipv6 ?? 0;
      if (podMtu < IPV6_ROUTE_MTU) assert.ok(split6 > 0, `IPv6 super-packets cut by the sender: ${split6}`);
      else assert.is(split6, 0, 'IPv6 segments at the IPv6 route MTU go whole; the receiver cuts them');
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
