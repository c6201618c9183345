// @weft/agent: the node agent as the `weft` command runs it. The public face is what the CLI, the lab and the root
// tests use: settings and startAgent with its ports (systemPorts() for a real node), the route sources (lease
// watching, BGP), the capture interface, status and metrics over HTTP, subnet.env, and the errors that can escape.
// The parts (config, leases, stores, FIB, backends) stay internal; the package's own tests reach them directly.
export { ConfigError, type NetConfig } from './config.ts';
export {
  parseAgentArgs,
  parseAgentCommandLine,
  DEFAULT_METRICS_PORT,
  type AgentCommandLine,
  type AgentSettings,
  type EtcdTlsSettings,
  type StoreSettings,
  type WeftSettings,
} from './settings.ts';
export { AGENT_FLAGS, envName, type FlagSpec } from './flags.ts';
export { cliProgram, parseCli, type CliParse } from './cli.ts';
export { selectUnderlay, systemIfaceFacts, type IfaceFacts, type HostLink, type Underlay } from './iface-select.ts';
export {
  StoreUnavailableError,
  LeaseNotFoundError,
  RevisionCompactedError,
  NoFreeSubnetError,
  type Lease,
  type LeaseAttrs,
  type LeaseStore,
} from './lease.ts';
export { SqliteLeaseStore, type SqliteStoreOptions } from './stores/sqlite.ts';
export type { LeaseManager } from './lease-manager.ts';
export { createLogger, type LoggerOptions } from './log.ts';
export { subnetEnvValues, writeSubnetEnv, readSubnetEnv } from './subnet-env.ts';
export { startObservability, startHealthz, type AgentStatus, type HttpHandle } from './observability.ts';
export { WEFT_VERSION } from './version.ts';
export { startAgent, type RunningAgent, type DaemonExtras } from './dataplane/daemon.ts';
export { LeaseRouteSource, type RouteSource, type RouteSourceContext } from './route-source.ts';
export { BgpRouteSource, type BgpSourceOptions } from './bgp-source.ts';
export { RouteCommandError } from './backends/routes.ts';
export type { PeerChange, DataplaneNetwork, NetworkStatus } from './backends/types.ts';
export { CaptureSide, CaptureDirection, type PacketCapture } from './capture.ts';
export type { AgentPorts, TunPort, UdpPort, LinkProgrammer, SuperPacketPort, InterfaceInfo } from './ports.ts';
export { systemPorts } from './system-ports.ts';
