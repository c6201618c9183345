// @weft/agent: the daemon's control-plane parts (config, leases, FIB, subnet.env, metrics) and the backend contract.
export { ConfigError, parseNetConfig, validateNetConfig, subnetCount, BACKEND_TYPES, DEFAULT_PORTS, DEFAULT_VNI, MAX_VNI } from './config.ts';
export type { NetConfig, BackendConfig, BackendType } from './config.ts';
export { parseAgentArgs, DEFAULT_EMBEDDED_PATH, DEFAULT_ETCD_PREFIX, DEFAULT_SUBNET_FILE, DEFAULT_METRICS_PORT } from './settings.ts';
export type { AgentSettings, StoreSettings } from './settings.ts';
export { parseIp4, formatIp4, parseIp4Net, formatIp4Net, netContains, subnetKey, parseSubnetKey, maskOf } from './ip.ts';
export type { Ip4Net } from './ip.ts';
export {
  StoreUnavailableError, LeaseNotFoundError, RevisionCompactedError, NoFreeSubnetError, isOwnLease, parseLeaseAttrs,
} from './lease.ts';
export type { Lease, LeaseAttrs, LeaseEvent, LeaseBatch, LeaseSnapshot, LeaseStore, NodeIdentity } from './lease.ts';
export { LeaseWatcher } from './watcher.ts';
export { pickFreeSubnet, isLeasable } from './allocator.ts';
export { MemoryLeaseStore, type MemoryStoreOptions } from './stores/memory.ts';
export { SqliteLeaseStore, type SqliteStoreOptions } from './stores/sqlite.ts';
export { EtcdLeaseStore, type EtcdStoreOptions } from './stores/etcd.ts';
export { LeaseManager, type LeaseManagerOptions, type LeaseHandlers } from './lease-manager.ts';
export { createLogger, componentLogger, type LoggerOptions } from './log.ts';
// dataplane: forwarding table, backends, the daemon's wiring, observability
export { Fib } from './fib.ts';
export { subnetEnvValues, formatSubnetEnv, writeSubnetEnv, parseSubnetEnv, readSubnetEnv, previousSubnetFromEnv } from './subnet-env.ts';
export { createMetrics, startObservability, type AgentStatus, type HttpHandle } from './observability.ts';
export { startAgent, createNetwork, vtepMacFor, type RunningAgent, type DaemonExtras } from './dataplane/daemon.ts';
export { LeaseRouteSource, leaseEventsToChanges, type RouteSource, type RouteSourceContext } from './route-source.ts';
export { BgpRouteSource, type BgpSourceOptions } from './bgp-source.ts';
export { NativeNetwork } from './backends/native.ts';
export { OverlayNetwork, AgentDrop, DROP_NAMES } from './backends/overlay.ts';
export { flannelUdpFormat, vxlanFormat, type EncapFormat } from './backends/formats.ts';
export { ipBatch, RouteCommandError } from './backends/routes.ts';
export type { PeerChange, DataplaneNetwork, NetworkStatus } from './backends/types.ts';
export { CaptureSide, CaptureDirection, type PacketCapture } from './capture.ts';
export type { AgentPorts, TunPort, UdpPort, LinkProgrammer, SuperPacketPort } from './ports.ts';
export { systemPorts } from './system-ports.ts';
