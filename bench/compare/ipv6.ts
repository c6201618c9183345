// The IPv6 twins of the pod-traffic cases: the same two-node topology, with an IPv6 underlay beside the IPv4 one
// (2001:db8::1N/64 on each node's eth0, as dual-stack labs have it) and dual-stack pods, measured over IPv6.
//   kernel-vxlan-v6: no weft; flannel.1 and flannel-v6.1 programmed by hand the way flanneld's vxlan backend
//                    programs a dual-stack node (an IPv6 VTEP over the IPv6 underlay, static neighbour, FDB entry
//                    and onlink route per peer); pods at flannel-v6.1's MTU (1430: the IPv6 outer header is 20
//                    bytes longer than IPv4's).
//   weft-native-v6:  weft agents on a dual-stack lab, host-gw routes of both families.
//   weft-vxlan-v6:   the same with the vxlan backend (VXLAN over the IPv6 underlay, as flannel-v6.1 sends it).
//   weft-udp-v6:     the same with the udp backend (flannel-udp over the IPv6 underlay).
// A weft case is unavailable (not a failure) while the agent reports that it does not forward IPv6
// (/status ipv6.forwarded false).
import { Lab, type LabNode } from '@weft/lab';
import { httpGetIn, labUp, METRICS_PORT } from 'weft/lab';
import { FLANNEL_DEVICE, appendFdb, flannelVxlanLines } from 'weft/lab/kernel-flannel';
import { SUBNET, flannelVtep, vtepMac } from './addressing.ts';
import type { Endpoints } from './measure.ts';

export const IPV6_CASE_NAMES = ['kernel-vxlan-v6', 'weft-native-v6', 'weft-vxlan-v6', 'weft-udp-v6'] as const;
export type Ipv6CaseName = (typeof IPV6_CASE_NAMES)[number];

/** The IPv4 case each IPv6 case is the twin of. */
export const IPV4_TWIN: Record<Ipv6CaseName, string> = {
  'kernel-vxlan-v6': 'kernel-vxlan',
  'weft-native-v6': 'weft-native',
  'weft-vxlan-v6': 'weft-vxlan',
  'weft-udp-v6': 'weft-udp',
};

/** A case that cannot be measured on this build (a dataplane not there yet): reported, not a failure. */
export class CaseUnavailableError extends Error {
  override name = 'CaseUnavailableError';
}

export interface PreparedIpv6Case {
  name: string;
  endpoints: Endpoints;
  mtu: number;
  lab: Lab;
}

const SUBNET6 = (n: LabNode) => `fd00:10:244:${n.index.toString(16)}::/64`;
/** The subnet's first address (IPv6 VTEP), as flanneld gives flannel-v6.1. */
const VTEP6 = (n: LabNode) => `fd00:10:244:${n.index.toString(16)}::`;
const UNDERLAY6 = (n: LabNode) => `2001:db8::${10 + n.index}`;
const vtepMac6 = (n: LabNode) => `02:00:fd:00:${n.index.toString(16).padStart(2, '0')}:06`;
const KERNEL_MTU6 = 1430;

function endpoints6(lab: Lab): Endpoints {
  const server = lab.nodes[1]!.pods[0]!;
  if (!server.ip6) throw new Error(`pod ${server.name} has no IPv6 address`);
  return { client: lab.nodes[0]!.pods[0]!.ns, server: server.ns, serverIp: server.ip6 };
}

/** flannel.1 (IPv4) and flannel-v6.1 (IPv6) on `self` towards `peer`, as flanneld programs a dual-stack node. */
async function programDualStackVxlan(self: LabNode, peer: LabNode): Promise<void> {
  const vtep6 = (n: LabNode) => ({
    underlayIp: UNDERLAY6(n),
    subnet: SUBNET6(n),
    vtepIp: VTEP6(n),
    vtepMac: vtepMac6(n),
  });
  await self.ns.ipBatch([
    ...flannelVxlanLines(4, flannelVtep(self), flannelVtep(peer)),
    ...flannelVxlanLines(6, vtep6(self), vtep6(peer)),
  ]);
  await appendFdb(self, FLANNEL_DEVICE[4], vtepMac(peer), peer.underlayIp);
  await appendFdb(self, FLANNEL_DEVICE[6], vtepMac6(peer), UNDERLAY6(peer));
}

/** Gives the node's cni0 and its first pod their IPv6 addresses (the bridge holds the subnet's ::1). */
async function addPodIpv6(node: LabNode): Promise<void> {
  const base = VTEP6(node);
  await node.ns.ip(['addr', 'add', `${base}1/64`, 'dev', 'cni0', 'nodad']);
  const pod = node.pods[0]!;
  await pod.ns.ipBatch([`addr add ${base}2/64 dev eth0 nodad`, `route add default via ${base}1`]);
  pod.ip6 = `${base}2`;
  node.subnet6 = SUBNET6(node);
}

/** The kernel's vxlan driver, dual stack the flannel way; measured over flannel-v6.1. */
async function kernelVxlan6(labName: string): Promise<PreparedIpv6Case> {
  const lab = await Lab.create({ name: labName, nodes: 2 });
  try {
    const [a, b] = lab.nodes as [LabNode, LabNode];
    for (const n of [a, b]) {
      await n.ns.ip(['addr', 'add', `${UNDERLAY6(n)}/64`, 'dev', 'eth0', 'nodad']);
      await n.ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      n.underlayIp6 = UNDERLAY6(n);
    }
    await programDualStackVxlan(a, b);
    await programDualStackVxlan(b, a);
    for (const n of [a, b]) {
      await lab.addPods(n, SUBNET(n), 1, KERNEL_MTU6);
      await addPodIpv6(n);
    }
    return { name: 'kernel-vxlan-v6', endpoints: endpoints6(lab), mtu: KERNEL_MTU6, lab };
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}

/** weft agents on a dual-stack lab; throws CaseUnavailableError when the backend does not forward IPv6. */
async function weft6(
  name: Ipv6CaseName,
  labName: string,
  backend: 'vxlan' | 'udp' | 'native',
): Promise<PreparedIpv6Case> {
  const run = await labUp({
    name: labName,
    nodes: 2,
    pods: 1,
    backend,
    routeSync: 'lease',
    store: 'embedded',
    families: 'dual-stack',
  });
  try {
    const body = await httpGetIn(run.lab.nodes[0]!.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
    const ipv6 = body ? (JSON.parse(body) as { ipv6?: { forwarded?: boolean; reason?: string } }).ipv6 : undefined;
    if (!ipv6?.forwarded)
      throw new CaseUnavailableError(
        `weft's ${backend} backend does not forward IPv6 pod traffic on this build (/status ipv6: ${JSON.stringify(ipv6 ?? null)})`,
      );
    const client = run.lab.nodes[0]!.pods[0]!;
    const link = (await client.ns.ip(['-json', 'link', 'show', 'eth0'])).stdout;
    const mtu = (JSON.parse(link) as { mtu: number }[])[0]!.mtu;
    return { name, endpoints: endpoints6(run.lab), mtu, lab: run.lab };
  } catch (e) {
    await run.lab.teardown();
    throw e;
  }
}

/** Sets up the IPv6 case `name` in a lab called `labName`. */
export function prepareIpv6Case(name: Ipv6CaseName, labName: string): Promise<PreparedIpv6Case> {
  switch (name) {
    case 'kernel-vxlan-v6':
      return kernelVxlan6(labName);
    case 'weft-native-v6':
      return weft6(name, labName, 'native');
    case 'weft-vxlan-v6':
      return weft6(name, labName, 'vxlan');
    case 'weft-udp-v6':
      return weft6(name, labName, 'udp');
  }
}
