// A weft vxlan node beside a kernel flannel node, for the interop tests and the `mixed-vxlan` bench case. The
// kernel node has no agent: its lease is put into the store as its flanneld would have put it, and flannel.1 is
// programmed by hand the way flanneld's vxlan backend programs it (VNI 1, port 8472, nolearning, then per remote
// node a neighbour, an FDB entry and an onlink route). Every offload stays at its default. Dual stack adds the
// IPv6 half as flanneld does: the lease's IPv6 subnet, PublicIPv6 and BackendV6Data, and flannel-v6.1 (its own MAC,
// VXLAN over the IPv6 underlay, the same static neighbour/FDB/onlink route in IPv6).
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import type { Lab, LabNode } from '@weft/lab';
import { SqliteLeaseStore } from '@weft/agent';
import { formatIpv6, parseIpv6Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import { weftArgv, waitFor, httpGetIn, METRICS_PORT } from './lab-up.ts';

/** The kernel node's lease: its subnet, its VTEP address (the subnet's first address) and flannel.1's MAC. */
export const KERNEL_FLANNEL = { subnet: '10.244.200.0/24', vtepIp: '10.244.200.0', vtepMac: '02:00:0a:f4:c8:00' };
/** The kernel node's IPv6 side (dual stack): subnet, flannel-v6.1's address (the subnet's first) and MAC. */
export const KERNEL_FLANNEL6 = {
  subnet: 'fd00:10:244:c8::/64',
  vtepIp: 'fd00:10:244:c8::',
  vtepMac: '02:00:0a:f4:c8:06',
};
const NET_CONF = JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
const NET_CONF_DUAL = JSON.stringify({
  Network: '10.244.0.0/16',
  EnableIPv6: true,
  IPv6Network: 'fd00:10:244::/56',
  Backend: { Type: 'vxlan' },
});

/** What the kernel node needs to know of the weft node: its lease and its VTEP. */
export interface WeftVtep {
  subnet: string;
  vtepIp: string;
  vtepMac: string;
  underlayIp: string;
  /** Dual stack: the weft node's IPv6 subnet, IPv6 VTEP address and MAC, and IPv6 underlay address. */
  v6?: { subnet: string; vtepIp: string; vtepMac: string; underlayIp: string };
  /** The agent's /status, parsed. */
  status(): Promise<unknown>;
}

/**
 * Seeds the embedded store with the kernel node's lease, starts `weft agent` (vxlan, plus `extraArgs`) on `node`,
 * and waits for its subnet.env. Throws with the agent's log when it exits early.
 */
export async function startWeftBesideKernel(
  lab: Lab,
  node: LabNode,
  kernel: LabNode,
  extraArgs: readonly string[] = [],
): Promise<WeftVtep> {
  const dir = lab.scope.dir;
  const db = join(dir, 'leases.db');
  const netConf = join(dir, 'net-conf.json');
  const dual = node.underlayIp6 !== undefined && kernel.underlayIp6 !== undefined;
  const conf = dual ? NET_CONF_DUAL : NET_CONF;
  writeFileSync(netConf, conf);
  const store = new SqliteLeaseStore(db);
  try {
    await store.putConfig(conf);
    const attrs = {
      PublicIP: kernel.underlayIp,
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: KERNEL_FLANNEL.vtepMac },
      ...(dual && { PublicIPv6: kernel.underlayIp6, BackendV6Data: { VNI: 1, VtepMAC: KERNEL_FLANNEL6.vtepMac } }),
    };
    const v6 = dual ? parseIpv6Prefix(KERNEL_FLANNEL6.subnet) : undefined;
    if (!(await store.createLease(tryParseIpv4Prefix(KERNEL_FLANNEL.subnet)!, attrs, 3600_000, v6)))
      throw new Error(`the kernel node's lease ${KERNEL_FLANNEL.subnet} is already taken in ${db}`);
  } finally {
    await store.close();
  }
  const envFile = join(dir, `${node.name}-subnet.env`);
  const argv = ['--net-config', netConf, '--public-ip', node.underlayIp, '--store', `embedded:${db}`];
  argv.push('--subnet-file', envFile, '--metrics-port', String(METRICS_PORT), '--node-name', node.name);
  if (dual) argv.push('--public-ipv6', node.underlayIp6!);
  const agent = lab.scope.spawn(`agent-${node.name}`, node.ns, weftArgv('agent', ...argv, ...extraArgs));
  await waitFor(
    () => {
      if (!agent.running) throw new Error(`agent exited:\n${agent.log()}`);
      return existsSync(envFile);
    },
    30_000,
    'the weft agent to write subnet.env',
  );
  const status = async (): Promise<unknown> =>
    JSON.parse((await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!);
  const lease = ((await status()) as { lease: { subnet: string; vtepMac: string } }).lease;
  const vtepIp = lease.subnet.split('/')[0]!;
  const v6 = dual ? await weftIpv6Vtep(db, node) : undefined;
  return { subnet: lease.subnet, vtepIp, vtepMac: lease.vtepMac, underlayIp: node.underlayIp, status, v6 };
}

/** The weft node's IPv6 side as its lease has it (IPv6 subnet, BackendV6Data.VtepMAC), read back from the store. */
async function weftIpv6Vtep(db: string, node: LabNode): Promise<WeftVtep['v6']> {
  const store = new SqliteLeaseStore(db);
  try {
    const mine = (await store.listLeases()).leases.find((l) => l.attrs.NodeName === node.name);
    const data = mine?.attrs.BackendV6Data as { VtepMAC?: string } | undefined;
    if (!mine?.ipv6Subnet || !data?.VtepMAC) throw new Error(`${node.name}: no dual-stack lease with BackendV6Data`);
    const vtepIp = formatIpv6(mine.ipv6Subnet.ip);
    const subnet = `${vtepIp}/${mine.ipv6Subnet.prefixLen}`;
    return { subnet, vtepIp, vtepMac: data.VtepMAC, underlayIp: node.underlayIp6! };
  } finally {
    await store.close();
  }
}

/**
 * flannel-v6.1 on `kernel`, programmed for the weft node's IPv6 side as flanneld's vxlan backend does it: VNI 1,
 * port 8472, the IPv6 underlay, nolearning, MTU 20 bytes under flannel.1's; a permanent neighbour for weft's IPv6
 * VTEP, an FDB entry to weft's IPv6 underlay address, an onlink route to weft's IPv6 subnet.
 */
export async function programKernelFlannel6(kernel: LabNode, weft: WeftVtep): Promise<void> {
  const v6 = weft.v6;
  if (!v6 || !kernel.underlayIp6) throw new Error('programKernelFlannel6 needs a dual-stack lab and weft node');
  const self = { underlayIp: kernel.underlayIp6, ...KERNEL_FLANNEL6 };
  await kernel.ns.ipBatch(flannelVxlanLines(6, self, v6));
  await appendFdb(kernel, FLANNEL_DEVICE[6], v6.vtepMac, v6.underlayIp);
}

/**
 * IPv6 for the pods lab.addPods gave `node`: cni0 gets the IPv6 subnet's ::1, pod J its ::(J+1), with an IPv6
 * default route via cni0 (what the CNI chain would do for a dual-stack subnet.env). Sets each pod's `ip6`.
 */
export async function addPodsIpv6(node: LabNode, subnet6: string): Promise<void> {
  const [base, len] = subnet6.split('/') as [string, string];
  const gw = `${base}1`;
  node.subnet6 = subnet6;
  await node.ns.ip(['addr', 'add', `${gw}/${len}`, 'dev', 'cni0', 'nodad']);
  for (const [j, pod] of node.pods.entries()) {
    pod.ip6 = `${base}${(j + 2).toString(16)}`;
    await pod.ns.ipBatch([`addr add ${pod.ip6}/${len} dev eth0 nodad`, `route add ::/0 via ${gw}`]);
  }
}

/**
 * flannel.1 on `kernel`, programmed for the weft node as flanneld would. Without `staticNeigh` the kernel ARPs
 * for weft's VTEP instead, its broadcasts sent to the all-zeros FDB entry's VTEP (the weft node).
 */
export async function programKernelFlannel(kernel: LabNode, weft: WeftVtep, staticNeigh = true): Promise<void> {
  const self = { underlayIp: kernel.underlayIp, ...KERNEL_FLANNEL };
  await kernel.ns.ipBatch(flannelVxlanLines(4, self, weft, staticNeigh));
  const macs = staticNeigh ? [weft.vtepMac] : [weft.vtepMac, '00:00:00:00:00:00'];
  for (const mac of macs) await appendFdb(kernel, FLANNEL_DEVICE[4], mac, weft.underlayIp);
}

/** One end of flanneld's vxlan backend in one family: underlay address, VTEP (its subnet's first address), MAC. */
export interface FlannelVtep {
  underlayIp: string;
  subnet: string;
  vtepIp: string;
  vtepMac: string;
}

/** flanneld's vxlan device per family. */
export const FLANNEL_DEVICE = { 4: 'flannel.1', 6: 'flannel-v6.1' } as const;

/**
 * The `ip -batch` lines flanneld's vxlan backend leaves on node `self` for `peer` in one family: the device (VNI 1,
 * port 8472 on the underlay address, nolearning; MTU 1450, or 1430 over IPv6) with our VTEP address and MAC, the
 * peer's VTEP as a permanent neighbour (left out when `staticNeigh` is false) and the peer's subnet via it, onlink.
 */
export function flannelVxlanLines(
  family: 4 | 6,
  self: Omit<FlannelVtep, 'subnet'>,
  peer: Omit<FlannelVtep, 'underlayIp'>,
  staticNeigh = true,
): string[] {
  const dev = FLANNEL_DEVICE[family];
  const [mtu, addr] =
    family === 4 ? [1450, `${self.vtepIp}/32 dev ${dev}`] : [1430, `${self.vtepIp}/128 dev ${dev} nodad`];
  return [
    `link add ${dev} type vxlan id 1 dstport 8472 local ${self.underlayIp} dev eth0 nolearning`,
    `link set ${dev} address ${self.vtepMac} mtu ${mtu} up`,
    `addr add ${addr}`,
    ...(staticNeigh ? [`neigh replace ${peer.vtepIp} lladdr ${peer.vtepMac} dev ${dev} nud permanent`] : []),
    `route replace ${peer.subnet} via ${peer.vtepIp} dev ${dev} onlink`,
  ];
}

/** flanneld's static FDB entry on `node`: frames to `mac` on `dev` go to the VTEP at underlay address `dst`. */
export async function appendFdb(node: LabNode, dev: string, mac: string, dst: string): Promise<void> {
  await node.ns.exec(['bridge', 'fdb', 'append', mac, 'dev', dev, 'dst', dst, 'self', 'permanent']);
}
