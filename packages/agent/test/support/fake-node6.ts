// In-process IPv6 nodes for the root-free IPv6 overlay tests (dual stack and IPv6 only): the real startAgent on
// fake ports, like fake-node.ts, but with the interface facts of one underlay interface `eth0` holding an IPv6
// address (and an IPv4 one for dual stack), the net-conf's IPv6 network and a node name as its only identity.
// Also what the tests' nodes share (fake underlay, store, scratch directory) and the dual-stack world of agents A
// and B beside bare nodes: leases with no agent behind them, for which a test speaks through its own sockets.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpv6, parseIpv6, parseIpv6Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import { ChannelNetwork, ChannelTun, type ChannelBind } from '@weft/tunnel';
import {
  LeaseRouteSource,
  createLogger,
  parseAgentArgs,
  startAgent,
  type AgentPorts,
  type IfaceFacts,
  type LeaseAttrs,
  type LeaseStore,
  type PacketCapture,
  type RunningAgent,
} from '../../src/index.ts';
import { RecordingLink, sharedView } from './fake-node.ts';
import { MemoryLeaseStore } from './internals.ts';
import { dualStackConf } from './net-confs.ts';

export interface FakeNode6 {
  name: string;
  agent: RunningAgent;
  link: RecordingLink;
  /** flannel0 (set once the backend started). */
  tun: ChannelTun;
  /** The addresses the agent opened underlay sockets on, in order. */
  udpOpened: string[];
  /** The agent's IPv6 subnet's first address + `host`. */
  addr(host: number): string;
}

export interface FakeNode6Options {
  name: string;
  /** eth0's IPv6 address. */
  ip6: string;
  /** eth0's IPv4 address; none for an IPv6-only node. */
  ip4?: string;
  net: ChannelNetwork;
  /** Shared with the other nodes: one node's stop() does not close it. It must already hold the net-conf. */
  store: LeaseStore;
  /** Scratch directory for the node's subnet.env. */
  dir: string;
  /** eth0's prefix lengths (IPv4, IPv6), reported to the agent: vxlan DirectRouting's L2 subnets. */
  prefixLens?: [number, number];
  /** Records both sides of the encapsulation (the agent's --pcap hook), given the node's underlay ends. */
  openCapture?: (local: { localAddress: number; localPort: number; localAddress6?: Uint8Array }) => PacketCapture;
}

/** Starts the real agent on fake ports with eth0 holding `ip6` (and `ip4`); it takes an IPv6 lease. */
export async function startFakeNode6(o: FakeNode6Options): Promise<FakeNode6> {
  const dir = join(o.dir, o.name);
  mkdirSync(dir, { recursive: true });
  const link = new RecordingLink(
    o.ip4 ?? '0.0.0.0',
    1500,
    o.prefixLens && { prefixLen: o.prefixLens[0], addresses6: [{ address: o.ip6, prefixLen: o.prefixLens[1] }] },
  );
  const handles: { tun?: ChannelTun } = {};
  const udpOpened: string[] = [];
  const ports: AgentPorts = {
    openTun: (t) => (handles.tun = new ChannelTun({ batchSize: t.batchSize, mtu: 1500 })),
    openUdp: (u) => {
      udpOpened.push(u.address);
      return o.net.bind(isIP(u.address) === 6 ? formatIpv6(parseIpv6(u.address)) : u.address, u.port);
    },
    link,
  };
  const facts: IfaceFacts = {
    links: async () => [{ name: 'eth0', mtu: 1500, addresses: o.ip4 ? [o.ip4] : [] }],
    routeDevice: async () => 'eth0',
    defaultRouteDevice: async () => 'eth0',
    links6: async () => [{ name: 'eth0', mtu: 1500, addresses: [o.ip6] }],
    defaultRouteDevice6: async () => 'eth0',
  };
  const args = ['--iface', 'eth0', '--subnet-file', join(dir, 'subnet.env'), '--metrics-port', '0'];
  const settings = {
    ...parseAgentArgs(args, { hostname: o.name }),
    netConfigFile: null,
    leaseTtlSeconds: 3600,
    renewMarginSeconds: 600,
  };
  const agent = await startAgent(settings, createLogger({ level: 'silent' }), {
    ports,
    offloads: false,
    routes: new LeaseRouteSource(),
    openStore: () => sharedView(o.store),
    ifaceFacts: facts,
    ...(o.openCapture && { openCapture: o.openCapture }),
  });
  const sub6 = agent.lease()!.ipv6Subnet!;
  const addr = (host: number) => formatIpv6(sub6.ip + BigInt(host));
  return { name: o.name, agent, link, tun: handles.tun!, udpOpened, addr };
}

/** Agents A (192.0.2.1, 2001:db8::1) and B (192.0.2.2, 2001:db8::2) on cluster `c`; A records into `captureA`. */
export async function startAgentsAB(c: FakeCluster, captureA?: PacketCapture): Promise<[FakeNode6, FakeNode6]> {
  const shared = { store: c.store, net: c.net, dir: c.dir };
  const capture = captureA && { openCapture: () => captureA };
  const a = await startFakeNode6({ name: 'a', ip4: '192.0.2.1', ip6: '2001:db8::1', ...shared, ...capture });
  const b = await startFakeNode6({ name: 'b', ip4: '192.0.2.2', ip6: '2001:db8::2', ...shared });
  return [a, b];
}

/** A dual-stack node with a lease but no agent: a test writes its lease and speaks for it on sockets of its own. */
export interface BareNode {
  name: string;
  ip4: string;
  /** Its PublicIPv6; null when it has none (as flanneld writes it). */
  ip6: string | null;
  subnet: string;
  subnet6: string;
  /** Its VTEP MACs (vxlan) for IPv4 and IPv6. */
  mac: string;
  mac6: string;
}

/** Bare node C of the dual-stack fakes: on both underlays, 10.244.3.0/24 and fd00:10:244:c::/64. */
export const NODE_C: BareNode = {
  name: 'c',
  ip4: '192.0.2.3',
  ip6: '2001:db8::3',
  subnet: '10.244.3.0/24',
  subnet6: 'fd00:10:244:c::/64',
  mac: '0a:58:00:00:00:0c',
  mac6: '0a:58:00:00:06:0c',
};

/** Writes `n`'s dual-stack lease (an hour) into `store`; on vxlan with its VTEP MACs of both families, VNI 1. */
export async function leaseBareNode(store: LeaseStore, backend: string, n: BareNode): Promise<void> {
  const vx = { BackendData: { VNI: 1, VtepMAC: n.mac }, BackendV6Data: { VNI: 1, VtepMAC: n.mac6 } };
  const attrs: LeaseAttrs = {
    PublicIP: n.ip4,
    PublicIPv6: n.ip6,
    BackendType: backend,
    NodeName: n.name,
    ...(backend === 'vxlan' ? vx : {}),
  };
  await store.createLease(tryParseIpv4Prefix(n.subnet)!, attrs, 3600_000, parseIpv6Prefix(n.subnet6));
}

/** Agents A and B with bare node C beside them, C's sockets on both underlays at the backend's port. */
export interface DualStackWorld extends FakeCluster {
  port: number;
  a: FakeNode6;
  b: FakeNode6;
  c4: ChannelBind;
  c6: ChannelBind;
}

/**
 * A dual-stack cluster on `backend` (directory named after `prefix`) with the leases of NODE_C and `others`, then
 * agents A and B (A recording into `captureA`). It returns before the agents have learnt the peers.
 */
export async function dualStackWorld(
  backend: 'udp' | 'vxlan',
  prefix: string,
  o: { others?: BareNode[]; captureA?: PacketCapture } = {},
): Promise<DualStackWorld> {
  const port = backend === 'udp' ? 8285 : 8472;
  const cluster = await fakeCluster(dualStackConf(backend), prefix);
  const c4 = cluster.net.bind(NODE_C.ip4, port);
  const c6 = cluster.net.bind(NODE_C.ip6!, port);
  for (const n of [NODE_C, ...(o.others ?? [])]) await leaseBareNode(cluster.store, backend, n);
  const [a, b] = await startAgentsAB(cluster, o.captureA);
  return { ...cluster, port, a, b, c4, c6 };
}

/**
 * `host` in the first /64 of `net6` from `start` on that no lease in `store` holds. The agents lease their IPv6
 * subnets at random, so a fixed "nowhere" address (fd00:10:244:99::1) was some agent's own now and then.
 */
export async function addressNoLeaseHolds(store: LeaseStore, net6: string, start = 0x99, host = 1n): Promise<string> {
  const base = parseIpv6Prefix(net6).ip;
  const held = new Set((await store.listLeases()).leases.map((l) => l.ipv6Subnet?.ip));
  for (let n = start; n < start + 256; n++) {
    const subnet = base + (BigInt(n % 256) << 64n);
    if (!held.has(subnet)) return formatIpv6(subnet + host);
  }
  throw new Error(`every /64 of ${net6} is leased`);
}

/** What the nodes of one test share: the fake underlay, the lease store and a scratch directory. */
export interface FakeCluster {
  net: ChannelNetwork;
  store: MemoryLeaseStore;
  dir: string;
}

/** A fresh fake underlay, a memory store already holding `conf`, and a scratch directory named after `prefix`. */
export async function fakeCluster(conf: object, prefix: string): Promise<FakeCluster> {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  await store.putConfig(JSON.stringify(conf));
  return { net: new ChannelNetwork(), store, dir: mkdtempSync(join(tmpdir(), prefix)) };
}

/** Stops the agents of `nodes`, then closes the cluster's store and removes its scratch directory. */
export async function stopCluster(c: FakeCluster, nodes: readonly { agent: RunningAgent }[]): Promise<void> {
  for (const n of nodes) await n.agent.stop();
  await c.store.close();
  rmSync(c.dir, { recursive: true, force: true });
}
