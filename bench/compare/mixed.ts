// The `mixed-vxlan` case: a weft vxlan node and a kernel flannel node (flannel.1 set up as flanneld's vxlan
// backend sets it up), every offload at its default: the speed of a cluster half-way through a migration.
// The client pod is on the weft node, the server pod on the kernel node.
import { Lab, type LabNode } from '@weft/lab';
import { KERNEL_FLANNEL, programKernelFlannel, startWeftBesideKernel } from 'weft/lab/kernel-flannel';
import type { PreparedCase } from './cases.ts';

export async function mixedVxlan(labName = 'bench-mixed-vxlan'): Promise<PreparedCase> {
  const lab = await Lab.create({ name: labName, nodes: 2 });
  try {
    const [a, b] = lab.nodes as [LabNode, LabNode];
    const weft = await startWeftBesideKernel(lab, a, b);
    await programKernelFlannel(b, weft);
    await lab.addPods(a, weft.subnet, 1, 1450);
    await lab.addPods(b, KERNEL_FLANNEL.subnet, 1, 1450);
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
