// Helpers for test/super-packets.test.ts: a capture on the underlay decoded by tshark into one record per frame,
// and a two-node lab where n1 runs weft's vxlan agent and n2 is a kernel flannel node (shared/peers recipe 5:
// flannel.1, VNI 1, port 8472, nolearning, static neigh/fdb, onlink route) with every offload at its default.
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { Lab, run, type LabNode, type LabPod, type LabScope, type Netns } from '@weft/lab';
import { SqliteLeaseStore } from '@weft/agent';
import { tryParseIpv4Prefix as parseIp4Net } from '@weft/netaddr';
import { weftArgv, waitFor, httpGetIn, METRICS_PORT } from 'weft/lab';

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

const CHECKSUM_GOOD = '1'; // tshark's checksum status: 0 bad, 1 good, 2 unverified

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
  const r = await run(
    [
      'tshark',
      '-r',
      pcap,
      '-d',
      `udp.port==${port},vxlan`,
      '-o',
      'udp.check_checksum:TRUE',
      '-o',
      'tcp.check_checksum:TRUE',
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      '-e',
      'frame.len',
      '-e',
      'ip.src',
      '-e',
      'udp.srcport',
      '-e',
      'udp.checksum.status',
      '-e',
      'vxlan.vni',
      '-e',
      'tcp.len',
      '-e',
      'tcp.checksum.status',
      '-e',
      'tcp.srcport',
    ],
    { timeoutMs: 60_000 },
  );
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [len, src, sport, udpOk, vni, tcpLen, tcpOk, innerSport] = line.split('\t');
      return {
        frameLen: Number(len),
        src: src ?? '',
        srcPort: Number(sport),
        udpChecksumOk: udpOk === CHECKSUM_GOOD,
        vni: vni ? Number(vni) : -1,
        tcpLen: tcpLen ? Number(tcpLen) : 0,
        tcpChecksumOk: tcpOk === CHECKSUM_GOOD,
        innerSrcPort: innerSport ? Number(innerSport) : 0,
      };
    });
}

const KERNEL_SUBNET = '10.244.200.0/24';
const KERNEL_MAC = '02:00:0a:f4:c8:00';

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
    const dir = lab.scope.dir;
    const netConf = join(dir, 'net-conf.json');
    const conf = JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    writeFileSync(netConf, conf);
    const db = join(dir, 'leases.db');
    const store = new SqliteLeaseStore(db);
    await store.putConfig(conf);
    await store.createLease(
      parseIp4Net(KERNEL_SUBNET)!,
      { PublicIP: n2.underlayIp, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: KERNEL_MAC } },
      3600_000,
    );
    await store.close();
    const envFile = join(dir, 'n1-subnet.env');
    const agent = lab.scope.spawn(
      'agent-n1',
      n1.ns,
      weftArgv(
        'agent',
        '--net-config',
        netConf,
        '--public-ip',
        n1.underlayIp,
        '--store',
        `embedded:${db}`,
        '--subnet-file',
        envFile,
        '--metrics-port',
        String(METRICS_PORT),
        '--node-name',
        'n1',
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
    const status = async (): Promise<unknown> =>
      JSON.parse((await httpGetIn(n1.ns, `http://127.0.0.1:${METRICS_PORT}/status`))!);
    const lease = ((await status()) as { lease: { subnet: string; vtepMac: string } }).lease;
    const weftVtep = lease.subnet.split('/')[0]!;
    await n2.ns.ipBatch([
      `link add flannel.1 type vxlan id 1 dstport 8472 local ${n2.underlayIp} dev eth0 nolearning`,
      `link set flannel.1 address ${KERNEL_MAC} mtu 1450 up`,
      `addr add ${KERNEL_SUBNET.replace('/24', '/32')} dev flannel.1`,
      `neigh replace ${weftVtep} lladdr ${lease.vtepMac} dev flannel.1 nud permanent`,
      `route replace ${lease.subnet} via ${weftVtep} dev flannel.1 onlink`,
    ]);
    await n2.ns.exec([
      'bridge',
      'fdb',
      'append',
      lease.vtepMac,
      'dev',
      'flannel.1',
      'dst',
      n1.underlayIp,
      'self',
      'permanent',
    ]);
    const [weftPod] = await lab.addPods(n1, lease.subnet, 1, 1450);
    const [kernelPod] = await lab.addPods(n2, KERNEL_SUBNET, 1, 1450);
    return { lab, weftPod: weftPod!, kernelPod: kernelPod!, kernelNode: n2, status, teardown: () => lab.teardown() };
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}
