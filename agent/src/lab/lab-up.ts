// Bringing a lab up: namespaces from @weft/lab, one `weft agent` per node, pods once each node has its lease.
// Shared by `weft lab up`, the main job (`npm run lab`) and the bench.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, type LabNode, type BackgroundProcess, type Netns } from '@weft/lab';
import { readSubnetEnv } from '@weft/agent';
import { attachPods, installNodeCni, type NodeCni, type PodAttachment } from './lab-cni.ts';

export { nodeRuntime, type NodeCni, type PodAttachment } from './lab-cni.ts';

export type BackendType = 'udp' | 'vxlan' | 'native';
export type RouteSync = 'lease' | 'bgp';
export type StoreKind = 'embedded' | 'etcd';
/** The pod address families: IPv4 (the default lab), dual stack, or IPv6 only (flannel's EnableIPv4 false). */
export type LabFamilies = 'ipv4' | 'dual-stack' | 'ipv6-only';

export interface LabOptions {
  name: string;
  nodes: number;
  pods: number;
  backend: BackendType;
  routeSync: RouteSync;
  store: StoreKind;
  underlayMtu?: number;
  /** Directory for per-node pcapng captures (`weft agent --pcap`). */
  pcapDir?: string;
  /** Keep agents running after this process exits (`weft lab up`); otherwise they are stopped with the lab. */
  persistent?: boolean;
  /** Extra flags for every agent. */
  agentArgs?: string[];
  /** Extra flags for one node's agent (after agentArgs). */
  nodeArgs?: (node: LabNode) => string[];
  /** Agents masquerade pod traffic leaving the cluster network (`--ip-masq=true`); default false. */
  ipMasq?: boolean;
  /** Pod address families (default ipv4); IPv6 needs an IPv6 underlay, which the lab then adds. */
  families?: LabFamilies;
  /** BGP labs: the nodes peer with each other (Calico's node-to-node mesh); default true. */
  bgpMesh?: boolean;
  /** Runs once the namespaces exist, before any agent starts (a router the agents peer with, for example). */
  beforeAgents?: (lab: Lab) => Promise<void>;
}

export const CLUSTER_NETWORK = '10.244.0.0/16';
/** The IPv6 cluster network of dual-stack and IPv6-only labs: /64 node subnets (flannel's default for a /56). */
export const CLUSTER_NETWORK6 = 'fd00:10:244::/56';
export const METRICS_PORT = 9100;
export const ETCD_ADDRESS = '192.0.2.1';
const WEFT_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weft.mjs');
const READY_TIMEOUT_MS = 45_000;

export interface RunningLab {
  lab: Lab;
  options: LabOptions;
  agents: Map<string, BackgroundProcess>;
  etcd?: BackgroundProcess;
  netConf: string;
  /** Each node's CNI install (conf dir, state and reservation dirs), by node name. */
  cni: Map<string, NodeCni>;
  /** How each pod was added (container ID, netns path, the CNI result), by pod name. */
  attachments: Map<string, PodAttachment>;
}

/** argv that runs the `weft` command with the current Node. */
export function weftArgv(...args: string[]): string[] {
  return [process.execPath, WEFT_BIN, ...args];
}

/** The `weft agent` flags the lab gives `node` (tests reuse them to restart an agent). */
export function agentArgs(run: RunningLab, node: LabNode): string[] {
  const o = run.options;
  const dir = join(run.lab.scope.dir, node.name);
  mkdirSync(dir, { recursive: true });
  const store = o.store === 'etcd' ? `etcd://${ETCD_ADDRESS}:2379` : `embedded:${join(run.lab.scope.dir, 'leases.db')}`;
  const families = o.families ?? 'ipv4';
  // IPv6 only: PublicIP is 0.0.0.0, as flanneld writes it; the IPv6 address is the node's public one.
  const publicIp = families === 'ipv6-only' ? [] : ['--public-ip', node.underlayIp];
  const publicIp6 = node.underlayIp6 ? ['--public-ipv6', node.underlayIp6] : [];
  const args = [
    'agent',
    '--config',
    run.netConf,
    ...publicIp,
    ...publicIp6,
    '--iface',
    'eth0',
    '--store',
    store,
    '--subnet-file',
    join(dir, 'subnet.env'),
    '--metrics-port',
    String(METRICS_PORT),
    '--node-name',
    node.name,
  ];
  if (o.routeSync === 'bgp') {
    // Calico's node-to-node mesh: every other node is an iBGP peer (AS 64512); routes come from BGP, not leases.
    // IPv6 only: the sessions run over the nodes' IPv6 addresses.
    args.push('--route-sync', 'bgp');
    const meshAddress = (n: LabNode) => (families === 'ipv6-only' ? n.underlayIp6! : n.underlayIp);
    if (o.bgpMesh !== false)
      for (const other of run.lab.nodes) if (other !== node) args.push('--bgp-peer', `${meshAddress(other)},64512`);
  }
  if (o.pcapDir) args.push('--pcap', join(o.pcapDir, `${node.name}.pcapng`));
  if (o.ipMasq) args.push('--ip-masq=true');
  return [...args, ...(o.agentArgs ?? []), ...(o.nodeArgs?.(node) ?? [])];
}

async function startEtcd(run: RunningLab, log: (m: string) => void): Promise<void> {
  const ul = run.lab.underlay;
  await ul.ip(['addr', 'add', `${ETCD_ADDRESS}/24`, 'dev', 'br0']);
  const data = join(run.lab.scope.dir, 'etcd-data');
  const url = `http://${ETCD_ADDRESS}:2379`;
  log(`etcd: starting in ${ul.name} on ${url}`);
  run.etcd = run.lab.scope.spawn(
    'etcd',
    ul,
    [
      'etcd',
      '--name',
      'lab',
      '--data-dir',
      data,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://${ETCD_ADDRESS}:2380`,
      '--initial-advertise-peer-urls',
      `http://${ETCD_ADDRESS}:2380`,
      '--initial-cluster',
      `lab=http://${ETCD_ADDRESS}:2380`,
    ],
    undefined,
    run.options.persistent,
  );
  await waitFor(
    async () =>
      (
        await ul.exec(['etcdctl', '--endpoints', url, 'endpoint', 'health'], {
          allowFailure: true,
          env: { ...process.env, ETCDCTL_API: '3' },
        })
      ).code === 0,
    20_000,
    'etcd to become healthy',
  );
  await ul.exec(
    ['etcdctl', '--endpoints', url, 'put', '/coreos.com/network/config', readFileSync(run.netConf, 'utf8')],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
}

/**
 * GETs `url` from inside a namespace (the agents' HTTP servers are only reachable there); the body on a 2xx
 * answer, else null. Uses Node's own fetch, so nothing beyond Node and iproute2 is needed.
 */
export async function httpGetIn(ns: Netns, url: string): Promise<string | null> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1));`;
  const r = await ns.exec([process.execPath, '-e', script], { allowFailure: true, timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout : null;
}

/** Polls `check` every 200 ms until it returns true, or throws after `timeoutMs` naming what was awaited. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** The lab's net-conf.json: flannel's keys for the families (IPv6: EnableIPv6, IPv6Network; IPv6 only: EnableIPv4 false). */
export function netConfFor(backend: BackendType, families: LabFamilies): object {
  const v4 = { Network: CLUSTER_NETWORK, SubnetLen: 24 };
  const v6 = { EnableIPv6: true, IPv6Network: CLUSTER_NETWORK6 };
  const nets = families === 'ipv4' ? v4 : families === 'dual-stack' ? { ...v4, ...v6 } : { EnableIPv4: false, ...v6 };
  return { ...nets, Backend: { Type: backend } };
}

/** Creates the topology, starts the agents, waits for their leases and readiness, then adds the pods. */
export async function labUp(options: LabOptions, log: (m: string) => void = () => {}): Promise<RunningLab> {
  const families = options.families ?? 'ipv4';
  if (families === 'ipv6-only' && options.routeSync === 'bgp' && options.backend !== 'native')
    throw new Error(
      'an IPv6-only lab routes with BGP only on the native backend (IPv6 unicast routes carry no VTEP MAC)',
    );
  const ipv6 = families !== 'ipv4';
  const spec = { name: options.name, nodes: options.nodes, underlayMtu: options.underlayMtu };
  const lab = await Lab.create(ipv6 ? { ...spec, ipv6 } : spec, log);
  const netConf = join(lab.scope.dir, 'net-conf.json');
  writeFileSync(netConf, JSON.stringify(netConfFor(options.backend, families), null, 2));
  const run: RunningLab = { lab, options, agents: new Map(), netConf, cni: new Map(), attachments: new Map() };
  try {
    if (options.store === 'etcd') await startEtcd(run, log);
    await options.beforeAgents?.(lab);
    for (const node of lab.nodes) {
      const cni = installNodeCni(
        join(lab.scope.dir, node.name),
        { node: process.execPath, script: WEFT_BIN },
        !!options.ipMasq,
      );
      run.cni.set(node.name, cni);
      log(`agent ${node.name}: starting (${options.backend}, ${options.routeSync}, ${options.store} store)`);
      run.agents.set(
        node.name,
        lab.scope.spawn(
          `agent-${node.name}`,
          node.ns,
          weftArgv(...agentArgs(run, node)),
          undefined,
          options.persistent,
        ),
      );
    }
    for (const node of lab.nodes) await waitForAgent(run, node, log);
    for (const node of lab.nodes) await waitForPeers(run, node, lab.nodes.length - 1, log);
  } catch (e) {
    for (const [name, p] of run.agents) if (!p.running) log(`agent ${name} exited; its log:\n${p.log().slice(-3000)}`);
    await lab.teardown();
    throw e;
  }
  return run;
}

async function waitForAgent(run: RunningLab, node: LabNode, log: (m: string) => void): Promise<void> {
  const proc = run.agents.get(node.name)!;
  const envFile = join(run.lab.scope.dir, node.name, 'subnet.env');
  await waitFor(
    () => {
      if (!proc.running)
        throw new Error(
          `agent ${node.name} exited before writing ${envFile}; its log ends:\n${proc.log().slice(-1500)}`,
        );
      return existsSync(envFile);
    },
    READY_TIMEOUT_MS,
    `agent ${node.name} to write ${envFile}`,
  );
  const env = readSubnetEnv(envFile) ?? {};
  const v6 = env.FLANNEL_IPV6_SUBNET;
  const [first, len] = (env.FLANNEL_SUBNET ?? v6 ?? '').split('/');
  if (!first || !len) throw new Error(`${envFile}: no FLANNEL_SUBNET`);
  // flannel writes the subnet's first address (10.244.3.1/24, fd00:10:244:3::1/64); the network is the lab's name for it.
  const network = env.FLANNEL_SUBNET ? first.replace(/\.\d+$/, '.0') : first.replace(/1$/, '');
  await waitFor(
    async () => (await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/readyz`)) !== null,
    READY_TIMEOUT_MS,
    `agent ${node.name} /readyz`,
  );
  if (v6) node.subnet6 = `${v6.split('/')[0]!.replace(/1$/, '')}/${v6.split('/')[1]}`;
  const also6 = env.FLANNEL_SUBNET && node.subnet6 ? ` and ${node.subnet6}` : '';
  log(`agent ${node.name}: ready, subnet ${network}/${len}${also6}, MTU ${env.FLANNEL_MTU}`);
  node.subnet = `${network}/${len}`;
  node.gateway = first;
  const cni = run.cni.get(node.name)!;
  const attached = await attachPods(node, cni, run.options.pods, (local) => run.lab.scope.netns(local), log);
  for (const a of attached) run.attachments.set(a.pod.name, a.attachment);
}

/**
 * Waits until the agent on `node` routes to `expected` peer subnets (leases watched, or BGP converged): of each
 * family the lab has, IPv6 ones only where the backend forwards IPv6 (/status ipv6.forwarded).
 */
async function waitForPeers(run: RunningLab, node: LabNode, expected: number, log: (m: string) => void): Promise<void> {
  let seen = -1;
  const families = run.options.families ?? 'ipv4';
  await waitFor(
    async () => {
      const body = await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
      const s = body
        ? (JSON.parse(body) as { routes: { subnet: string }[]; ipv6?: { forwarded: boolean } })
        : { routes: [] };
      const v6 = s.routes.filter((r) => r.subnet.includes(':')).length;
      const v4 = s.routes.length - v6;
      seen = body ? Math.min(families === 'ipv6-only' ? expected : v4, s.ipv6?.forwarded ? v6 : expected) : -1;
      return seen >= expected;
    },
    READY_TIMEOUT_MS,
    `agent ${node.name} to learn ${expected} peer subnets (has ${seen})`,
  );
  log(`agent ${node.name}: routes to all ${expected} peers in place`);
}

/** JSON description printed by `weft lab up`. */
export function describeLab(run: RunningLab): object {
  const base = run.lab.describe() as { nodes: { name: string }[] };
  return {
    ...base,
    backend: run.options.backend,
    routeSync: run.options.routeSync,
    ...(run.options.families && run.options.families !== 'ipv4' ? { families: run.options.families } : {}),
    store: run.options.store,
    dir: run.lab.scope.dir,
    nodes: base.nodes.map((n) => ({ ...n, agentPid: run.agents.get(n.name)?.pid ?? null, metricsPort: METRICS_PORT })),
  };
}
