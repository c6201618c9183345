// `weft agent [flags]`: the flanneld-like daemon. Bad configuration is one clear line and exit code 2; the agent
// never starts half-configured. SIGTERM/SIGINT remove what it installed and keep the lease.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  BgpRouteSource, ConfigError, LeaseRouteSource, createLogger, parseAgentArgs, startAgent, startObservability, subnetEnvValues, systemPorts,
  writeSubnetEnv,
  type AgentPorts, type AgentSettings, type AgentStatus, type HttpHandle, type RunningAgent,
} from '@weft/agent';
import { splitExtraFlags, type ExtraFlags } from './agent-flags.ts';

export const AGENT_USAGE = `usage: weft agent [flags]
  --net-config FILE     flannel net-conf.json (Network, SubnetLen, SubnetMin, SubnetMax, Backend.Type/Port/VNI);
                        also --config. With an etcd store and no file, PREFIX/config is read from etcd.
  --public-ip ADDR      underlay address of this node (default: the address of --iface)
  --iface NAME          underlay interface (default: the one holding --public-ip)
  --store embedded:PATH | etcd://HOST:PORT[,HOST:PORT...]   (default embedded:/var/lib/weft/leases.db)
  --etcd-prefix PREFIX  (default /coreos.com/network)
  --subnet-file FILE    (default /run/flannel/subnet.env)
  --metrics-port PORT   Prometheus /metrics, /healthz, /readyz, /status (default 9465; 0 disables)
  --node-name NAME      (default: host name)
  --route-sync lease|bgp   where peer routes come from (default lease)
  --bgp-as N, --bgp-peer ADDR,AS (repeatable), --bgp-port PORT, --route-reflector ADDR (repeatable)
  --pcap FILE           record both sides of the encapsulation as pcapng (bounded; off by default)
  --no-offload          plain TUN reads (no IFF_VNET_HDR/TSO)
  --no-super-packets    keep cutting super-packets into segments in userspace and sending them from UDP
                        sockets, instead of handing them whole to the kernel through a TAP (weft-gso0, UDP-tunnel
                        GSO, Linux >= 6.17; probed at start, off by itself where missing). Also WEFT_SUPER_PACKETS=0
  --ip-masq, --log-level LEVEL, --subnet-lease-ttl S, --subnet-lease-renew-margin S
`;

/** The system's ports; without the super-packet sender when it is forced off (the overlay then keeps its socket path). */
function agentPorts(superPackets: boolean): AgentPorts {
  const ports = systemPorts();
  if (!superPackets) delete ports.openSuperPacketSender;
  return ports;
}

export async function agentCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  let settings: AgentSettings;
  let extra: ExtraFlags;
  try {
    const split = splitExtraFlags(argv);
    extra = split.extra;
    settings = parseAgentArgs(split.rest, { hostname: hostname() });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`weft agent: bad configuration: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger({ level: settings.logLevel, node: settings.nodeName });
  let agent: RunningAgent | undefined;
  let http: HttpHandle | undefined;
  // The route source is the one thing that differs between flannel mode and Calico mode.
  const bgp = extra.routeSync === 'bgp'
    ? new BgpRouteSource({ as: extra.bgpAs, port: extra.bgpPort, peers: extra.bgpPeers, routeReflectors: extra.routeReflectors })
    : null;
  const routes = bgp ?? new LeaseRouteSource();
  // The pcapng writer (@weft/explain) loads only with --pcap.
  const openCapture = extra.pcap ? (await import('./pcap-capture.ts')).pcapCapture(extra.pcap, log) : undefined;
  try {
    const running = (agent = await startAgent(settings, log, {
      ports: agentPorts(extra.superPackets && process.env.WEFT_SUPER_PACKETS !== '0'), offloads: extra.offload, routes, openCapture,
    }));
    const lease = running.lease()!;
    const status = (): AgentStatus => ({ ...running.status(), ...(bgp ? { bgp: bgp.status() } : {}) });
    http = await startObservability(settings.metricsPort, status, log);
    writeSubnetEnv(settings.subnetFile, subnetEnvValues(running.config, lease.subnet, running.network.mtu, settings.ipMasq));
    http.setReady(true);
    log.info({ subnetFile: settings.subnetFile }, 'ready');
    await waitForSignal(log);
    http.setReady(false);
    await running.stop();
    log.info('stopped: routes and devices removed, lease kept');
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error({ field: e.field }, e.message);
      process.stderr.write(`weft agent: bad configuration: ${e.message}\n`);
      await agent?.stop();
      return 2;
    }
    log.error({ err: (e as Error).message, name: (e as Error).name }, 'agent failed');
    await agent?.stop().catch(() => {});
    return 1;
  } finally {
    await http?.close();
  }
}

function waitForSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'shutting down');
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve();
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
