// Helpers for the `weft agent` end-to-end tests (agent-etcd, agent-store-down, agent-hostile): reading an
// agent's /status and /metrics from inside its namespace, restarting one agent or the lab's etcd with the
// flags lab-up gave them, etcdctl inside the underlay namespace, and ping between pods.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess, LabNode, LabPod, Netns } from '@weft/lab';
import { httpGetIn, waitFor, ETCD_ADDRESS, METRICS_PORT, type RunningLab } from 'weft/lab';

export interface AgentStatusJson {
  node: string;
  backend: string;
  lease: { subnet: string; publicIp: string; expiresAt: number; vtepMac?: string } | null;
  storeReachable: boolean;
  routes: { subnet: string; via: string; vtepMac?: string }[];
  counters: Record<string, number>;
  drops: Record<string, number>;
}

export const ETCD_URL = `http://${ETCD_ADDRESS}:2379`;

/** The agent's /status on `node`, or null when it does not answer. */
export async function agentStatus(node: LabNode): Promise<AgentStatusJson | null> {
  const body = await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
  return body === null ? null : (JSON.parse(body) as AgentStatusJson);
}

/** Like agentStatus, but throws naming the node when the agent does not answer. */
export async function mustStatus(node: LabNode): Promise<AgentStatusJson> {
  const s = await agentStatus(node);
  if (!s) throw new Error(`agent ${node.name}: /status did not answer`);
  return s;
}

/** The agent's /metrics text, or null. */
export function agentMetrics(node: LabNode): Promise<string | null> {
  return httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/metrics`);
}

/** The value of a metric line (`name{labels} value`, labels given literally, e.g. `{reason="wrong_vni"}`), or null. */
export function metricValue(text: string, name: string, labels = ''): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}${labels} `)) return Number(line.slice(name.length + labels.length + 1));
  }
  return null;
}

/** FLANNEL_* values of the subnet.env the lab's agent on `node` wrote. */
export function subnetEnvOf(run: RunningLab, node: LabNode): Record<string, string> {
  const text = readFileSync(join(run.lab.scope.dir, node.name, 'subnet.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

/** Stops the agent on `node` (SIGTERM) and resolves with its exit code. */
export async function stopAgent(run: RunningLab, node: LabNode): Promise<number> {
  return run.agents.get(node.name)!.stop(10_000);
}

/**
 * Starts the agent on `node` again with exactly the argv lab-up started it with (`ip netns exec NS node weft
 * agent ...`, read back from the first process), and waits for /readyz.
 */
export async function restartAgent(run: RunningLab, node: LabNode, label: string): Promise<BackgroundProcess> {
  const argv = run.agents.get(node.name)!.child.spawnargs;
  if (argv.slice(0, 4).join(' ') !== `ip netns exec ${node.ns.name}`)
    throw new Error(`agent ${node.name}: unexpected argv ${argv.join(' ')}`);
  const proc = run.lab.scope.spawn(label, node.ns, argv.slice(4));
  run.agents.set(node.name, proc);
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`restarted agent ${node.name} exited:\n${proc.log().slice(-2000)}`);
      return (await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/readyz`)) !== null;
    },
    45_000,
    `restarted agent ${node.name} /readyz`,
  );
  return proc;
}

/** etcd's argv as lab-up starts it (same name, data directory and addresses), for restarting it. */
export function etcdArgv(run: RunningLab): string[] {
  const peer = `http://${ETCD_ADDRESS}:2380`;
  return [
    'etcd',
    '--name',
    'lab',
    '--data-dir',
    join(run.lab.scope.dir, 'etcd-data'),
    '--listen-client-urls',
    ETCD_URL,
    '--advertise-client-urls',
    ETCD_URL,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `lab=${peer}`,
  ];
}

/** Starts etcd again (same data and port) in the underlay namespace and waits until it is healthy. */
export async function restartEtcd(run: RunningLab, label: string): Promise<BackgroundProcess> {
  const proc = run.lab.scope.spawn(label, run.lab.underlay, etcdArgv(run));
  run.etcd = proc;
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`etcd exited:\n${proc.log().slice(-2000)}`);
      return (await etcdctl(run, ['endpoint', 'health'], true)).code === 0;
    },
    30_000,
    'restarted etcd to become healthy',
  );
  return proc;
}

/** Runs etcdctl (API v3) against the lab's etcd from the underlay namespace. */
export function etcdctl(
  run: RunningLab,
  args: readonly string[],
  allowFailure = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run.lab.underlay.exec(['etcdctl', '--endpoints', ETCD_URL, '--command-timeout=5s', ...args], {
    allowFailure,
    timeoutMs: 15_000,
    env: { ...process.env, ETCDCTL_API: '3' },
  });
}

export interface EtcdKv {
  key: string;
  value: string;
  /** The etcd lease id as a hex string (what `etcdctl lease timetolive` takes), or '' without one. */
  leaseHex: string;
}

/** Every key under `prefix`, decoded from `etcdctl get --prefix -w json`. */
export async function etcdGetPrefix(run: RunningLab, prefix: string): Promise<EtcdKv[]> {
  const r = await etcdctl(run, ['get', '--prefix', prefix, '-w', 'json']);
  // Lease ids are int64: keep them exact by quoting the numbers before JSON.parse.
  const json = JSON.parse(r.stdout.replace(/"lease":(\d+)/g, '"lease":"$1"')) as {
    kvs?: { key: string; value: string; lease?: string }[];
  };
  return (json.kvs ?? []).map((kv) => ({
    key: Buffer.from(kv.key, 'base64').toString(),
    value: Buffer.from(kv.value, 'base64').toString(),
    leaseHex: kv.lease ? BigInt(kv.lease).toString(16) : '',
  }));
}

/** `etcdctl lease timetolive ID --keys`: remaining and granted TTL and the keys attached. */
export async function etcdLeaseInfo(
  run: RunningLab,
  leaseHex: string,
): Promise<{ ttl: number; grantedTtl: number; keys: string[] }> {
  const r = await etcdctl(run, ['lease', 'timetolive', leaseHex, '--keys', '-w', 'json']);
  const json = JSON.parse(r.stdout.replace(/"id":(\d+)/g, '"id":"$1"')) as {
    ttl: number;
    'granted-ttl': number;
    keys?: string[];
  };
  return {
    ttl: json.ttl,
    grantedTtl: json['granted-ttl'],
    keys: (json.keys ?? []).map((k) => Buffer.from(k, 'base64').toString()),
  };
}

/** Pings `to` from `from` `count` times (bounded by -w); the number of replies. */
export async function pingCount(
  from: LabPod | { ns: Netns },
  toIp: string,
  count: number,
  intervalS = 0.2,
): Promise<number> {
  const deadline = Math.ceil(count * intervalS + 3);
  const r = await from.ns.exec(
    ['ping', '-n', '-q', '-c', String(count), '-i', String(intervalS), '-W', '1', '-w', String(deadline), toIp],
    {
      allowFailure: true,
      timeoutMs: (deadline + 5) * 1000,
    },
  );
  const m = / (\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/** Waits until a ping from `from` to `toIp` is answered (one ping per try, bounded by `timeoutMs`). */
export async function waitForPing(from: LabPod, toIp: string, timeoutMs: number, what: string): Promise<void> {
  await waitFor(async () => (await pingCount(from, toIp, 1)) === 1, timeoutMs, what);
}
