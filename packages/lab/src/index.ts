// @weft/lab: network-namespace topologies for tests, benchmarks and demos. The public face is what the tests,
// benchmarks and the `weft lab` command use; address helpers and privilege probes stay internal.
export { run, runSync, haveCommand, CommandError, type RunOptions, type RunResult } from './exec.ts';
export {
  LabScope,
  Netns,
  BackgroundProcess,
  LabNameError,
  LAB_NETNS_PREFIX,
  listLabNamespaces,
  labOwner,
} from './netns.ts';
export { canRunPrivileged, canRunWith } from './privileges.ts';
export {
  tsharkFields,
  TSHARK_CHECK_CHECKSUMS,
  TSHARK_CHECKSUM_GOOD,
  type TsharkFieldsOptions,
} from './tshark.ts';
export { Lab, type TopologySpec, type LabNode, type LabPod } from './topology.ts';
