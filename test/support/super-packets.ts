// Helpers for test/super-packets.test.ts: a capture on the underlay decoded by tshark into one record per frame,
// and a two-node lab where n1 runs weft's vxlan agent and n2 is a kernel flannel node (shared/peers recipe 5:
// flannel.1, VNI 1, port 8472, nolearning, static neigh/fdb, onlink route) with every offload at its default.
import { existsSync } from 'node:fs';
import { waitFor } from 'weft/lab';
import {
  Lab,
  tsharkFields,
  TSHARK_CHECK_CHECKSUMS,
  TSHARK_CHECKSUM_GOOD,
  type LabNode,
  type LabPod,
  type LabScope,
  type Netns,
} from '@weft/lab';
import { KERNEL_FLANNEL, programKernelFlannel, startWeftBesideKernel } from 'weft/lab/kernel-flannel';

export interface WireFrame {
  frameLen: number;
  /** Outer IPv4 source. */
  src: string;
  srcPort: number;
  udpChecksumOk: boolean;
  /** VXLAN VNI as tshark decodes it, or -1 when it did not decode VXLAN. */
  vni: number;
  /** Inner TCP source port (0 without TCP). */
  innerSrcPort: number;
  /** Inner TCP payload length (0 without TCP). */
  tcpLen: number;
  tcpChecksumOk: boolean;
}

/**
 * Captures UDP port `port` on `iface` of `ns` (whole frames, bounded count) while `body` runs, then decodes the
 * file with tshark (the port decoded as VXLAN, checksums verified). One record per captured frame.
 */
export async function wireFrames(
  scope: LabScope,
  ns: Netns,
  iface: string,
  pcap: string,
  port: number,
  body: () => Promise<void>,
): Promise<WireFrame[]> {
  const dump = scope.spawn('tcpdump', ns, [
    'timeout',
    '120',
    'tcpdump',
    '--immediate-mode',
    '-ni',
    iface,
    '-s',
    '0',
    '-c',
    '40000',
    '-U',
    '-w',
    pcap,
    'udp',
    'port',
    String(port),
  ]);
  await waitFor(() => existsSync(pcap) || !dump.running, 10_000, 'tcpdump to open its file');
  await new Promise((r) => setTimeout(r, 300));
  try {
    await body();
  } finally {
    await dump.stop(); // SIGTERM to its PID: timeout passes it on, tcpdump flushes and exits
  }
  const rows = await tsharkFields(
    pcap,
    [
      'frame.len',
      'ip.src',
      'udp.srcport',
      'udp.checksum.status',
      'vxlan.vni',
      'tcp.len',
      'tcp.checksum.status',
      'tcp.srcport',
    ],
    { decodeAs: [`udp.port==${port},vxlan`], prefs: TSHARK_CHECK_CHECKSUMS },
  );
  return rows.map(([len, src, sport, udpOk, vni, tcpLen, tcpOk, innerSport]) => {
    return {
      frameLen: Number(len),
      src: src ?? '',
      srcPort: Number(sport),
      udpChecksumOk: udpOk === TSHARK_CHECKSUM_GOOD,
      vni: vni ? Number(vni) : -1,
      tcpLen: tcpLen ? Number(tcpLen) : 0,
      tcpChecksumOk: tcpOk === TSHARK_CHECKSUM_GOOD,
      innerSrcPort: innerSport ? Number(innerSport) : 0,
    };
  });
}

export interface KernelPair {
  lab: Lab;
  weftPod: LabPod;
  kernelPod: LabPod;
  kernelNode: LabNode;
  /** The weft agent's /status. */
  status(): Promise<unknown>;
  teardown(): Promise<void>;
}

/** n1: weft vxlan agent (its lease store already holds the kernel node's lease); n2: kernel flannel node. */
export async function startKernelPair(name: string): Promise<KernelPair> {
  const lab = await Lab.create({ name, nodes: 2 });
  try {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    const weft = await startWeftBesideKernel(lab, n1, n2);
    await programKernelFlannel(n2, weft);
    const [weftPod] = await lab.addPods(n1, weft.subnet, 1, 1450);
    const [kernelPod] = await lab.addPods(n2, KERNEL_FLANNEL.subnet, 1, 1450);
    const status = weft.status;
    return { lab, weftPod: weftPod!, kernelPod: kernelPod!, kernelNode: n2, status, teardown: () => lab.teardown() };
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}
