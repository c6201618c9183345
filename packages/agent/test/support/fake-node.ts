// In-process nodes for root-free agent tests: each node's ports are @weft/tunnel's in-memory fakes (ChannelTun
// for flannel0, a ChannelBind on a shared ChannelNetwork for the underlay socket) and a link programmer that
// records the iproute2 commands instead of running them. The agent itself is the real startAgent.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { formatIpv6Bytes } from '@weft/netaddr';
import { ChannelTun, PacketBatch, type ChannelBind, type ChannelNetwork, type LinkConfig } from '@weft/tunnel';
import {
  LeaseRouteSource,
  createLogger,
  parseAgentArgs,
  startAgent,
  type AgentPorts,
  type AgentSettings,
  type InterfaceInfo,
  type LeaseStore,
  type LinkProgrammer,
  type PacketCapture,
  type RouteSource,
  type RunningAgent,
} from '../../src/index.ts';

/**
 * Records what the agent asks of iproute2; answers interface queries for one underlay interface `eth0` (with the
 * prefix lengths in `prefixes`, when given: DirectRouting's L2 subnets).
 */
export class RecordingLink implements LinkProgrammer {
  readonly links: { name: string; cfg: LinkConfig }[] = [];
  readonly lines: string[] = [];

  constructor(
    private readonly address: string,
    private readonly mtu = 1500,
    private readonly prefixes: Pick<InterfaceInfo, 'prefixLen' | 'addresses6'> = {},
  ) {}

  async configureLink(name: string, cfg: LinkConfig): Promise<void> {
    this.links.push({ name, cfg });
  }

  async ipBatch(_log: unknown, lines: readonly string[]): Promise<void> {
    this.lines.push(...lines);
  }

  async interfaceInfo(name: string): Promise<InterfaceInfo> {
    if (name !== 'eth0') throw new Error(`no interface ${name}`);
    return { mtu: this.mtu, address: this.address, ...this.prefixes };
  }

  async interfaceWithAddress(address: string): Promise<{ name: string; mtu: number } | null> {
    return address === this.address ? { name: 'eth0', mtu: this.mtu } : null;
  }
}

/** One record of RecordingCapture: the hook's arguments, the bytes copied, an IPv6 peer as text (null if none). */
export interface CaptureRecord {
  side: number;
  direction: number;
  bytes: Uint8Array;
  peerAddress: number;
  peerPort: number;
  peer6: string | null;
}

/** A capture that keeps a copy of every record. */
export class RecordingCapture implements PacketCapture {
  readonly records: CaptureRecord[] = [];
  closed = false;

  record(
    side: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    direction: number,
    peerAddress = 0,
    peerPort = 0,
    peerAddress6?: Uint8Array,
  ): void {
    const bytes = buf.slice(offset, offset + length);
    const peer6 = peerAddress6 ? formatIpv6Bytes(peerAddress6) : null;
    this.records.push({ side, direction, bytes, peerAddress, peerPort, peer6 });
  }

  close(): void {
    this.closed = true;
  }
}

/** The store seen by one agent: shared with the others, so one agent's stop() must not close it. */
export function sharedView(s: LeaseStore): LeaseStore {
  return {
    getConfig: () => s.getConfig(),
    putConfig: (json) => s.putConfig(json),
    listLeases: () => s.listLeases(),
    createLease: (subnet, attrs, ttlMs, ipv6Subnet) => s.createLease(subnet, attrs, ttlMs, ipv6Subnet),
    renewLease: (subnet, attrs, ttlMs, ipv6Subnet) => s.renewLease(subnet, attrs, ttlMs, ipv6Subnet),
    deleteLease: (subnet, ipv6Subnet) => s.deleteLease(subnet, ipv6Subnet),
    watchLeases: (after, onBatch, signal) => s.watchLeases(after, onBatch, signal),
    close: async () => {},
  };
}

export interface FakeNode {
  name: string;
  agent: RunningAgent;
  link: RecordingLink;
  capture: RecordingCapture;
  /** flannel0 (set once the backend started). */
  tun: ChannelTun;
  /** The underlay socket. */
  udp: ChannelBind;
}

export interface FakeNodeOptions {
  name: string;
  publicIp: string;
  /** The subnet to ask for (written as the previous run's subnet.env, as flannel does after a restart). */
  subnet: string;
  net: ChannelNetwork;
  store: LeaseStore;
  /** Scratch directory for the node's subnet.env. */
  dir: string;
  routes?: RouteSource;
  /** More `weft agent` flags (for example --max-peers). */
  args?: string[];
}

/** Starts the real agent (startAgent) on fake ports; the store must already hold the net-conf. */
export async function startFakeNode(o: FakeNodeOptions): Promise<FakeNode> {
  const dir = join(o.dir, o.name);
  mkdirSync(dir, { recursive: true });
  const subnetFile = join(dir, 'subnet.env');
  const [ip, len] = o.subnet.split('/') as [string, string];
  writeFileSync(subnetFile, `FLANNEL_SUBNET=${ip.replace(/\.0$/, '.1')}/${len}\n`);
  const link = new RecordingLink(o.publicIp);
  const capture = new RecordingCapture();
  const handles: { tun?: ChannelTun; udp?: ChannelBind } = {};
  const ports: AgentPorts = {
    openTun: (t) => (handles.tun = new ChannelTun({ batchSize: t.batchSize, mtu: 1500 })),
    openUdp: (u) => (handles.udp = o.net.bind(u.address, u.port, { batchSize: u.batchSize })),
    link,
  };
  const settings: AgentSettings = {
    ...parseAgentArgs(
      [
        '--iface',
        'eth0',
        '--public-ip',
        o.publicIp,
        '--store',
        `embedded:${join(dir, 'unused.db')}`,
        '--metrics-port',
        '0',
        ...(o.args ?? []),
      ],
      { hostname: o.name },
    ),
    netConfigFile: null,
    subnetFile,
    leaseTtlSeconds: 3600,
    renewMarginSeconds: 600,
    logLevel: 'silent',
  };
  const log = createLogger({ level: 'silent' });
  const agent = await startAgent(settings, log, {
    ports,
    offloads: false,
    routes: o.routes ?? new LeaseRouteSource(),
    openCapture: () => capture,
    openStore: () => sharedView(o.store),
  });
  return { name: o.name, agent, link, capture, tun: handles.tun!, udp: handles.udp! };
}

/** A log destination (createLogger's) that keeps every line written to it, in order. */
export function logLines(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

/** A node's routes as "subnet via next hop", sorted. */
export const routesOf = (n: { agent: RunningAgent }): string[] =>
  n.agent.network
    .status()
    .routes.map((r) => `${r.subnet} via ${r.via}`)
    .sort();

/** A node's drop counters by name. */
export const dropsOf = (n: { agent: RunningAgent }) => n.agent.network.status().drops!;

const scratch = new PacketBatch(64, 2048);

/** Every datagram waiting on a fake socket, oldest first (copies). */
export function drain(bind: ChannelBind): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = bind.read(scratch, 0); n > 0; n = bind.read(scratch, 0)) {
    for (let i = 0; i < n; i++) out.push(scratch.packet(i).slice());
  }
  return out;
}

/** Sends one datagram from `bind` to address:port, as a peer (or stranger) on the fake underlay would. */
export function sendFrom(bind: ChannelBind, address: string, port: number, data: Uint8Array): void {
  const RAW_PEER = 4095; // an index the agent's peer table never hands out in these tests
  const b = new PacketBatch(1, Math.max(64, data.length));
  b.set(0, data, 0, RAW_PEER);
  b.count = 1;
  bind.addPeer(RAW_PEER, address, port);
  bind.write(b);
  bind.removePeer(RAW_PEER);
}

/** Waits (event-loop turns, bounded) until `cond` holds; throws naming `what` otherwise. */
export async function until(cond: () => boolean, what: string, maxMs = 3000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
