// `weft lab up|exec|status|down`: a lab that outlives the command that built it, recorded in a state file.
import { cliProgram, parseCli } from '@weft/agent';
import { readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run, listLabNamespaces, labOwner, LAB_NETNS_PREFIX } from '@weft/lab';
import {
  labUp,
  describeLab,
  METRICS_PORT,
  weftArgv,
  type BackendType,
  type LabFamilies,
  type RouteSync,
  type StoreKind,
} from './lab-up.ts';

const USAGE = `usage:
  weft lab up --name NAME [--nodes 3] [--pods 1] [--backend udp|vxlan|native] [--route-sync lease|bgp]
              [--store embedded|etcd] [--mtu 1500] [--pcap DIR] [--dual-stack | --ipv6-only]
  weft lab exec NAME NODE_OR_POD -- CMD...
  weft lab status NAME
  weft lab down NAME | --all
  weft lab demo [--backend B] [--route-sync R] [--nodes N] [--dual-stack | --ipv6-only]   (what npm run lab runs)
`;

interface LabState {
  name: string;
  dir: string;
  description: object;
  namespaces: string[];
  processes: { label: string; pid: number; pidFile: string; log: string }[];
}

const stateFile = (name: string) => join('/tmp', `weft-lab-${name}`, 'lab.json');

function loadState(name: string): LabState {
  const f = stateFile(name);
  if (!existsSync(f)) throw new UsageError(`no lab "${name}" (no ${f}); \`weft lab down --all\` removes leftovers`);
  return JSON.parse(readFileSync(f, 'utf8')) as LabState;
}

class UsageError extends Error {
  override name = 'UsageError';
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--${flag} must be an integer 1..${max}, got "${value}"`);
  return n;
}

function upProgram() {
  return cliProgram(
    'lab up',
    'Builds a lab of weft agents in network namespaces that outlives this command (weft lab down removes it).',
  )
    .requiredOption('--name <NAME>', 'the lab name (namespaces wl-NAME-...)')
    .option('--nodes <N>', 'nodes', '3')
    .option('--pods <N>', 'pods per node', '1')
    .option('--backend <B>', 'udp, vxlan or native', 'vxlan')
    .option('--route-sync <R>', 'lease or bgp', 'lease')
    .option('--store <S>', 'embedded or etcd', 'embedded')
    .option('--mtu <BYTES>', 'underlay MTU', '1500')
    .option('--pcap <DIR>', "the agents' pcapng captures (weft trace reads them)")
    .option('--dual-stack', 'pods get an IPv4 and an IPv6 address (EnableIPv6, IPv6 underlay)')
    .option('--ipv6-only', 'pods get an IPv6 address only (EnableIPv4 false)');
}

/** --dual-stack / --ipv6-only (one of them at most) as the lab's families. */
export function labFamilies(o: { dualStack?: boolean; ipv6Only?: boolean }): LabFamilies {
  if (o.dualStack && o.ipv6Only) throw new UsageError('--dual-stack and --ipv6-only exclude each other');
  return o.dualStack ? 'dual-stack' : o.ipv6Only ? 'ipv6-only' : 'ipv4';
}

async function up(argv: string[]): Promise<number> {
  const parsed = parseCli(upProgram(), argv);
  if (!parsed.ok) return parsed.code;
  const o = parsed.opts as { name: string; routeSync: string } & Record<string, string>;
  const families = labFamilies(parsed.opts as { dualStack?: boolean; ipv6Only?: boolean });
  const values: Record<string, string | undefined> & { name: string } = { ...o, 'route-sync': o.routeSync };
  if (!values.name) throw new UsageError('--name is required');
  if (existsSync(stateFile(values.name)))
    throw new UsageError(`lab "${values.name}" is already up; \`weft lab down ${values.name}\` first`);
  const started = await labUp(
    {
      name: values.name,
      nodes: positiveInt('nodes', values.nodes!, 50),
      pods: positiveInt('pods', values.pods!, 50),
      backend: oneOf<BackendType>('backend', values.backend!, ['udp', 'vxlan', 'native']),
      routeSync: oneOf<RouteSync>('route-sync', values['route-sync']!, ['lease', 'bgp']),
      store: oneOf<StoreKind>('store', values.store!, ['embedded', 'etcd']),
      underlayMtu: positiveInt('mtu', values.mtu!, 9000),
      pcapDir: values.pcap,
      persistent: true,
      ...(families !== 'ipv4' ? { families } : {}),
    },
    (m) => console.error(`lab: ${m}`),
  );
  const description = describeLab(started);
  const released = started.lab.scope.release();
  const state: LabState = { name: values.name, dir: started.lab.scope.dir, description, ...released };
  writeFileSync(stateFile(values.name), JSON.stringify(state, null, 2));
  console.log(JSON.stringify(description, null, 2));
  return 0;
}

function exec(argv: string[]): number {
  const dash = argv.indexOf('--');
  const [name, member] = argv;
  const cmd = dash >= 0 ? argv.slice(dash + 1) : argv.slice(2);
  if (!name || !member || cmd.length === 0) throw new UsageError('weft lab exec NAME NODE_OR_POD -- CMD...');
  const state = loadState(name);
  const ns = `${LAB_NETNS_PREFIX}${name}-${member}`;
  if (!state.namespaces.includes(ns)) throw new UsageError(`lab ${name} has no node or pod "${member}"`);
  return spawnSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' }).status ?? 1;
}

function alive(pid: number, expect: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect);
  } catch {
    return false;
  }
}

interface LabNodeDescription {
  name: string;
  namespace: string;
  agentPid: number;
  underlayIp: string;
  underlayIp6?: string;
  subnet: string | null;
  subnet6?: string | null;
  pods: { name: string; ip: string; ip6?: string }[];
}

/** A dual-stack or IPv6-only lab's node: both families' underlay addresses, subnets and pod addresses. */
function addressesOf(n: LabNodeDescription): object {
  return {
    underlay: [n.underlayIp, n.underlayIp6],
    subnets: [n.subnet, n.subnet6].filter((s, i, all) => s && all.indexOf(s) === i),
    pods: n.pods.map((p) => ({ name: p.name, ips: p.ip6 && p.ip6 !== p.ip ? [p.ip, p.ip6] : [p.ip] })),
  };
}

async function status(argv: string[]): Promise<number> {
  const state = loadState(argv[0] ?? '');
  const nodes = (state.description as { nodes: LabNodeDescription[] }).nodes;
  const out = [];
  for (const n of nodes) {
    const r = await run(
      ['ip', 'netns', 'exec', n.namespace, ...weftArgv('status', '--metrics-port', String(METRICS_PORT), '--json')],
      { allowFailure: true },
    );
    out.push({
      node: n.name,
      agentPid: n.agentPid,
      running: alive(n.agentPid, 'weft'),
      ...(n.underlayIp6 ? { addresses: addressesOf(n) } : {}),
      status: r.code === 0 ? JSON.parse(r.stdout) : r.stderr.trim(),
    });
  }
  console.log(JSON.stringify({ name: state.name, nodes: out }, null, 2));
  return 0;
}

/** Stops the lab's processes by the PIDs it recorded (only while they still run what we started), then its namespaces. */
async function downOne(name: string): Promise<void> {
  const f = stateFile(name);
  if (existsSync(f)) {
    const state = JSON.parse(readFileSync(f, 'utf8')) as LabState;
    for (const p of state.processes) {
      if (alive(p.pid, p.label.startsWith('agent') ? 'weft' : p.label)) {
        console.error(`lab ${name}: stopping ${p.label} (pid ${p.pid})`);
        process.kill(p.pid, 'SIGTERM');
        for (let i = 0; i < 50 && alive(p.pid, ''); i++) await new Promise((r) => setTimeout(r, 100));
        if (alive(p.pid, '')) process.kill(p.pid, 'SIGKILL');
      }
    }
  }
  for (const ns of await listLabNamespaces(name)) {
    console.error(`lab ${name}: deleting namespace ${ns}`);
    await run(['ip', 'netns', 'del', ns], { allowFailure: true });
  }
  rmSync(join('/tmp', `weft-lab-${name}`), { recursive: true, force: true });
}

async function down(argv: string[]): Promise<number> {
  if (argv[0] === '--all') {
    const names = new Set(
      readdirSync('/tmp')
        .filter((d) => d.startsWith('weft-lab-'))
        .map((d) => d.slice('weft-lab-'.length)),
    );
    for (const ns of await listLabNamespaces()) names.add(ns.slice(LAB_NETNS_PREFIX.length).replace(/-[^-]+$/, ''));
    for (const name of names) {
      const owner = labOwner(name);
      if (owner !== null) console.error(`lab ${name}: in use by running process ${owner}; not touched`);
      else await downOne(name);
    }
    return 0;
  }
  if (!argv[0]) throw new UsageError('weft lab down NAME | --all');
  await downOne(argv[0]);
  return 0;
}

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'up':
        return await up(rest);
      case 'exec':
        return exec(rest);
      case 'status':
        return await status(rest);
      case 'down':
        return await down(rest);
      case 'demo':
        return await (await import('./demo.ts')).demo(rest);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(USAGE);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`weft lab: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`weft lab ${sub}: ${(e as Error).message}\nclean up leftovers with: weft lab down --all\n`);
    return 1;
  }
}
