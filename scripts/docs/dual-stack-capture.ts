// The live part of the dual-stack lesson: a two-node dual-stack lab (vxlan, leases in etcd, EnableIPv6), and what
// it leaves behind in both families: the config and lease keys in etcd (flannel's `V4NET-LEN&V6NET-LEN` keys), n1's
// subnet.env, the kernel routes of each family, each agent's /status, and one traced ping per family (IPv4 with
// the agents' captures, IPv6 with those and a tcpdump on n1's eth0). The lab is torn down before this returns.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeLab, ETCD_ADDRESS, type BackendType, type LabOptions, type RunningLab } from 'weft/lab';
import { trace, type TraceLab, type TraceResult } from 'weft/trace';
import { agentStatus, withLessonLab, type AgentStatus } from './capture.ts';

export interface DualStackStatus extends AgentStatus {
  ipv6?: { subnet: string; publicIp: string; forwarded: boolean; reason: string };
}

export interface DualStackCapture {
  backend: BackendType;
  lab: TraceLab & {
    nodes: (TraceLab['nodes'][number] & { underlayIp6?: string; subnet6?: string })[];
  };
  statuses: DualStackStatus[];
  /** The value of /coreos.com/network/config. */
  config: string;
  /** Every key under /coreos.com/network/subnets/ with its value. */
  leases: { key: string; value: string }[];
  subnetEnv: string;
  /** `ip -4 route` and `ip -6 route` in each node, by node name. */
  routes: Record<string, { v4: string; v6: string }>;
  trace4: TraceResult;
  trace6: TraceResult;
}

const ETCD_URL = `http://${ETCD_ADDRESS}:2379`;

/** Keys and values under `prefix` (`etcdctl get --prefix -w json`: both base64, so multi-line values stay whole). */
async function etcdGet(run: RunningLab, prefix: string): Promise<{ key: string; value: string }[]> {
  const r = await run.lab.underlay.exec(['etcdctl', '--endpoints', ETCD_URL, 'get', '--prefix', prefix, '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  const kvs = (JSON.parse(r.stdout) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return kvs.map((kv) => ({ key: text(kv.key), value: text(kv.value) }));
}

/** Brings the dual-stack lab up on `backend`, records what the lesson shows, tears it down. */
export async function captureDualStack(
  name: string,
  backend: BackendType,
  log: (m: string) => void,
): Promise<DualStackCapture> {
  const options: LabOptions = {
    name,
    nodes: 2,
    pods: 1,
    backend,
    routeSync: 'lease',
    store: 'etcd',
    families: 'dual-stack',
  };
  return withLessonLab(options, log, async (run, dir, pcapDir) => {
    for (const family of ['v4', 'v6']) mkdirSync(join(dir, family));
    const lab = describeLab(run) as DualStackCapture['lab'];
    const routes: DualStackCapture['routes'] = {};
    for (const n of run.lab.nodes) {
      const v4 = (await n.ns.ip(['-4', 'route'])).stdout.trim();
      const v6 = (await n.ns.ip(['-6', 'route'])).stdout.trim();
      routes[n.name] = { v4, v6 };
    }
    const [config] = await etcdGet(run, '/coreos.com/network/config');
    const leases = await etcdGet(run, '/coreos.com/network/subnets/');
    const subnetEnv = readFileSync(join(run.lab.scope.dir, 'n1', 'subnet.env'), 'utf8');
    log(`${name}: tracing a ping per family n1p1 -> n2p1`);
    const trace4 = await trace(lab, 'n1p1', 'n2p1', { pcapDir, underlayDir: join(dir, 'v4'), family: 4 });
    const trace6 = await trace(lab, 'n1p1', 'n2p1', { pcapDir, underlayDir: join(dir, 'v6'), family: 6 });
    for (const [f, t] of [
      ['IPv4', trace4],
      ['IPv6', trace6],
    ] as const)
      if (!t.replied) throw new Error(`${name}: the traced ${f} ping got no reply:\n${t.lines.join('\n')}`);
    const statuses = (await Promise.all(run.lab.nodes.map((n) => agentStatus(n.ns)))) as DualStackStatus[];
    return { backend, lab, statuses, config: config?.value ?? '', leases, subnetEnv, routes, trace4, trace6 };
  });
}
