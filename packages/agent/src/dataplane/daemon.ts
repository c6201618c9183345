// `weft agent`: wires the parts together, flanneld's main loop in spirit.
//   settings -> net-conf -> store -> lease (same subnet after a restart) -> backend network (devices, routes)
//   -> peer changes from the route source (lease watching, or BGP) -> subnet.env -> ready.
// On SIGTERM/SIGINT it removes the routes and devices it added and leaves the lease, so a restart keeps the subnet.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError, leaseBackendType, parseNetConfig, type NetConfig } from '../config.ts';
import {
  formatIpv4Prefix as formatIp4Net,
  formatIpv6Prefix,
  tryParseIpv4 as parseIp4,
  parseIpv6,
  ipv6ToBytes,
  type Ipv4Prefix as Ip4Net,
  type Ipv6Prefix,
} from '@weft/netaddr';
import { StoreUnavailableError, type Lease, type LeaseStore } from '../lease.ts';
import { LeaseManager } from '../lease-manager.ts';
import type { AgentSettings } from '../settings.ts';
import { IPV4_ONLY, selectUnderlay, type IfaceFacts } from '../iface-select.ts';
import {
  HeldLeaseNetwork,
  NATIVE_IPV6_FORWARDING,
  backendV6Data,
  checkIpv6OnlySupported,
  familiesOf,
  ipv6NotForwarded,
  ipv6Status,
  leaseStatus,
  sameFamilies,
  vtepMacV6For,
} from '../dual-stack.ts';
import { SqliteLeaseStore } from '../stores/sqlite.ts';
import { EtcdLeaseStore } from '../stores/etcd.ts';
import { StoreCredentialError } from '../stores/etcd-credentials.ts';
import { NativeNetwork } from '../backends/native.ts';
import { DirectRoutingNetwork, directRoutingSubnets } from '../backends/direct-routing.ts';
import { NodeFirewall } from './node-firewall.ts';
import { OverlayNetwork } from '../backends/overlay.ts';
import { overlayIpv6 } from '../backends/overlay-v6.ts';
import { flannelUdpFormat, vxlanFormat } from '../backends/formats.ts';
import type { DataplaneNetwork, PeerChange } from '../backends/types.ts';
import { routesIpv6, type Ipv6PeerChange } from '../backends/ipv6-routes.ts';
import { PEER_INDEX_LIMIT } from '../backends/peers.ts';
import { FamilyPeerLimits, defaultPeerLimit } from '../backends/peer-limit.ts';
import { summarizeChanges } from '../backends/change-summary.ts';
import type { PacketCapture } from '../capture.ts';
import type { RouteSource } from '../route-source.ts';
import type { AgentPorts } from '../ports.ts';
import type { AgentStatus } from '../observability.ts';
import { previousIpv6SubnetFromEnv, previousSubnetFromEnv, readSubnetEnv } from '../subnet-env.ts';

export interface DaemonExtras {
  /** IFF_VNET_HDR + TSO on flannel0 (default on). */
  offloads: boolean;
  /** Where peer routes come from: LeaseRouteSource (flannel) or BgpRouteSource (Calico). */
  routes: RouteSource;
  /** TUN, UDP and iproute2: systemPorts() on a node. */
  ports: AgentPorts;
  /**
   * Opens a capture of both sides of the encapsulation (overlay backends; `--pcap`), given this node's underlay
   * address (uint32) and the backend's UDP port, which a capture file needs for its synthesized outer headers;
   * `localAddress6`: the node's PublicIPv6 as 16 bytes, when it has one (the IPv6 underlay's end).
   */
  openCapture?: (local: { localAddress: number; localPort: number; localAddress6?: Uint8Array }) => PacketCapture;
  /** Opens the lease store; default: the one --store names (SQLite file or etcd). Tests pass a MemoryLeaseStore. */
  openStore?: (settings: AgentSettings) => LeaseStore;
  /** The host's interfaces and routes for underlay selection; default `ip` in this namespace. Tests pass fakes. */
  ifaceFacts?: IfaceFacts;
}

/** A stable VTEP MAC for a node: locally administered, derived from the node name, so restarts keep it. */
export function vtepMacFor(nodeName: string): string {
  const h = createHash('sha256').update(`weft-vtep:${nodeName}`).digest();
  const bytes = [0x0a, 0x58, h[0]!, h[1]!, h[2]!, h[3]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The net-conf file's text and parsed config (null without --net-config); read before anything is opened. */
function readNetConfigFile(settings: AgentSettings): { text: string; config: NetConfig } | null {
  if (!settings.netConfigFile) return null;
  let text: string;
  try {
    text = readFileSync(settings.netConfigFile, 'utf8');
  } catch (e) {
    throw new ConfigError('--net-config', `cannot read ${settings.netConfigFile}: ${(e as Error).message}`);
  }
  return { text, config: parseNetConfig(text) };
}

/** The file's config (published to an embedded store for `weft status` and other agents), or the store's. */
async function loadNetConfig(
  settings: AgentSettings,
  file: { text: string; config: NetConfig } | null,
  store: LeaseStore,
): Promise<NetConfig> {
  if (file) {
    if (settings.store.kind === 'embedded') await store.putConfig(file.text);
    return file.config;
  }
  const stored = await store.getConfig();
  if (stored === null)
    throw new ConfigError(
      '--net-config',
      `no file given and the store has no ${settings.store.kind === 'etcd' ? settings.store.prefix + '/config' : 'config'}`,
    );
  return parseNetConfig(stored);
}

function openStore(settings: AgentSettings): LeaseStore {
  const s = settings.store;
  return s.kind === 'embedded'
    ? new SqliteLeaseStore(s.path)
    : new EtcdLeaseStore({ endpoints: s.endpoints, prefix: s.prefix, tls: s.tls, auth: s.auth });
}

const STORE_START_WAIT_MS = 60_000;

/**
 * Opens the store and reads the network config, waiting (with back-off, logged) while the store cannot be
 * reached: an agent may start before its etcd, or beside other agents opening the same embedded file.
 */
async function openStoreAndConfig(
  settings: AgentSettings,
  file: { text: string; config: NetConfig } | null,
  log: Logger,
  open = openStore,
): Promise<{ store: LeaseStore; config: NetConfig }> {
  const deadline = Date.now() + STORE_START_WAIT_MS;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    let store: LeaseStore | null = null;
    try {
      store = open(settings);
      // etcd: one read even with a net-conf file, so refused credentials show at start (exit 2), not in retries.
      if (file && settings.store.kind === 'etcd') await store.getConfig();
      return { store, config: await loadNetConfig(settings, file, store) };
    } catch (e) {
      await store?.close().catch(() => {});
      if (e instanceof StoreCredentialError) throw new ConfigError(e.field, e.message);
      if (!(e instanceof StoreUnavailableError) || Date.now() + delay > deadline) throw e;
      log.warn({ err: e.message, retryInMs: delay }, 'store not reachable yet; waiting');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export interface RunningAgent {
  lease: () => Lease | null;
  network: DataplaneNetwork;
  leases: LeaseManager;
  config: NetConfig;
  publicIp: string;
  /** The IPv6 underlay address (EnableIPv6). */
  publicIpv6?: string;
  vtepMac?: string;
  storeReachable: () => boolean;
  /** Everything `/status` and the metrics report (BGP sessions are added by the caller). */
  status(): AgentStatus;
  /** Why the agent must not count as ready although it runs (peers over --max-peers), or null. */
  notReady(): string | null;
  /** Resolves when the agent has stopped (after `stop`). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The underlay as createNetwork needs it; `subnet`/`subnetV6` (the interface's L2 prefixes) only for DirectRouting. */
export interface UnderlayInfo {
  publicIp: string;
  iface: string;
  mtu: number;
  subnet?: Ip4Net;
  subnetV6?: Ipv6Prefix;
  /** The node's PublicIPv6 (dual stack): the IPv6 underlay address of the overlay backends. */
  publicIpv6?: string;
}

export function createNetwork(
  config: NetConfig,
  subnet: Ip4Net,
  underlay: UnderlayInfo,
  log: Logger,
  vtepMac: string,
  extras: DaemonExtras,
  /** Dual stack: the lease's IPv6 subnet and the IPv6 VTEP MAC; the overlay backends then forward IPv6 too. */
  ipv6?: { subnet: Ipv6Prefix; vtepMacV6: string },
): DataplaneNetwork {
  const b = config.backend;
  const native = () =>
    new NativeNetwork({ log, link: extras.ports.link, iface: underlay.iface, underlayMtu: underlay.mtu });
  if (b.type === 'native') return native();
  const format =
    b.type === 'udp'
      ? flannelUdpFormat(b.port)
      : vxlanFormat({
          vni: b.vni,
          port: b.port,
          localMac: vtepMac,
          vtepAddress: subnet.ip,
          ...(ipv6 && { localMacV6: ipv6.vtepMacV6 }),
        });
  const capture = extras.openCapture?.({
    localAddress: parseIp4(underlay.publicIp) ?? 0,
    localPort: format.port,
    ...(underlay.publicIpv6 && { localAddress6: ipv6ToBytes(parseIpv6(underlay.publicIpv6)) }),
  });
  const overlay = new OverlayNetwork({
    log,
    ports: extras.ports,
    format,
    network: config.network,
    subnet,
    publicIp: underlay.publicIp,
    underlayMtu: underlay.mtu,
    offloads: extras.offloads,
    capture,
    ipv6: overlayIpv6(config.ipv6?.network, ipv6?.subnet, underlay.publicIpv6),
  });
  if (!b.directRouting || (!underlay.subnet && !underlay.subnetV6)) return overlay;
  return new DirectRoutingNetwork({
    log,
    overlay,
    direct: native(),
    underlaySubnet: underlay.subnet,
    underlaySubnetV6: underlay.subnetV6,
  });
}

/** Starts the agent; resolves once forwarding runs (the lease is held, routes installed). */
export async function startAgent(settings: AgentSettings, log: Logger, extras: DaemonExtras): Promise<RunningAgent> {
  // Everything that can be wrong in the configuration is checked before a store, device or route is touched.
  const file = readNetConfigFile(settings);
  // Without a file the families are known only from the store's config: IPv4 first, as before, then again if not.
  const early = file ? familiesOf(file.config) : IPV4_ONLY;
  const first = await selectUnderlay(settings, extras.ports.link, extras.ifaceFacts, early).catch((e: unknown) => {
    if (file) throw e;
    return e as Error;
  });
  const { store, config } = await openStoreAndConfig(settings, file, log, extras.openStore);
  let underlay: Awaited<ReturnType<typeof selectUnderlay>>;
  try {
    checkIpv6OnlySupported(config, settings.weft.routeSync);
    if (first instanceof Error && sameFamilies(early, familiesOf(config))) throw first;
    underlay =
      first instanceof Error || !sameFamilies(early, familiesOf(config))
        ? await selectUnderlay(settings, extras.ports.link, extras.ifaceFacts, familiesOf(config))
        : first;
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  log.info(
    { iface: underlay.iface, publicIp: underlay.publicIp, publicIpv6: underlay.publicIpv6, rule: underlay.rule },
    `underlay interface ${underlay.iface} chosen by ${underlay.rule}`,
  );
  for (const w of config.warnings) log.warn({ field: w.field }, `net-conf.json: ${w.field}: ${w.message}`);
  const vtepMac = vtepMacFor(settings.nodeName);
  const abort = new AbortController();
  const leases = new LeaseManager({
    store,
    config,
    identity: { nodeName: settings.nodeName, publicIp: underlay.publicIp, publicIpv6: underlay.publicIpv6 },
    backendType: leaseBackendType(config.backend.type),
    backendData: config.backend.type === 'vxlan' ? { VNI: config.backend.vni, VtepMAC: vtepMac } : undefined,
    backendV6Data: backendV6Data(config, settings.nodeName),
    ttlMs: settings.leaseTtlSeconds * 1000,
    renewMarginMs: settings.renewMarginSeconds * 1000,
    log: log.child({ component: 'lease' }),
    // Like flannel, ask for the subnet of the last run again (subnet.env survives the agent).
    previousSubnet: previousSubnetFromEnv(readSubnetEnv(settings.subnetFile) ?? {}),
    previousIpv6Subnet: previousIpv6SubnetFromEnv(readSubnetEnv(settings.subnetFile) ?? {}),
  });
  const lease = await leases.acquire(abort.signal);
  log.info(
    {
      subnet: config.enableIpv4 ? formatIp4Net(lease.subnet) : null, // IPv6 only: flannel's empty 0.0.0.0/0
      publicIp: underlay.publicIp,
      ...(lease.ipv6Subnet && { ipv6Subnet: formatIpv6Prefix(lease.ipv6Subnet), publicIpv6: underlay.publicIpv6 }),
      iface: underlay.iface,
      backend: config.backend.type,
    },
    'lease acquired',
  );
  const l2 = config.backend.directRouting
    ? await directRoutingSubnets(
        extras.ports.link,
        underlay.iface,
        config.enableIpv4 ? underlay.publicIp : undefined,
        lease.ipv6Subnet ? underlay.publicIpv6 : undefined,
        log,
      )
    : {};
  // IPv6 only: native routes IPv6 leases alone; the overlays run flannel0 for IPv6 alone (NO_IPV4_SUBNET), given
  // the IPv6 subnet and PublicIPv6, and otherwise only hold the lease.
  const network =
    !config.enableIpv4 && config.backend.type !== 'native' && !(lease.ipv6Subnet && underlay.publicIpv6)
      ? new HeldLeaseNetwork(config, underlay.mtu)
      : createNetwork(
          config,
          lease.subnet,
          { ...underlay, subnet: l2.v4, subnetV6: l2.v6 },
          log.child({ component: config.backend.type }),
          vtepMac,
          extras,
          lease.ipv6Subnet ? { subnet: lease.ipv6Subnet, vtepMacV6: vtepMacV6For(settings.nodeName) } : undefined,
        );
  const firewall = new NodeFirewall({
    firewall: extras.ports.firewall,
    network: config.network,
    subnet: lease.subnet,
    ...firewallFlags(settings),
    log: log.child({ component: 'firewall' }),
  });
  // The rules do not need the device: installed while the backend starts (iptables and ip are separate forks, and
  // a restart after a crash forwards nothing until both are done). Never rejects; taken back if the backend fails.
  const firewallUp = config.enableIpv4 ? firewall.start() : null; // IPv6 only: no IPv4 subnet to masquerade
  await network.start().catch(async (e: unknown) => {
    if (firewallUp) await firewallUp.then(() => firewall.stop()).catch(() => {});
    throw e;
  });
  await firewallUp;
  const ipv6Forwarding = (): string | undefined => {
    if (routesIpv6(network)) return NATIVE_IPV6_FORWARDING;
    const n6 = network.status().ipv6;
    return n6?.forwarded ? n6.reason : undefined;
  };
  if (config.enableIpv6 && ipv6Forwarding() === undefined)
    log.warn({ ipv6Subnet: ipv6Status(config, lease, underlay.publicIpv6)?.subnet }, ipv6NotForwarded(config));
  let applying = Promise.resolve();
  let queued: { v4: PeerChange[]; v6: Ipv6PeerChange[] } | null = null;
  const source = extras.routes.name;
  // IPv6 only: the IPv6 network's subnets bound the peers (the IPv4 network is flannel's empty one).
  const sizing = config.enableIpv4 || !config.ipv6 ? config : config.ipv6;
  const limitOf = (c: { network: Ip4Net | Ipv6Prefix; subnetLen: number }) =>
    settings.weft.maxPeers || defaultPeerLimit(c.network.prefixLen, c.subnetLen, PEER_INDEX_LIMIT);
  // IPv6 routes on their own (BGP, IPv6-only leases) are held to --max-peers too, by a limiter of their own.
  const limiter = new FamilyPeerLimits(limitOf(sizing), limitOf(config.ipv6 ?? sizing));
  const applyRoutes = (changes: PeerChange[], ipv6: Ipv6PeerChange[] = []) => {
    if (changes.length) log.debug({ source, ...summarizeChanges(changes) }, 'peer routes received');
    const wasWaiting = limiter.state().waiting;
    // IPv6 routes on their own go to a backend that installs them; the others leave them out (logged).
    const limited = limiter.filter(changes, routesIpv6(network) ? ipv6 : []);
    const { v4: admitted, v6 } = limited;
    reportPeerLimit(log, limiter, wasWaiting);
    if (ipv6.length) log.info({ source, ipv6Routes: ipv6.length, installed: v6.length }, 'IPv6 peer routes');
    if (admitted.length === 0 && v6.length === 0) return;
    // Batches arriving while one is applied join the next one: a churn of 3,000 single-event watch responses is
    // then a few backend applies (a few `ip -batch` runs for native routes), not 3,000. Order is kept.
    if (queued) {
      for (const c of admitted) queued.v4.push(c);
      for (const c of v6) queued.v6.push(c);
      return;
    }
    const batch = (queued = { v4: admitted, v6 });
    applying = applying
      .then(async () => {
        queued = null; // changes from now on start the next batch
        if (batch.v4.length) log.info({ source, ...summarizeChanges(batch.v4) }, 'peer routes');
        if (batch.v4.length) await network.apply(batch.v4);
        if (batch.v6.length && routesIpv6(network)) await network.applyIpv6(batch.v6);
      })
      .catch((e) => log.error({ err: (e as Error).message }, 'applying peer changes failed'));
  };
  // The lease manager renews our lease; peers come from the route source (the lease source watches the store).
  const runLoop = leases
    .run(
      {
        onLease: (now, previous) => {
          if (formatIp4Net(now.subnet) !== formatIp4Net(previous.subnet)) void firewall.setSubnet(now.subnet);
          if (formatIp4Net(now.subnet) !== formatIp4Net(previous.subnet))
            log.error(
              { was: formatIp4Net(previous.subnet), now: formatIp4Net(now.subnet) },
              'lease lost and re-acquired with a different subnet: restart the agent to move pods',
            );
        },
        onStoreReachable: (up) =>
          up
            ? log.info('store reachable again: reconciled')
            : log.warn('store unreachable: forwarding with the peers already known'),
      },
      abort.signal,
      { watch: false },
    )
    .catch((e) => {
      if (!abort.signal.aborted) log.error({ err: (e as Error).message }, 'lease manager stopped');
    });
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      abort.abort();
      await extras.routes.stop();
      await runLoop;
      await applying;
      await network.stop();
      if (config.enableIpv4) await firewall.stop();
      await store.close();
    })());
  const status = (): AgentStatus => {
    const l = leases.lease;
    const n = network.status();
    return {
      node: settings.nodeName,
      backend: n.backend,
      routeSync: source,
      mtu: n.mtu,
      lease: l && leaseStatus(config, l, underlay.publicIp, underlay.publicIpv6, vtepMac, settings.nodeName),
      storeReachable: leases.storeReachable,
      peerLimit: limiter.state(),
      routes: n.routes,
      counters: n.counters ?? {},
      drops: n.drops ?? {},
      ...(n.dropsByFamily && { dropsByFamily: n.dropsByFamily }),
      ...(n.sendPath ? { sendPath: n.sendPath } : {}),
      ...(config.enableIpv6 ? { ipv6: ipv6Status(config, l, underlay.publicIpv6, ipv6Forwarding()) } : {}),
    };
  };
  const running: RunningAgent = {
    status,
    notReady: () => {
      const { waiting, limit } = limiter.state();
      return waiting > 0 ? `${waiting} peers left out: more than --max-peers=${limit}` : null;
    },
    lease: () => leases.lease,
    network,
    leases,
    config,
    publicIp: underlay.publicIp,
    ...(underlay.publicIpv6 ? { publicIpv6: underlay.publicIpv6 } : {}),
    vtepMac: config.backend.type === 'vxlan' ? vtepMac : undefined,
    storeReachable: () => leases.storeReachable,
    done: runLoop.then(() => stopped ?? undefined),
    stop,
  };
  await startRouteSource(running, extras.routes, log, applyRoutes);
  return running;
}

/** Logs when peers start waiting under --max-peers (an error: the agent turns not ready) and when all fit again. */
function reportPeerLimit(log: Logger, limiter: FamilyPeerLimits, wasWaiting: number): void {
  const { limit, admitted, waiting } = limiter.state();
  if (waiting > 0 && wasWaiting === 0)
    log.error(
      { limit, peers: admitted, waiting, examples: limiter.waitingExamples() },
      `peer limit reached: ${waiting} peers have no route (more than --max-peers=${limit}); not ready until they fit`,
    );
  else if (waiting === 0 && wasWaiting > 0)
    log.info({ limit, peers: admitted }, 'every peer fits under --max-peers again; ready');
}

/** --ip-masq, --iptables-forward-rules (default on, as flanneld) and --iptables-resync (default 5 s). */
function firewallFlags(settings: AgentSettings): { ipMasq: boolean; forward: boolean; resyncSeconds: number } {
  return {
    ipMasq: settings.ipMasq,
    forward: settings.iptablesForwardRules,
    resyncSeconds: settings.iptablesResyncSeconds,
  };
}

/** Starts the route source once the lease is held and the backend runs; if it cannot start, the agent stops. */
async function startRouteSource(
  agent: RunningAgent,
  routes: RouteSource,
  log: Logger,
  apply: (changes: PeerChange[], ipv6?: Ipv6PeerChange[]) => void,
): Promise<void> {
  const lease = agent.lease()!;
  const v6 = lease.ipv6Subnet && agent.publicIpv6 ? { ipv6Subnet: lease.ipv6Subnet, publicIpv6: agent.publicIpv6 } : {};
  try {
    await routes.start(
      {
        leases: agent.leases,
        subnet: lease.subnet,
        publicIp: agent.publicIp,
        vtepMac: agent.vtepMac,
        log,
        ...v6,
        // An IPv6-only overlay takes IPv6-only leases as peers (it needs their VTEP MACs), native as IPv6 routes.
        ipv6OnlyPeers: !agent.config.enableIpv4 && !routesIpv6(agent.network),
      },
      apply,
    );
  } catch (e) {
    await agent.stop().catch(() => {});
    throw e;
  }
}
