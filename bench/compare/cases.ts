// The dataplanes compared, each set up on the same two-node lab topology (one pod per node):
// weft's backends through real agents, and three references built by hand the way their users build them.
import { Lab, type LabNode } from '@weft/lab';
import { labUp } from 'weft/lab';
import { FLANNEL_DEVICE, appendFdb, flannelVxlanLines } from 'weft/lab/kernel-flannel';
import { SUBNET, flannelVtep, vtepMac } from './addressing.ts';
import { OPENVPN_FAST, openvpnArgv } from '../lib/openvpn.ts';
import type { Endpoints } from './measure.ts';
import { mixedVxlan } from './mixed.ts';
import { IPV6_CASE_NAMES, prepareIpv6Case, type Ipv6CaseName } from './ipv6.ts';

export { CaseUnavailableError, IPV4_TWIN, IPV6_CASE_NAMES } from './ipv6.ts';

export interface PreparedCase {
  name: string;
  endpoints: Endpoints;
  /** Pod MTU in effect. */
  mtu: number;
  lab: Lab;
}

export const CASE_NAMES = [
  'weft-udp',
  'weft-vxlan',
  'weft-vxlan-split',
  'weft-native',
  'weft-native-bgp',
  'kernel-vxlan',
  'mixed-vxlan',
  'plain',
  'openvpn',
  ...IPV6_CASE_NAMES,
] as const;
export type CaseName = (typeof CASE_NAMES)[number];

/** Labs are named PREFIX-CASE (default prefix `bench`; `--lab-prefix` keeps parallel runs apart). */
let labPrefix = 'bench';
export function setLabPrefix(prefix: string): void {
  labPrefix = prefix;
}
const labName = (name: string) => `${labPrefix}-${name}`;

function endpoints(lab: Lab): Endpoints {
  const [a, b] = lab.nodes as [LabNode, LabNode];
  return { client: a.pods[0]!.ns, server: b.pods[0]!.ns, serverIp: b.pods[0]!.ip };
}

async function handBuilt(
  name: string,
  mtu: number,
  wire: (lab: Lab, a: LabNode, b: LabNode) => Promise<void>,
): Promise<PreparedCase> {
  const lab = await Lab.create({ name: labName(name), nodes: 2 });
  try {
    const [a, b] = lab.nodes as [LabNode, LabNode];
    await wire(lab, a, b);
    for (const n of [a, b]) await lab.addPods(n, SUBNET(n), 1, mtu);
    return { name, endpoints: endpoints(lab), mtu, lab };
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}

/** Plain routing, no tunnel: each node routes the other's pod subnet via its underlay address (the floor). */
const plain = () =>
  handBuilt('plain', 1500, async (_lab, a, b) => {
    await a.ns.ip(['route', 'add', SUBNET(b), 'via', b.underlayIp]);
    await b.ns.ip(['route', 'add', SUBNET(a), 'via', a.underlayIp]);
  });

/** The kernel's vxlan driver configured the way flannel's vxlan backend does it. */
const kernelVxlan = () =>
  handBuilt('kernel-vxlan', 1450, async (_lab, a, b) => {
    for (const [self, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      await self.ns.ipBatch(flannelVxlanLines(4, flannelVtep(self), flannelVtep(peer)));
      await appendFdb(self, FLANNEL_DEVICE[4], vtepMac(peer), peer.underlayIp);
    }
  });

/** OpenVPN 2.6 peer-to-peer over UDP with no cipher and no auth: a C userspace TUN tunnel. */
const openvpn = () =>
  handBuilt('openvpn', 1472, async (lab, a, b) => {
    for (const [self, peer, local, remote] of [
      [a, b, '10.8.0.1', '10.8.0.2'],
      [b, a, '10.8.0.2', '10.8.0.1'],
    ] as const) {
      const peerOf = { local: self.underlayIp, remote: peer.underlayIp, tunLocal: local, tunRemote: remote };
      lab.scope.spawn(`openvpn-${self.name}`, self.ns, openvpnArgv(peerOf, 1472, 1, OPENVPN_FAST));
    }
    for (const [self, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const deadline = Date.now() + 15_000;
      while ((await self.ns.ip(['link', 'show', 'tun0'], { allowFailure: true })).code !== 0) {
        if (Date.now() > deadline) throw new Error(`openvpn on ${self.name} did not create tun0`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await self.ns.ip(['route', 'add', SUBNET(peer), 'dev', 'tun0']);
    }
  });

/** weft agents on a two-node lab with the embedded store (`agentArgs`: extra `weft agent` flags). */
async function weft(
  name: CaseName,
  backend: 'udp' | 'vxlan' | 'native',
  routeSync: 'lease' | 'bgp',
  agentArgs: string[] = [],
): Promise<PreparedCase> {
  const run = await labUp({
    name: labName(name),
    nodes: 2,
    pods: 1,
    backend,
    routeSync,
    store: 'embedded',
    agentArgs,
  });
  const mtu = (await run.lab.nodes[0]!.pods[0]!.ns.ip(['-json', 'link', 'show', 'eth0'])).stdout;
  return { name, endpoints: endpoints(run.lab), mtu: (JSON.parse(mtu) as { mtu: number }[])[0]!.mtu, lab: run.lab };
}

export function prepareCase(name: CaseName): Promise<PreparedCase> {
  switch (name) {
    case 'plain':
      return plain();
    case 'kernel-vxlan':
      return kernelVxlan();
    case 'mixed-vxlan':
      return mixedVxlan(labName(name));
    case 'openvpn':
      return openvpn();
    case 'weft-udp':
      return weft(name, 'udp', 'lease');
    case 'weft-vxlan':
      return weft(name, 'vxlan', 'lease');
    // The same with the super-packet send path forced off: segments cut in userspace, sent from UDP sockets.
    case 'weft-vxlan-split':
      return weft(name, 'vxlan', 'lease', ['--no-super-packets']);
    case 'weft-native':
      return weft(name, 'native', 'lease');
    case 'weft-native-bgp':
      return weft(name, 'native', 'bgp');
    default:
      return prepareIpv6Case(name as Ipv6CaseName, labName(name));
  }
}
