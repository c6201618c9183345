// `weft agent [flags]`: the flanneld-like daemon. Bad configuration is one clear line and exit code 2; the agent
// never starts half-configured. SIGTERM/SIGINT remove what it installed and keep the lease.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  BgpRouteSource,
  ConfigError,
  LeaseRouteSource,
  WEFT_VERSION,
  createLogger,
  parseAgentCommandLine,
  startAgent,
  startHealthz,
  startObservability,
  subnetEnvValues,
  systemPorts,
  writeSubnetEnv,
  type AgentPorts,
  type AgentSettings,
  type AgentStatus,
  type HttpHandle,
  type RunningAgent,
  type WeftSettings,
} from '@weft/agent';
import { notifyReady } from './sd-notify.ts';

/** The system's ports; without the super-packet sender when it is forced off (the overlay then keeps its socket path). */
function agentPorts(superPackets: boolean): AgentPorts {
  const ports = systemPorts();
  if (!superPackets) delete ports.openSuperPacketSender;
  return ports;
}

/** Settings from argv and FLANNELD_* variables; or an exit code after --help, --version or a bad flag. */
function readCommandLine(argv: string[]): AgentSettings | number {
  try {
    const parsed = parseAgentCommandLine(argv, { hostname: hostname(), env: process.env });
    if (parsed.kind === 'help') process.stdout.write(`${parsed.text}\n${ENV_NOTE}`);
    if (parsed.kind === 'version') process.stdout.write(`weft ${WEFT_VERSION}\n`);
    return parsed.kind === 'run' ? parsed.settings : 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`weft agent: bad configuration: ${e.message}\n`);
    return 2;
  }
}

const ENV_NOTE = `Go flag syntax as flanneld's: -name, --name=value, --name value, booleans as --name or --name=true|false.
Every flanneld flag is also FLANNELD_<NAME> in the environment (a flag given on the command line wins).
`;

/** The loud warning of a default embedded store: other machines cannot see this node's lease. */
function warnEmbedded(settings: AgentSettings, argv: string[], log: Logger): void {
  if (settings.store.kind !== 'embedded' || argv.some((a) => /^--?store\b/.test(a))) return;
  const text = `no --etcd-endpoints or --store given: leases go to the embedded store ${settings.store.path}; nodes on other machines will NOT see this node's lease`;
  log.warn({ store: settings.store.path }, text);
  process.stderr.write(`weft agent: WARNING: ${text}\n`);
}

/** The route source is the one thing that differs between flannel mode and Calico mode: BGP, or null for leases. */
function bgpSource(extra: WeftSettings, nodeName: string): BgpRouteSource | null {
  if (extra.routeSync !== 'bgp') return null;
  const { bgpAs: as, bgpPort: port, bgpPeers, routeReflectors, bgpRouterId: routerId } = extra;
  const peers = [...bgpPeers];
  return new BgpRouteSource({ as, port, peers, routeReflectors: [...routeReflectors], routerId, nodeName });
}

/** /readyz answers 200 from now on, and systemd hears READY=1 (Type=notify). */
async function markReady(handles: HttpHandle[], log: Logger): Promise<void> {
  for (const h of handles) h.setReady(true);
  await notifyReady(process.env).catch((e: Error) => log.warn({ err: e.message }, 'systemd-notify failed'));
}

export async function agentCommand(argv: string[]): Promise<number> {
  const settings = readCommandLine(argv);
  if (typeof settings === 'number') return settings;
  const extra = settings.weft;
  const log = createLogger({ level: settings.logLevel, node: settings.nodeName });
  warnEmbedded(settings, argv, log);
  let agent: RunningAgent | undefined;
  let http: HttpHandle | undefined;
  let healthz: HttpHandle | undefined;
  const bgp = bgpSource(extra, settings.nodeName);
  const routes = bgp ?? new LeaseRouteSource();
  // The pcapng writer (@weft/explain) loads only with --pcap.
  const openCapture = extra.pcap ? (await import('./pcap-capture.ts')).pcapCapture(extra.pcap, log) : undefined;
  try {
    healthz = await startHealthz(settings.healthzPort, settings.healthzIp, log);
    const running = (agent = await startAgent(settings, log, {
      ports: agentPorts(extra.superPackets && process.env.WEFT_SUPER_PACKETS !== '0'),
      offloads: extra.offload,
      routes,
      openCapture,
    }));
    const lease = running.lease()!;
    const status = (): AgentStatus => ({ ...running.status(), ...(bgp ? { bgp: bgp.status() } : {}) });
    http = await startObservability(settings.metricsPort, status, log, settings.metricsIp);
    for (const h of [http, healthz]) h.setReadyCheck(running.notReady); // peers over --max-peers
    // Ready only now: routes and rules are in place (startAgent) and subnet.env is written.
    writeSubnetEnv(
      settings.subnetFile,
      subnetEnvValues(running.config, lease.subnet, running.network.mtu, settings.ipMasq, lease.ipv6Subnet),
    );
    await markReady([http, healthz], log);
    log.info({ subnetFile: settings.subnetFile }, 'ready');
    await waitForSignal(log);
    http.setReady(false);
    healthz.setReady(false);
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
    await healthz?.close();
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
