// @weft/lab: network-namespace topologies for tests, benchmarks and demos.
export { run, runSync, haveCommand, CommandError, type RunOptions, type RunResult } from './exec.ts';
export { LabScope, Netns, BackgroundProcess, LabNameError, LAB_NETNS_PREFIX, listLabNamespaces, labOwner } from './netns.ts';
export { canRunPrivileged, canRunWith, namespaceBlocker } from './privileges.ts';
export { Lab, ipv4Add, UNDERLAY_PREFIX, type TopologySpec, type LabNode, type LabPod } from './topology.ts';
