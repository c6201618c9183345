// Wire compatibility: one node runs weft's userspace vxlan backend, the other the Linux kernel vxlan driver set
// up exactly as flanneld's vxlan backend sets it up (flannel.1, VNI 1, port 8472, nolearning, static
// neigh/fdb/onlink route), every offload at its default. Pods on the two nodes ping and move data both ways (bulk
// and small writes, checked end to end), with the kernel pod's tx checksumming at its default and off; then the
// kernel resolves our VTEP address with ARP across the tunnel and weft answers it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { Lab, canRunWith, type LabNode } from '@weft/lab';
import { SqliteLeaseStore } from '@weft/agent';
import { tryParseIpv4Prefix as parseIp4Net } from '@weft/netaddr';
import { weftArgv, waitFor, httpGetIn, METRICS_PORT } from 'weft/lab';
import { tcpTransfer } from './support/transfer.ts';

const KERNEL_SUBNET = '10.244.200.0/24';
const KERNEL_VTEP = '10.244.200.0';
const KERNEL_MAC = '02:00:0a:f4:c8:00';
const MB = 1024 * 1024;

interface WeftSide {
  subnet: string;
  vtepIp: string;
  vtepMac: string;
}

async function startWeftNode(lab: Lab, node: LabNode, extra: string[]): Promise<WeftSide> {
  const dir = lab.scope.dir;
  const db = join(dir, 'leases.db');
  const netConf = join(dir, 'net-conf.json');
  writeFileSync(netConf, JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }));
  // The kernel node has no agent: publish its lease the way its flanneld would have (PublicIP, VtepMAC).
  const store = new SqliteLeaseStore(db);
  await store.putConfig(JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }));
  const attrs = { PublicIP: '192.0.2.12', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: KERNEL_MAC } };
  assert.ok(await store.createLease(parseIp4Net(KERNEL_SUBNET)!, attrs, 3600_000), 'kernel node lease stored');
  await store.close();
  const envFile = join(dir, 'n1-subnet.env');
  const agent = lab.scope.spawn(
    'agent-n1',
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
      'n1',
      ...extra,
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
  return { subnet: status.lease.subnet, vtepIp: status.lease.subnet.split('/')[0]!, vtepMac: status.lease.vtepMac };
}

/** flannel's vxlan backend, by hand: the device, then per remote node a neighbour, an FDB entry and a route. */
async function kernelVtep(node: LabNode, weft: WeftSide, staticNeigh: boolean): Promise<void> {
  await node.ns.ipBatch([
    `link add flannel.1 type vxlan id 1 dstport 8472 local ${node.underlayIp} dev eth0 nolearning`,
    `link set flannel.1 address ${KERNEL_MAC} mtu 1450 up`,
    `addr add ${KERNEL_VTEP}/32 dev flannel.1`,
    ...(staticNeigh ? [`neigh replace ${weft.vtepIp} lladdr ${weft.vtepMac} dev flannel.1 nud permanent`] : []),
    `route replace ${weft.subnet} via ${weft.vtepIp} dev flannel.1 onlink`,
  ]);
  await node.ns.exec([
    'bridge',
    'fdb',
    'append',
    weft.vtepMac,
    'dev',
    'flannel.1',
    'dst',
    '192.0.2.11',
    'self',
    'permanent',
  ]);
  // Without a static neighbour the kernel ARPs; broadcasts go to the all-zeros FDB entry's VTEP.
  if (!staticNeigh)
    await node.ns.exec([
      'bridge',
      'fdb',
      'append',
      '00:00:00:00:00:00',
      'dev',
      'flannel.1',
      'dst',
      '192.0.2.11',
      'self',
      'permanent',
    ]);
}

/** The kernel pod's tx checksumming: at its default (on: partial checksums cross the veth), or off. */
type KernelTx = 'default' | 'tx-off';
/** weft's own offloads: at their default (vnet header, super-packets whole) or off (segmented in the addon). */
type WeftOffload = 'default' | 'no-offload';

async function withTopology(
  staticNeigh: boolean,
  kernelTx: KernelTx,
  body: (lab: Lab, weft: WeftSide) => Promise<void>,
  weftOffload: WeftOffload = 'default',
): Promise<void> {
  const name = !staticNeigh ? 'arp' : weftOffload === 'no-offload' ? 'nooff' : kernelTx === 'default' ? 'on' : 'off';
  const lab = await Lab.create({ name: `h4-akv-${name}`, nodes: 2 });
  try {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    const weft = await startWeftNode(lab, n1, weftOffload === 'no-offload' ? ['--no-offload'] : []);
    await kernelVtep(n2, weft, staticNeigh);
    await lab.addPods(n1, weft.subnet, 1, 1450);
    await lab.addPods(n2, KERNEL_SUBNET, 1, 1450);
    // Every offload stays at its default: over a veth the kernel VTEP sends whole UDP-tunnel GSO super-packets
    // with partial inner checksums, and weft must take them as they come. The second setting has the kernel
    // pod finish its own checksums (tx off), as some hosts do: both must work.
    if (kernelTx === 'tx-off') await n2.pods[0]!.ns.exec(['ethtool', '-K', 'eth0', 'tx', 'off']);
    await body(lab, weft);
  } finally {
    await lab.teardown();
  }
}

async function weftStatus(lab: Lab): Promise<{ counters: Record<string, number>; drops: Record<string, number> }> {
  return JSON.parse((await httpGetIn(lab.nodes[0]!.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!);
}

/** Ping both ways, a full-size DF packet, then bulk and small-write TCP both ways with end-to-end SHA-256. */
async function pingAndTransfers(lab: Lab, bulk = 200 * MB): Promise<void> {
  const weftPod = lab.nodes[0]!.pods[0]!;
  const kernelPod = lab.nodes[1]!.pods[0]!;
  for (const [a, b] of [
    [weftPod, kernelPod],
    [kernelPod, weftPod],
  ] as const) {
    const r = await a.ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', b.ip], { allowFailure: true });
    assert.match(r.stdout, / 3 received/, `${a.name} -> ${b.name}`);
  }
  // A full-size DF packet fits the 1450 MTU both stacks agree on.
  const big = await kernelPod.ns.exec(['ping', '-c', '2', '-s', '1422', '-M', 'do', '-W', '2', weftPod.ip], {
    allowFailure: true,
  });
  assert.match(big.stdout, / 2 received/, '1450-byte DF packets cross');
  const there = await tcpTransfer(weftPod.ns, kernelPod.ns, kernelPod.ip, bulk);
  assert.is(there.received.bytes, bulk, 'weft -> kernel: every byte arrived');
  assert.is(there.received.sha256, there.sent.sha256, 'weft -> kernel bytes unchanged');
  const back = await tcpTransfer(kernelPod.ns, weftPod.ns, weftPod.ip, bulk, 15003);
  assert.is(back.received.bytes, bulk, 'kernel -> weft: every byte arrived');
  assert.is(back.received.sha256, back.sent.sha256, 'kernel -> weft bytes unchanged');
  // Interactive-style: 200-byte writes, one at a time, Nagle off.
  const smallThere = await tcpTransfer(weftPod.ns, kernelPod.ns, kernelPod.ip, 400_000, 15004, 200);
  assert.is(smallThere.received.sha256, smallThere.sent.sha256, 'weft -> kernel small writes unchanged');
  const smallBack = await tcpTransfer(kernelPod.ns, weftPod.ns, weftPod.ip, 400_000, 15005, 200);
  assert.is(smallBack.received.sha256, smallBack.sent.sha256, 'kernel -> weft small writes unchanged');
}

if (canRunWith('weft vxlan <-> kernel vxlan', ['ip', 'bridge', 'ping', 'ethtool'])) {
  test('weft vxlan node and a kernel vxlan node (flannel style), every offload at its default: ping, TCP both ways', () =>
    withTopology(true, 'default', async (lab) => {
      await pingAndTransfers(lab);
      const { counters, drops } = await weftStatus(lab);
      // The kernel's super-packets and partial checksums reached weft, and went to flannel0 whole.
      assert.ok(counters.rx_partial_checksums! > 0, `partial inner checksums recognised: ${JSON.stringify(counters)}`);
      assert.ok(counters.rx_super_packets_whole! + counters.rx_super_packets_segmented! > 0, 'super-packets handed on');
      assert.is(drops.inner_bad_checksum, 0, 'no partial checksum taken for a corrupt one');
      assert.is(drops.udp_truncated, 0, 'every datagram fitted its receive slot');
    }));

  test('the same with tx checksumming off in the kernel pod (complete inner checksums)', () =>
    withTopology(true, 'tx-off', async (lab) => {
      await pingAndTransfers(lab);
      const { drops } = await weftStatus(lab);
      assert.is(drops.inner_bad_checksum, 0, 'complete checksums verified');
      assert.is(drops.udp_truncated, 0, 'every datagram fitted its receive slot');
    }));

  test('weft with its TUN offloads off (--no-offload): kernel super-packets are segmented in the addon', () =>
    withTopology(
      true,
      'default',
      async (lab) => {
        await pingAndTransfers(lab, 50 * MB);
        const { counters, drops } = await weftStatus(lab);
        assert.ok(
          counters.rx_super_packets_segmented! > 0,
          `super-packets cut into segments: ${JSON.stringify(counters)}`,
        );
        assert.is(counters.rx_super_packets_whole, 0, 'no vnet header, no GSO write');
        assert.is(drops.inner_bad_checksum, 0);
      },
      'no-offload',
    ));

  test('the kernel resolves our VTEP address with ARP over VXLAN and weft answers it', () =>
    withTopology(false, 'default', async (lab, weft) => {
      const kernelPod = lab.nodes[1]!.pods[0]!;
      const weftPod = lab.nodes[0]!.pods[0]!;
      const r = await kernelPod.ns.exec(['ping', '-c', '3', '-i', '0.3', '-W', '2', weftPod.ip], {
        allowFailure: true,
      });
      assert.match(r.stdout, /[1-3] received/, 'traffic flows once ARP is answered');
      const neigh = await lab.nodes[1]!.ns.ip(['neigh', 'show', 'dev', 'flannel.1']);
      assert.match(
        neigh.stdout,
        new RegExp(`${weft.vtepIp.replace(/\./g, '\\.')} lladdr ${weft.vtepMac}`),
        'learned our VTEP MAC',
      );
      assert.not.match(neigh.stdout, /PERMANENT/, 'from an ARP reply, not a static entry');
      const status = JSON.parse((await httpGetIn(lab.nodes[0]!.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!) as {
        counters: Record<string, number>;
      };
      assert.ok(status.counters.replies! >= 1, 'weft sent the ARP reply');
    }));
}

test.run();
