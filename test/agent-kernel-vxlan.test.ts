// Wire compatibility: one node runs weft's userspace vxlan backend, the other the Linux kernel vxlan driver set
// up exactly as flanneld's vxlan backend sets it up (flannel.1, VNI 1, port 8472, nolearning, static
// neigh/fdb/onlink route), every offload at its default. Pods on the two nodes ping and move data both ways (bulk
// and small writes, checked end to end), with the kernel pod's tx checksumming at its default and off; then the
// kernel resolves our VTEP address with ARP across the tunnel and weft answers it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lab, canRunWith, type LabNode } from '@weft/lab';
import { KERNEL_FLANNEL, programKernelFlannel, startWeftBesideKernel, type WeftVtep } from 'weft/lab/kernel-flannel';
import { tcpTransfer } from './support/transfer.ts';

const MB = 1024 * 1024;

/** The kernel pod's tx checksumming: at its default (on: partial checksums cross the veth), or off. */
type KernelTx = 'default' | 'tx-off';
/** weft's own offloads: at their default (vnet header, super-packets whole) or off (segmented in the addon). */
type WeftOffload = 'default' | 'no-offload';

async function withTopology(
  staticNeigh: boolean,
  kernelTx: KernelTx,
  body: (lab: Lab, weft: WeftVtep) => Promise<void>,
  weftOffload: WeftOffload = 'default',
): Promise<void> {
  const name = !staticNeigh ? 'arp' : weftOffload === 'no-offload' ? 'nooff' : kernelTx === 'default' ? 'on' : 'off';
  const lab = await Lab.create({ name: `h4-akv-${name}`, nodes: 2 });
  try {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    const weft = await startWeftBesideKernel(lab, n1, n2, weftOffload === 'no-offload' ? ['--no-offload'] : []);
    await programKernelFlannel(n2, weft, staticNeigh);
    await lab.addPods(n1, weft.subnet, 1, 1450);
    await lab.addPods(n2, KERNEL_FLANNEL.subnet, 1, 1450);
    // Every offload stays at its default: over a veth the kernel VTEP sends whole UDP-tunnel GSO super-packets
    // with partial inner checksums, and weft must take them as they come. The second setting has the kernel
    // pod finish its own checksums (tx off), as some hosts do: both must work.
    if (kernelTx === 'tx-off') await n2.pods[0]!.ns.exec(['ethtool', '-K', 'eth0', 'tx', 'off']);
    await body(lab, weft);
  } finally {
    await lab.teardown();
  }
}

type Counted = { counters: Record<string, number>; drops: Record<string, number> };
const weftStatus = async (weft: WeftVtep): Promise<Counted> => (await weft.status()) as Counted;

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
    withTopology(true, 'default', async (lab, weft) => {
      await pingAndTransfers(lab);
      const { counters, drops } = await weftStatus(weft);
      // The kernel's super-packets and partial checksums reached weft, and went to flannel0 whole.
      assert.ok(counters.rx_partial_checksums! > 0, `partial inner checksums recognised: ${JSON.stringify(counters)}`);
      assert.ok(counters.rx_super_packets_whole! + counters.rx_super_packets_segmented! > 0, 'super-packets handed on');
      assert.is(drops.inner_bad_checksum, 0, 'no partial checksum taken for a corrupt one');
      assert.is(drops.udp_truncated, 0, 'every datagram fitted its receive slot');
    }));

  test('the same with tx checksumming off in the kernel pod (complete inner checksums)', () =>
    withTopology(true, 'tx-off', async (lab, weft) => {
      await pingAndTransfers(lab);
      const { drops } = await weftStatus(weft);
      assert.is(drops.inner_bad_checksum, 0, 'complete checksums verified');
      assert.is(drops.udp_truncated, 0, 'every datagram fitted its receive slot');
    }));

  test('weft with its TUN offloads off (--no-offload): kernel super-packets are segmented in the addon', () =>
    withTopology(
      true,
      'default',
      async (lab, weft) => {
        await pingAndTransfers(lab, 50 * MB);
        const { counters, drops } = await weftStatus(weft);
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
      const status = await weftStatus(weft);
      assert.ok(status.counters.replies! >= 1, 'weft sent the ARP reply');
    }));
}

test.run();
