// The `mixed-vxlan` case: a weft vxlan node and a kernel flannel node (flannel.1 set up as flanneld's vxlan
// backend sets it up), every offload at its default: the speed of a cluster half-way through a migration.
// The client pod is on the weft node, the server pod on the kernel node.
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { Lab, type LabNode } from '@weft/lab';
import { SqliteLeaseStore } from '@weft/agent';
import { tryParseIpv4Prefix as parseIp4Net } from '@weft/netaddr';
import { weftArgv, waitFor, httpGetIn, METRICS_PORT } from 'weft/lab';
import type { PreparedCase } from './cases.ts';

const KERNEL_SUBNET = '10.244.200.0/24';
const KERNEL_MAC = '02:00:0a:f4:c8:00';
const NET_CONF = JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });

/** Starts the agent on `node` with the kernel node's lease already in the store (as its flanneld would put it). */
async function weftNode(lab: Lab, node: LabNode, kernel: LabNode): Promise<{ subnet: string; vtepMac: string }> {
  const dir = lab.scope.dir;
  const db = join(dir, 'leases.db');
  const netConf = join(dir, 'net-conf.json');
  writeFileSync(netConf, NET_CONF);
  const store = new SqliteLeaseStore(db);
  await store.putConfig(NET_CONF);
  await store.createLease(
    parseIp4Net(KERNEL_SUBNET)!,
    { PublicIP: kernel.underlayIp, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: KERNEL_MAC } },
    3600_000,
  );
  await store.close();
  const envFile = join(dir, 'subnet.env');
  const agent = lab.scope.spawn(
    'agent',
    node.ns,
    weftArgv(
      'agent',
      '--net-config',
      netConf,
      '--public-ip',
      node.underlayIp,
      '--store',
      `embedded:${db}`,
      '--subnet-file',
      envFile,
      '--metrics-port',
      String(METRICS_PORT),
      '--node-name',
      node.name,
    ),
  );
  await waitFor(
    () => {
      if (!agent.running) throw new Error(`agent exited:\n${agent.log()}`);
      return existsSync(envFile);
    },
    30_000,
    'the weft agent to write subnet.env',
  );
  const status = JSON.parse((await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!) as {
    lease: { subnet: string; vtepMac: string };
  };
  return status.lease;
}

/** flannel.1 on the kernel node, with the neighbour, FDB entry and route flanneld would program for the weft node. */
async function kernelNode(node: LabNode, weft: LabNode, lease: { subnet: string; vtepMac: string }): Promise<void> {
  const vtepIp = lease.subnet.split('/')[0]!;
  await node.ns.ipBatch([
    `link add flannel.1 type vxlan id 1 dstport 8472 local ${node.underlayIp} dev eth0 nolearning`,
    `link set flannel.1 address ${KERNEL_MAC} mtu 1450 up`,
    `addr add ${KERNEL_SUBNET.split('/')[0]}/32 dev flannel.1`,
    `neigh replace ${vtepIp} lladdr ${lease.vtepMac} dev flannel.1 nud permanent`,
    `route replace ${lease.subnet} via ${vtepIp} dev flannel.1 onlink`,
  ]);
  await node.ns.exec([
    'bridge',
    'fdb',
    'append',
    lease.vtepMac,
    'dev',
    'flannel.1',
    'dst',
    weft.underlayIp,
    'self',
    'permanent',
  ]);
}

export async function mixedVxlan(): Promise<PreparedCase> {
  const lab = await Lab.create({ name: 'bench-mixed-vxlan', nodes: 2 });
  try {
    const [a, b] = lab.nodes as [LabNode, LabNode];
    const lease = await weftNode(lab, a, b);
    await kernelNode(b, a, lease);
    await lab.addPods(a, lease.subnet, 1, 1450);
    await lab.addPods(b, KERNEL_SUBNET, 1, 1450);
    return {
      name: 'mixed-vxlan',
      endpoints: { client: a.pods[0]!.ns, server: b.pods[0]!.ns, serverIp: b.pods[0]!.ip },
      mtu: 1450,
      lab,
    };
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}
