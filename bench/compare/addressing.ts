// The IPv4 addressing of the hand-built comparison labs, shared by the IPv4 and the dual-stack cases: node N owns
// 10.244.N.0/24, and its flannel.1 (as flanneld sets it up) has the subnet's first address and a MAC derived from N.
import type { LabNode } from '@weft/lab';
import type { FlannelVtep } from 'weft/lab/kernel-flannel';

/** Node n's pod subnet. */
export const SUBNET = (n: LabNode) => `10.244.${n.index}.0/24`;

/** Node n's flannel.1 MAC. */
export const vtepMac = (n: LabNode) => `02:00:0a:f4:${n.index.toString(16).padStart(2, '0')}:00`;

/** Node n's flannel.1 VTEP: underlay address, subnet, the subnet's first address, MAC. */
export const flannelVtep = (n: LabNode): FlannelVtep => ({
  underlayIp: n.underlayIp,
  subnet: SUBNET(n),
  vtepIp: `10.244.${n.index}.0`,
  vtepMac: vtepMac(n),
});
