// The live part of the control-plane lesson: a two-node vxlan lab on etcd with --ip-masq, and what each step of the
// control plane leaves behind: the keys and leases in etcd, subnet.env, an agent restart (same subnet, new lease)
// with a short TTL so renewals can be watched, one container added and deleted through the CNI chain (its stdin,
// what weft delegated, cni0, host-local's files, the result), and the masquerade rules with their counters after
// a pod pinged a host outside the cluster network. The lab is torn down before this returns, also on failure.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  labUp,
  agentArgs,
  weftArgv,
  waitFor,
  httpGetIn,
  nodeRuntime,
  ETCD_ADDRESS,
  METRICS_PORT,
  type RunningLab,
} from 'weft/lab';
import { loadConfList } from '@weft/cni';
import type { LabNode, Netns } from '@weft/lab';

export interface EtcdKey {
  key: string;
  value: string;
  /** The etcd lease ID in hex (as etcdctl prints it), or '' for a key without a lease. */
  lease: string;
  modRevision: number;
}

export interface LeaseSample {
  second: number;
  lease: string;
  remaining: number;
}

export interface ControlCapture {
  lab: string;
  nodes: { name: string; underlayIp: string; subnet: string; pod: string }[];
  agentCommand: string[];
  keys: EtcdKey[];
  /** `etcdctl lease timetolive --keys` of n1's lease, as printed. */
  timeToLive: string;
  subnetEnv: string;
  restart: { ttlSeconds: number; before: EtcdKey; after: EtcdKey; log: string[] };
  renewals: LeaseSample[];
  cni: {
    containerId: string;
    conflistFile: string;
    conflist: string;
    stdin: Record<string, unknown>;
    delegated: string;
    result: Record<string, unknown>;
    bridge: string;
    podView: string;
    reservations: { file: string; content: string }[];
    afterDel: string[];
  };
  masquerade: { nat: string; filter: string; counters: string; outsideHost: string; pingReceived: number };
}

const ETCD_URL = `http://${ETCD_ADDRESS}:2379`;
const NETWORK_PREFIX = '/coreos.com/network/';
const RESTART_TTL = 20;
const OUTSIDE_HOST = '192.0.2.250';

function etcdctl(run: RunningLab, args: string[]): Promise<string> {
  return run.lab.underlay
    .exec(['etcdctl', '--endpoints', ETCD_URL, ...args], { env: { ...process.env, ETCDCTL_API: '3' } })
    .then((r) => r.stdout);
}

/** JSON from etcdctl with its 64-bit numbers (lease IDs) kept as decimal strings: doubles would round them. */
const parseEtcdJson = (text: string): unknown => JSON.parse(text.replace(/"(lease|id|ID)":(\d+)/g, '"$1":"$2"'));

/** A value as one line: compact JSON when it is JSON. */
function oneLine(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

async function etcdKeys(run: RunningLab): Promise<EtcdKey[]> {
  const out = parseEtcdJson(await etcdctl(run, ['get', '--prefix', NETWORK_PREFIX, '-w', 'json'])) as {
    kvs?: { key: string; value: string; lease?: string; mod_revision: number }[];
  };
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return (out.kvs ?? []).map((kv) => ({
    key: text(kv.key),
    value: oneLine(text(kv.value)),
    lease: kv.lease ? BigInt(kv.lease).toString(16) : '',
    modRevision: kv.mod_revision,
  }));
}

const keyOf = (keys: EtcdKey[], subnet: string) => {
  const k = keys.find((x) => x.key === `${NETWORK_PREFIX}subnets/${subnet.replace('/', '-')}`);
  if (!k) throw new Error(`no etcd key for ${subnet}: ${keys.map((x) => x.key).join(', ')}`);
  return k;
};

async function remaining(run: RunningLab, lease: string): Promise<number> {
  const r = parseEtcdJson(await etcdctl(run, ['lease', 'timetolive', lease, '-w', 'json'])) as { ttl: number };
  return r.ttl;
}

const ready = async (ns: Netns) => (await httpGetIn(ns, `http://127.0.0.1:${METRICS_PORT}/readyz`)) !== null;

/** Stops n2's agent, starts it again with a short TTL, and samples its lease while it renews. */
async function restartAndRenew(run: RunningLab, n2: LabNode, log: (m: string) => void) {
  const before = keyOf(await etcdKeys(run), n2.subnet!);
  log(`control: restarting the agent on n2 with --subnet-lease-ttl ${RESTART_TTL}`);
  await run.agents.get(n2.name)!.stop();
  const argv = weftArgv(...agentArgs(run, n2), '--subnet-lease-ttl', String(RESTART_TTL));
  const again = run.lab.scope.spawn(`agent-${n2.name}-again`, n2.ns, argv);
  run.agents.set(n2.name, again);
  await waitFor(() => ready(n2.ns), 45_000, 'the restarted agent on n2 to be ready');
  const after = keyOf(await etcdKeys(run), n2.subnet!);
  const lines = again
    .log()
    .split('\n')
    .filter((l) => /"msg":"(lease acquired|took the subnet)/.test(l))
    .map((l) => {
      const entry = JSON.parse(l) as Record<string, unknown>;
      for (const k of ['time', 'pid', 'hostname']) delete entry[k];
      return JSON.stringify(entry);
    });
  // One sample a second for 1.5 TTLs: the lease ID and what etcd says is left of it.
  const renewals: LeaseSample[] = [];
  const start = Date.now();
  for (let i = 0; i < RESTART_TTL * 2 && Date.now() - start < RESTART_TTL * 1500; i++) {
    const k = keyOf(await etcdKeys(run), n2.subnet!);
    renewals.push({
      second: Math.round((Date.now() - start) / 1000),
      lease: k.lease,
      remaining: await remaining(run, k.lease),
    });
    await new Promise((r) => setTimeout(r, 1000 - ((Date.now() - start) % 1000)));
  }
  return { restart: { ttlSeconds: RESTART_TTL, before, after, log: lines }, renewals };
}

/** Adds container n1c1 through n1's CNI chain, records every file the chain touched, deletes it again. */
async function oneContainer(run: RunningLab, n1: LabNode): Promise<ControlCapture['cni']> {
  const cni = run.cni.get(n1.name)!;
  const list = loadConfList(cni.confDir);
  const rt = nodeRuntime(n1, cni, list);
  const ns = await run.lab.scope.netns('n1c1');
  const at = { containerId: 'n1c1', netns: `/var/run/netns/${ns.name}` };
  const r = rt.add(at);
  if ('failed' in r) throw new Error(`CNI ADD n1c1: ${r.failed}: ${r.run.stdout}${r.run.stderr}`);
  const netDir = join(cni.ipamDir, list.name);
  const reservations = readdirSync(netDir)
    .filter((f) => !f.startsWith('lock'))
    .sort()
    .map((f) => ({ file: join(netDir, f), content: readFileSync(join(netDir, f), 'utf8') }));
  const bridge = [
    (await n1.ns.ip(['-br', 'addr', 'show', 'cni0'])).stdout,
    (await n1.ns.ip(['-br', 'link', 'show', 'master', 'cni0'])).stdout,
  ].join('');
  const podView = [(await ns.ip(['-br', 'addr', 'show', 'eth0'])).stdout, (await ns.ip(['route'])).stdout].join('');
  const delegated = readFileSync(join(cni.dataDir, at.containerId), 'utf8');
  const del = rt.del(at);
  if (del) throw new Error(`CNI DEL n1c1: ${del.failed}: ${del.run.stdout}${del.run.stderr}`);
  return {
    containerId: at.containerId,
    conflistFile: join(cni.confDir, readdirSync(cni.confDir).find((f) => f.endsWith('.conflist'))!),
    conflist: readFileSync(join(cni.confDir, readdirSync(cni.confDir).find((f) => f.endsWith('.conflist'))!), 'utf8'),
    stdin: rt.pluginConfig(list.plugins[0]!),
    delegated,
    result: r.result,
    bridge,
    podView,
    reservations,
    afterDel: existsSync(netDir) ? readdirSync(netDir).sort() : [],
  };
}

/** A pod pings a host outside the cluster network; the nat and filter rules and the masquerade counters. */
async function masquerade(run: RunningLab, n1: LabNode): Promise<ControlCapture['masquerade']> {
  await run.lab.underlay.ip(['addr', 'add', `${OUTSIDE_HOST}/24`, 'dev', 'br0']);
  const ping = await n1.pods[0]!.ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', OUTSIDE_HOST], {
    allowFailure: true,
  });
  const save = async (table: string) =>
    (await n1.ns.exec(['iptables-save', '-t', table])).stdout
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  return {
    nat: await save('nat'),
    filter: await save('filter'),
    counters: (await n1.ns.exec(['iptables', '-t', 'nat', '-L', 'WEFT-POSTRTG', '-n', '-v', '-x'])).stdout,
    outsideHost: OUTSIDE_HOST,
    pingReceived: Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? 0),
  };
}

/** Brings the lab up, records the lesson's material, tears the lab down. */
export async function captureControlPlane(name: string, log: (m: string) => void): Promise<ControlCapture> {
  let run: RunningLab | undefined;
  try {
    run = await labUp(
      { name, nodes: 2, pods: 1, backend: 'vxlan', routeSync: 'lease', store: 'etcd', ipMasq: true },
      log,
    );
    const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
    const keys = await etcdKeys(run);
    const timeToLive = await etcdctl(run, ['lease', 'timetolive', keyOf(keys, n1.subnet!).lease, '--keys']);
    const subnetEnv = readFileSync(run.cni.get(n1.name)!.subnetFile, 'utf8');
    const cni = await oneContainer(run, n1);
    const masq = await masquerade(run, n1);
    const { restart, renewals } = await restartAndRenew(run, n2, log);
    return {
      lab: name,
      nodes: run.lab.nodes.map((n) => ({
        name: n.name,
        underlayIp: n.underlayIp,
        subnet: n.subnet!,
        pod: `${n.pods[0]!.name} ${n.pods[0]!.ip}`,
      })),
      agentCommand: ['weft', ...agentArgs(run, n1)],
      keys,
      timeToLive,
      subnetEnv,
      restart,
      renewals,
      cni,
      masquerade: masq,
    };
  } finally {
    await run?.lab.teardown();
    if (run) rmSync(run.lab.scope.dir, { recursive: true, force: true });
  }
}
