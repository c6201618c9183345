// The lab most end-to-end IPv6 and BGP tests bring up: two nodes with one pod each, leases in the embedded store.
import type { LabOptions } from 'weft/lab';

/** labUp's options for two nodes with one pod each on the embedded store; `o` gives the rest. */
export function twoNodeLab(o: Omit<LabOptions, 'nodes' | 'pods' | 'store'>): LabOptions {
  return { nodes: 2, pods: 1, store: 'embedded', ...o };
}
