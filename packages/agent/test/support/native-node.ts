// In-process native (host-gw) nodes for the root-free native and BGP tests: the real startAgent with no TUN or
// socket (opening one fails the test), a no-op firewall, a link programmer that records the route commands, and
// the interface facts of one underlay interface eth0 holding the node's addresses (IPv6 plus a link-local one).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemoryNetwork, Transport } from '@weft/route-sync';
import * as assert from 'uvu/assert';
import {
  BgpRouteSource,
  createLogger,
  parseAgentArgs,
  startAgent,
  type AgentPorts,
  type AgentSettings,
  type IfaceFacts,
  MemoryLeaseStore,
  type LeaseStore,
  type RouteSource,
  type RunningAgent,
} from './internals.ts';
import { RecordingLink, logLines, sharedView } from './fake-node.ts';

export interface NativeNodeOptions<R extends RouteSource = RouteSource> {
  name: string;
  /** eth0's IPv4 address (also the default route's interface); none for an IPv6-only node. */
  ip?: string;
  /** eth0's IPv6 address. */
  ip6: string;
  /** The net-conf, written to DIR/NAME-net-conf.json. */
  conf: object;
  /** Scratch directory for the net-conf and subnet.env. */
  dir: string;
  /** Shared with the other nodes: one node's stop() does not close it. */
  store: LeaseStore;
  /** The route source, made from the parsed settings (BGP needs the router ID and node name). */
  routes: (settings: AgentSettings) => R;
  /** More `weft agent` flags. */
  args?: string[];
}

export interface NativeNode<R extends RouteSource = RouteSource> {
  agent: RunningAgent;
  /** The route commands the agent gave. */
  link: RecordingLink;
  /** The agent's log, one JSON line each (level info). */
  lines: string[];
  routes: R;
}

/** eth0 with the node's addresses: IPv4 (when given) and IPv6 plus fe80::1; the default routes through it. */
function factsOf(o: { ip?: string; ip6: string }): IfaceFacts {
  return {
    links: async () => [{ name: 'eth0', mtu: 1500, addresses: o.ip ? [o.ip] : [] }],
    routeDevice: async () => 'eth0',
    defaultRouteDevice: async () => (o.ip ? 'eth0' : null),
    links6: async () => [{ name: 'eth0', mtu: 1500, addresses: [o.ip6, 'fe80::1'] }],
    defaultRouteDevice6: async () => 'eth0',
  };
}

/** Starts the real agent (native backend in `conf`) for one node; it holds its lease when this resolves. */
export async function startNativeNode<R extends RouteSource>(o: NativeNodeOptions<R>): Promise<NativeNode<R>> {
  const confFile = join(o.dir, `${o.name}-net-conf.json`);
  writeFileSync(confFile, JSON.stringify(o.conf));
  const { lines, destination } = logLines();
  const link = new RecordingLink(o.ip ?? o.ip6);
  const ports = {
    openTun: () => assert.unreachable('native opens no TUN'),
    openUdp: () => assert.unreachable('native opens no socket'),
    link,
    firewall: { apply: async () => {}, remove: async () => {} },
  } as unknown as AgentPorts;
  const args = ['--net-config-path', confFile, '--subnet-file', join(o.dir, `${o.name}.env`), '--metrics-port', '0'];
  const settings = parseAgentArgs([...args, ...(o.args ?? [])], { hostname: o.name });
  const routes = o.routes(settings);
  const agent = await startAgent(settings, createLogger({ level: 'info', destination }), {
    ports,
    offloads: false,
    routes,
    openStore: () => sharedView(o.store),
    ifaceFacts: factsOf(o),
  });
  return { agent, link, lines, routes };
}

/**
 * The BGP transport on `bgp` of a node with `addresses` (at most one per family): it accepts on each and connects
 * from the one of the remote's family (or the first).
 */
export function nodeTransport(bgp: MemoryNetwork, addresses: readonly string[]): Transport {
  const from = (remote: string) => addresses.find((a) => a.includes(':') === remote.includes(':')) ?? addresses[0]!;
  return {
    listen: async (accept) => {
      for (const a of addresses) bgp.listeners.set(a, accept);
    },
    connect: (remote, port, local) => bgp.transport(from(remote)).connect(remote, port, local),
    close: async () => {
      for (const a of addresses) bgp.listeners.delete(a);
    },
  };
}

/** An iBGP route source (AS 64512, port 179, no route reflector) peering with each of `peers` over `transport`. */
export function meshRouteSource(peers: readonly string[], transport: Transport): BgpRouteSource {
  const asPeers = peers.map((address) => ({ address, as: 64512 }));
  return new BgpRouteSource({ as: 64512, port: 179, peers: asPeers, routeReflectors: [], transport });
}

/** Runs `fn` with a fresh scratch directory (named after `prefix`) and memory store, both removed afterwards. */
export async function withDirAndStore(
  prefix: string,
  fn: (dir: string, store: MemoryLeaseStore) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const store = new MemoryLeaseStore({ pollMs: 5 });
  try {
    await fn(dir, store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
