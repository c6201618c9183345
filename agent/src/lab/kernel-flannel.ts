// A weft vxlan node beside a kernel flannel node, for the interop tests and the `mixed-vxlan` bench case. The
// kernel node has no agent: its lease is put into the store as its flanneld would have put it, and flannel.1 is
// programmed by hand the way flanneld's vxlan backend programs it (VNI 1, port 8472, nolearning, then per remote
// node a neighbour, an FDB entry and an onlink route). Every offload stays at its default.
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import type { Lab, LabNode } from '@weft/lab';
import { SqliteLeaseStore } from '@weft/agent';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { weftArgv, waitFor, httpGetIn, METRICS_PORT } from './lab-up.ts';

/** The kernel node's lease: its subnet, its VTEP address (the subnet's first address) and flannel.1's MAC. */
export const KERNEL_FLANNEL = { subnet: '10.244.200.0/24', vtepIp: '10.244.200.0', vtepMac: '02:00:0a:f4:c8:00' };
const NET_CONF = JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });

/** What the kernel node needs to know of the weft node: its lease and its VTEP. */
export interface WeftVtep {
  subnet: string;
  vtepIp: string;
  vtepMac: string;
  underlayIp: string;
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
  writeFileSync(netConf, NET_CONF);
  const store = new SqliteLeaseStore(db);
  try {
    await store.putConfig(NET_CONF);
    const attrs = {
      PublicIP: kernel.underlayIp,
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: KERNEL_FLANNEL.vtepMac },
    };
    if (!(await store.createLease(tryParseIpv4Prefix(KERNEL_FLANNEL.subnet)!, attrs, 3600_000)))
      throw new Error(`the kernel node's lease ${KERNEL_FLANNEL.subnet} is already taken in ${db}`);
  } finally {
    await store.close();
  }
  const envFile = join(dir, `${node.name}-subnet.env`);
  const argv = ['--net-config', netConf, '--public-ip', node.underlayIp, '--store', `embedded:${db}`];
  argv.push('--subnet-file', envFile, '--metrics-port', String(METRICS_PORT), '--node-name', node.name);
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
  return { subnet: lease.subnet, vtepIp, vtepMac: lease.vtepMac, underlayIp: node.underlayIp, status };
}

/**
 * flannel.1 on `kernel`, programmed for the weft node as flanneld would. Without `staticNeigh` the kernel ARPs
 * for weft's VTEP instead, its broadcasts sent to the all-zeros FDB entry's VTEP (the weft node).
 */
export async function programKernelFlannel(kernel: LabNode, weft: WeftVtep, staticNeigh = true): Promise<void> {
  await kernel.ns.ipBatch([
    `link add flannel.1 type vxlan id 1 dstport 8472 local ${kernel.underlayIp} dev eth0 nolearning`,
    `link set flannel.1 address ${KERNEL_FLANNEL.vtepMac} mtu 1450 up`,
    `addr add ${KERNEL_FLANNEL.vtepIp}/32 dev flannel.1`,
    ...(staticNeigh ? [`neigh replace ${weft.vtepIp} lladdr ${weft.vtepMac} dev flannel.1 nud permanent`] : []),
    `route replace ${weft.subnet} via ${weft.vtepIp} dev flannel.1 onlink`,
  ]);
  const macs = staticNeigh ? [weft.vtepMac] : [weft.vtepMac, '00:00:00:00:00:00'];
  for (const mac of macs)
    await kernel.ns.exec([
      'bridge',
      'fdb',
      'append',
      mac,
      'dev',
      'flannel.1',
      'dst',
      weft.underlayIp,
      'self',
      'permanent',
    ]);
}
