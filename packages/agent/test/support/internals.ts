// The package's parts for its own tests: the public face (src/index.ts) plus what stays internal to @weft/agent.
export * from '../../src/index.ts';
export {
  parseNetConfig,
  validateNetConfig,
  subnetCount,
  BACKEND_TYPES,
  DEFAULT_PORTS,
  DEFAULT_VNI,
  MAX_VNI,
} from '../../src/config.ts';
export type { BackendConfig, BackendType } from '../../src/config.ts';
export { DEFAULT_EMBEDDED_PATH, DEFAULT_ETCD_PREFIX, DEFAULT_SUBNET_FILE } from '../../src/settings.ts';
export { subnetKey, parseSubnetKey, leaseKey, parseLeaseKey, NO_IPV4_SUBNET } from '../../src/subnet-key.ts';
export { isOwnLease, parseLeaseAttrs } from '../../src/lease.ts';
export type { LeaseEvent, LeaseBatch, LeaseSnapshot, NodeIdentity } from '../../src/lease.ts';
export { LeaseWatcher } from '../../src/watcher.ts';
export { pickFreeSubnet, isLeasable, pickFreeIpv6Subnet, pickFreeSubnets, fitsConfig } from '../../src/allocator.ts';
export { MemoryLeaseStore, type MemoryStoreOptions } from '../../src/stores/memory.ts';
export { EtcdLeaseStore, type EtcdStoreOptions } from '../../src/stores/etcd.ts';
export {
  StoreCredentialError,
  classifyEtcdError,
  type EtcdTlsFiles,
  type EtcdAuth,
} from '../../src/stores/etcd-credentials.ts';
export { LeaseManager, type LeaseManagerOptions, type LeaseHandlers } from '../../src/lease-manager.ts';
export { componentLogger } from '../../src/log.ts';
export { Fib } from '../../src/fib.ts';
export {
  formatSubnetEnv,
  parseSubnetEnv,
  previousSubnetFromEnv,
  previousIpv6SubnetFromEnv,
} from '../../src/subnet-env.ts';
export { createMetrics } from '../../src/observability.ts';
export { createNetwork, vtepMacFor } from '../../src/dataplane/daemon.ts';
export { leaseEventsToChanges } from '../../src/route-source.ts';
export { NativeNetwork } from '../../src/backends/native.ts';
export { OverlayNetwork, AgentDrop, DROP_NAMES } from '../../src/backends/overlay.ts';
export { flannelUdpFormat, vxlanFormat, type EncapFormat } from '../../src/backends/formats.ts';
export { ipBatch } from '../../src/backends/routes.ts';
export { FileChangeWake } from '../../src/stores/file-wake.ts';
