// Hand-built nodes for tests whose topology the standard lab does not have (two L2 segments, a host outside the
// cluster network): a `weft agent` in a namespace of the caller's scope, and pods on a cni0 bridge as the lab
// adds them once the node holds its lease.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess, LabScope, Netns } from '@weft/lab';
import { formatIpv4, parseIpv4 } from '@weft/netaddr';
import { readSubnetEnv } from '@weft/agent';
import { httpGetIn, waitFor, weftArgv } from 'weft/lab';

export const METRICS_PORT = 9100;

const ipv4Add = (addr: string, n: number) => formatIpv4((parseIpv4(addr) + n) >>> 0);

export interface AgentNode {
  name: string;
  ns: Netns;
  dir: string;
  argv: string[];
  proc: BackgroundProcess;
  /** `10.244.N.0/24` from subnet.env, once ready. */
  subnet: string;
  mtu: number;
}

/** Writes net-conf.json into the scope's directory; returns its path. */
export function writeNetConf(scope: LabScope, conf: object): string {
  mkdirSync(scope.dir, { recursive: true });
  const path = join(scope.dir, 'net-conf.json');
  writeFileSync(path, JSON.stringify(conf));
  return path;
}

/** Starts `weft agent` on `ns` (embedded store shared through the scope's directory) and waits for /readyz. */
export async function startAgentNode(
  scope: LabScope,
  name: string,
  ns: Netns,
  netConf: string,
  publicIp: string,
  extra: string[] = [],
): Promise<AgentNode> {
  const dir = join(scope.dir, name);
  mkdirSync(dir, { recursive: true });
  const argv = weftArgv(
    'agent',
    '--config',
    netConf,
    '--public-ip',
    publicIp,
    '--iface',
    'eth0',
    '--store',
    `embedded:${join(scope.dir, 'leases.db')}`,
    '--subnet-file',
    join(dir, 'subnet.env'),
    '--metrics-port',
    String(METRICS_PORT),
    '--node-name',
    name,
    ...extra,
  );
  const node: AgentNode = { name, ns, dir, argv, proc: scope.spawn(`agent-${name}`, ns, argv), subnet: '', mtu: 0 };
  await waitReady(node);
  return node;
}

/** Starts the agent of `node` again with the same argv and waits for /readyz. */
export async function restartAgentNode(scope: LabScope, node: AgentNode, label: string): Promise<void> {
  node.proc = scope.spawn(label, node.ns, node.argv);
  await waitReady(node);
}

async function waitReady(node: AgentNode): Promise<void> {
  const env = join(node.dir, 'subnet.env');
  await waitFor(
    async () => {
      if (!node.proc.running) throw new Error(`agent ${node.name} exited:\n${node.proc.log().slice(-2000)}`);
      return existsSync(env) && (await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/readyz`)) !== null;
    },
    45_000,
    `agent ${node.name} /readyz`,
  );
  const values = readSubnetEnv(env) ?? {};
  const [first, len] = (values.FLANNEL_SUBNET ?? '').split('/');
  node.subnet = `${first!.replace(/\.\d+$/, '.0')}/${len}`;
  node.mtu = Number(values.FLANNEL_MTU);
}

/** Peer routes the agent reports in /status. */
export async function statusRoutes(node: AgentNode): Promise<{ subnet: string; via: string; vtepMac?: string }[]> {
  const body = await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
  return body ? (JSON.parse(body) as { routes: { subnet: string; via: string; vtepMac?: string }[] }).routes : [];
}

/** One pod on `node`: cni0 bridge (created on the first pod) holding the subnet's first address, pod = .2. */
export async function addPod(scope: LabScope, node: AgentNode): Promise<{ ns: Netns; ip: string }> {
  const [base, len] = node.subnet.split('/') as [string, string];
  const gw = ipv4Add(base, 1);
  const ip = ipv4Add(base, 2);
  await node.ns.ipBatch([
    `link add cni0 mtu ${node.mtu} type bridge`,
    `addr add ${gw}/${len} dev cni0`,
    'link set cni0 up',
  ]);
  const ns = await scope.netns(`${node.name}p`);
  await scope.veth(ns, 'eth0', node.ns, 'veth1', node.mtu);
  await node.ns.ip(['link', 'set', 'veth1', 'master', 'cni0']);
  await ns.ipBatch([`addr add ${ip}/${len} dev eth0`, `route add default via ${gw}`]);
  return { ns, ip };
}

/**
 * The source address a TCP connection from `from` to `to`:`port` arrives with, as the server sees it: a one-shot
 * server in `serverNs` prints the peer address. Null when the connection fails (bounded by 5 s).
 */
export async function peerAddressSeen(
  scope: LabScope,
  serverNs: Netns,
  from: Netns,
  to: string,
  port: number,
  label: string,
): Promise<string | null> {
  const server = scope.spawn(label, serverNs, [
    process.execPath,
    '-e',
    `const s=require('net').createServer((c)=>{console.log('PEER '+c.remoteAddress);c.end();s.close();}).listen(${port},()=>console.log('LISTENING'));setTimeout(()=>process.exit(0),8000);`,
  ]);
  try {
    await waitFor(() => server.log().includes('LISTENING'), 5000, `${label} to listen`);
    const client = await from.exec(
      [
        process.execPath,
        '-e',
        `const c=require('net').connect(${port},'${to}');c.on('error',()=>process.exit(1));c.resume();c.on('end',()=>process.exit(0));setTimeout(()=>process.exit(2),5000);`,
      ],
      { allowFailure: true, timeoutMs: 10_000 },
    );
    if (client.code !== 0) return null;
    await waitFor(() => /PEER /.test(server.log()), 3000, `${label} to see the peer`);
    return /PEER (?:::ffff:)?([\d.]+)/.exec(server.log())?.[1] ?? null;
  } finally {
    await server.stop(1000);
  }
}
