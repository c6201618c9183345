// `weft trace SRC_POD DST_POD [--lab NAME] [--pcap DIR] [--ipv6] [--json]`: sends one ping between two pods of a lab and
// prints its path hop by hop, request then reply: the pod's route, the node's kernel route, the TUN, the
// forwarding-table decision (which lease or BGP route, which peer, which VTEP MAC), the bytes the backend adds,
// the underlay, and the same on the other node.
//
// Design notes: the evidence comes from three places, each optional beyond the first. (1) `ip route get` in the
// namespaces and the agents' /status (routes, counters before/after the ping) always work. (2) The agents' pcapng
// captures (`weft lab up --pcap DIR`; found from the agent's command line, or given with --pcap) show each leg's
// bytes, so "bytes added" is measured (wire length minus TUN length) rather than computed from header sizes.
// (3) The native backend has no TUN and no agent capture: a tcpdump on the source node's eth0 shows the bare packet.
// An IPv6 ping (`--ipv6`, or a pod given by its IPv6 address) takes the pods' IPv6 addresses, subnets and the
// nodes' IPv6 underlay addresses (trace-family.ts); its underlay bytes always come from the eth0 tcpdump.
import { cliProgram, parseCli } from '@weft/agent';
import { existsSync, readFileSync, readdirSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { join, isAbsolute } from 'node:path';
import { tmpdir } from 'node:os';
import { run, haveCommand, Netns } from '@weft/lab';
import { httpGetIn, METRICS_PORT } from './lab/lab-up.ts';
import { pingLegsSettled, NamespaceCapture, outermost, outerAddress, type PingLeg } from './trace-capture.ts';
import {
  inSubnet,
  nodeSubnet,
  nodeUnderlay,
  overhead,
  podAddress,
  underlayFilter,
  type TraceFamily,
} from './trace-family.ts';

/** The part of a lab's description (`weft lab up`'s JSON, describeLab) that trace reads. */
export interface TraceLab {
  name: string;
  backend: 'udp' | 'vxlan' | 'native';
  routeSync: 'lease' | 'bgp';
  nodes: {
    name: string;
    namespace: string;
    underlayIp: string;
    underlayIp6?: string;
    subnet: string | null;
    subnet6?: string | null;
    agentPid: number | null;
    pods: { name: string; namespace: string; ip: string; ip6?: string }[];
  }[];
}
type TNode = TraceLab['nodes'][number];
type TPod = TNode['pods'][number];

interface Status {
  lease: { subnet: string; publicIp: string; vtepMac?: string } | null;
  routes: { subnet: string; via: string; vtepMac?: string }[];
  counters: Record<string, number>;
  bgp?: { address: string; state: string; prefixesReceived: number }[];
}

export interface TraceResult {
  lines: string[];
  replied: boolean;
  /** Bytes the backend put in front of the pod's packet on the underlay (outer headers included). */
  bytesAdded: number;
  measured: boolean;
  /** Every capture sighting of the ping, in the order: source node, destination node (or the eth0 tcpdump). */
  legs: { node: string; leg: PingLeg }[];
  family: TraceFamily;
}

const PORTS: Record<TraceLab['backend'], number> = { udp: 8285, vxlan: 8472, native: 0 };

function findPod(lab: TraceLab, name: string): { node: TNode; pod: TPod } {
  for (const node of lab.nodes) {
    const pod = node.pods.find((p) => p.name === name || p.ip === name || p.ip6 === name);
    if (pod) return { node, pod };
  }
  throw new TraceError(
    `lab ${lab.name} has no pod "${name}" (pods: ${lab.nodes.flatMap((n) => n.pods.map((p) => p.name)).join(', ')})`,
  );
}

export class TraceError extends Error {
  override name = 'TraceError';
}

async function status(node: TNode): Promise<Status | null> {
  const body = await httpGetIn(new Netns(node.namespace), `http://127.0.0.1:${METRICS_PORT}/status`);
  return body ? (JSON.parse(body) as Status) : null;
}

async function routeGet(ns: string, dst: string): Promise<string> {
  const r = await run(['ip', 'netns', 'exec', ns, 'ip', '-o', 'route', 'get', dst], { allowFailure: true });
  return (
    r.stdout
      .split('\n')[0]!
      .replace(/\s+uid \d+.*$/, '')
      .replace(/ from :: /, ' ') // IPv6: the unspecified source the query had, not part of the route
      .replace(/\\/g, '')
      .trim() || `(ip route get failed: ${r.stderr.trim()})`
  );
}

/** The agent's capture file, from its command line (`--pcap FILE`) or `DIR/NODE.pcapng`. */
function captureFile(node: TNode, pcapDir?: string): string | null {
  if (pcapDir) return join(pcapDir, `${node.name}.pcapng`);
  try {
    const argv = readFileSync(`/proc/${node.agentPid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--pcap');
    if (i < 0 || !argv[i + 1]) return null;
    return isAbsolute(argv[i + 1]!) ? argv[i + 1]! : join(readlinkSync(`/proc/${node.agentPid}/cwd`), argv[i + 1]!);
  } catch {
    return null;
  }
}

const delta = (before: Status | null, after: Status | null, key: string) =>
  (after?.counters[key] ?? 0) - (before?.counters[key] ?? 0);

/** Which lease or BGP route sends `dst` to which peer, as the agent on `node` reports it. */
function decision(lab: TraceLab, st: Status | null, dst: string): { text: string; via?: string; vtepMac?: string } {
  const route = st?.routes.find((r) => inSubnet(dst, r.subnet));
  if (!route) return { text: `no route for ${dst} in the agent's table` };
  const owner = lab.nodes.find((n) => n.underlayIp === route.via || n.underlayIp6 === route.via);
  const mac = route.vtepMac ? `, VTEP MAC ${route.vtepMac}` : '';
  const source =
    lab.routeSync === 'bgp'
      ? `BGP route learned from ${route.via}${sessionNote(st, route.via)}`
      : `lease ${route.subnet} of ${owner?.name ?? 'a peer'} (public IP ${route.via})`;
  return { text: `${route.subnet} -> peer ${route.via}${mac}: ${source}`, via: route.via, vtepMac: route.vtepMac };
}

function sessionNote(st: Status | null, peer: string): string {
  const s = st?.bgp?.find((b) => b.address === peer);
  return s ? ` (session ${s.state}, ${s.prefixesReceived} prefixes received)` : '';
}

const row = (n: number, where: string, what: string, detail: string) =>
  `  ${String(n).padStart(2)}  ${where.padEnd(9)} ${what.padEnd(22)} ${detail}`;

interface Side {
  family: TraceFamily;
  from: { node: TNode; pod: TPod };
  to: { node: TNode; pod: TPod };
  before: [Status | null, Status | null];
  after: [Status | null, Status | null];
}

type Seen = (iface: string) => PingLeg | undefined;
/** The bytes on the underlay: the agent's wire side (IPv4), else the eth0 frame less its Ethernet header. */
const ipLength = (leg: PingLeg) => (leg.iface === 'eth0' ? leg.length - 14 : leg.length);

/** The hops on the receiving node, numbered from `n`: UDP socket and TUN (overlays), the route to the pod. */
async function arrivalLines(lab: TraceLab, s: Side, n: number, seen: Seen, underIface: string): Promise<string[]> {
  const { from, to, family } = s;
  const lines: string[] = [];
  if (lab.backend !== 'native') {
    const rx = delta(s.before[1], s.after[1], 'rx_packets');
    const inWire = seen(underIface);
    const inBytes = inWire ? `, ${ipLength(inWire)} bytes captured on "${underIface}"` : '';
    const peer = nodeUnderlay(from.node, family);
    lines.push(row(n++, to.node.name, 'UDP socket', `from peer ${peer}: decapsulated${inBytes} (rx_packets +${rx})`));
    const inTun = seen('tun');
    const wrote = `weft wrote ${inTun ? `${inTun.length} bytes` : 'the packet'} to the TUN`;
    lines.push(row(n++, to.node.name, 'flannel0 (TUN)', wrote));
  }
  const route = await routeGet(to.node.namespace, podAddress(to.pod, family)!);
  lines.push(row(n++, to.node.name, 'kernel route', `${route} -> ${to.pod.name} eth0`));
  return lines;
}

/** The hops of one direction (request or reply) as lines. */
async function legLines(
  lab: TraceLab,
  s: Side,
  kind: 'request' | 'reply',
  legs: { node: string; leg: PingLeg }[],
): Promise<string[]> {
  const { from, to, family } = s;
  const [dst, fromUnderlay] = [podAddress(to.pod, family)!, nodeUnderlay(from.node, family)];
  const lines: string[] = [];
  // The tcpdump on eth0 (native, IPv6) sees both directions on the one segment, whichever node it ran on.
  const seen = (node: string, iface: string) =>
    legs.find((l) => (l.node === node || iface === 'eth0') && l.leg.kind === kind && l.leg.iface === iface)?.leg;
  const underIface = lab.backend === 'native' || family === 6 ? 'eth0' : 'wire';
  let n = 1;
  const podRoute = await routeGet(from.pod.namespace, dst);
  lines.push(
    row(
      n++,
      from.pod.name,
      'pod eth0 -> veth',
      `${podRoute} (the pod's veth pair ends on ${from.node.name}'s cni0 bridge)`,
    ),
  );
  if (from.node === to.node) {
    lines.push(
      row(
        n++,
        from.node.name,
        'kernel route',
        `${await routeGet(from.node.namespace, dst)}: same node, bridged on cni0, no tunnel`,
      ),
    );
    return lines;
  }
  lines.push(row(n++, from.node.name, 'kernel route', await routeGet(from.node.namespace, dst)));
  const tx = delta(s.before[0], s.after[0], 'tx_packets');
  const dec = decision(lab, s.after[0], dst);
  const tun = seen(from.node.name, 'tun');
  const under = seen(from.node.name, underIface);
  const [weft, kernel, how] = overhead(lab.backend, family);
  const added = tun && under ? ipLength(under) - tun.length : weft + kernel;
  if (lab.backend !== 'native') {
    lines.push(
      row(
        n++,
        from.node.name,
        'flannel0 (TUN)',
        `weft read ${tun ? `${tun.length} bytes` : 'the packet'} from the TUN (tx_packets +${tx}${tun ? ', captured on "tun"' : ''})`,
      ),
    );
  }
  lines.push(row(n++, from.node.name, 'forwarding decision', dec.text));
  const source = tun && under ? `measured: ${underIface} minus TUN length` : 'from header sizes';
  lines.push(
    row(
      n++,
      from.node.name,
      'bytes added',
      `${added}, ${source} (${how}${weft + kernel === added ? '' : `; header sizes say ${weft + kernel}`})`,
    ),
  );
  const outer = under
    ? `${outerAddress(under.packet, 'src')} -> ${outerAddress(under.packet, 'dst')}`
    : `${fromUnderlay} -> ${dec.via ?? '?'}`;
  const proto =
    lab.backend === 'native'
      ? 'the pod packet itself, no outer header'
      : `UDP to port ${PORTS[lab.backend]}${lab.backend === 'vxlan' && under ? `, VNI ${outermost(under.packet, 'vxlan.vni')}` : ''}`;
  lines.push(
    row(
      n++,
      'underlay',
      `${from.node.name} eth0 -> ${to.node.name} eth0`,
      `${outer}, ${proto}${under ? `, ${under.length} bytes captured${underIface === 'eth0' ? ' on eth0' : ''}` : ''}`,
    ),
  );
  lines.push(...(await arrivalLines(lab, s, n, (iface) => seen(to.node.name, iface), underIface)));
  return lines;
}

/**
 * The ping in the agents' pcapng files (none for native). For IPv6 only their "tun" side: the underlay's bytes
 * come from the eth0 tcpdump (the "wire" side carries the IPv6 outer header too, but one source per family keeps
 * the figures comparable with the native backend's).
 */
async function collectLegs(
  lab: TraceLab,
  a: TNode,
  b: TNode,
  since: number,
  src: string,
  dst: string,
  pcapDir?: string,
): Promise<{ node: string; leg: PingLeg }[]> {
  const out: { node: string; leg: PingLeg }[] = [];
  const v6 = src.includes(':');
  for (const node of a === b ? [a] : [a, b]) {
    const file = captureFile(node, pcapDir);
    if (!file || lab.backend === 'native') continue;
    for (const leg of await pingLegsSettled(file, since, src, dst, v6 ? 2 : 4))
      if (!v6 || leg.iface === 'tun') out.push({ node: node.name, leg });
  }
  return out;
}

/** The family of the ping: IPv6 when asked, when a pod is named by its IPv6 address, or in an IPv6-only lab. */
function familyOf(lab: TraceLab, names: string[], pods: TPod[], asked?: TraceFamily): TraceFamily {
  const family = asked ?? (names.some((n) => n.includes(':')) || pods.every((p) => p.ip.includes(':')) ? 6 : 4);
  for (const p of pods)
    if (!podAddress(p, family))
      throw new TraceError(
        `pod ${p.name} has no IPv${family} address in lab ${lab.name}${family === 6 ? ' (an IPv6 ping needs weft lab up --dual-stack or --ipv6-only)' : ''}`,
      );
  return family;
}

/** Pings `dstName` from `srcName` once and explains the path. Throws TraceError for unknown pods. */
export async function trace(
  lab: TraceLab,
  srcName: string,
  dstName: string,
  opts: { pcapDir?: string; underlayDir?: string; family?: TraceFamily } = {},
): Promise<TraceResult> {
  const from = findPod(lab, srcName);
  const to = findPod(lab, dstName);
  const family = familyOf(lab, [srcName, dstName], [from.pod, to.pod], opts.family);
  const [src, dst] = [podAddress(from.pod, family)!, podAddress(to.pod, family)!];
  const before: [Status | null, Status | null] = [await status(from.node), await status(to.node)];
  const dir = opts.underlayDir ?? mkdtempSync(join(tmpdir(), 'weft-trace-'));
  const filter = underlayFilter(lab.backend, family);
  const tcpdump =
    (lab.backend === 'native' || family === 6) && haveCommand('tcpdump')
      ? new NamespaceCapture(from.node.namespace, 'eth0', filter, join(dir, 'eth0.pcap'))
      : null;
  try {
    await tcpdump?.ready;
    const since = Date.now() / 1000 - 0.05;
    const ping = await run(['ip', 'netns', 'exec', from.pod.namespace, 'ping', '-c', '1', '-W', '3', dst], {
      allowFailure: true,
      timeoutMs: 10_000,
    });
    const replied = /\b1 (packets )?received\b/.test(ping.stdout);
    await new Promise((r) => setTimeout(r, lab.backend === 'native' ? 300 : 1200)); // the agents flush captures once a second
    await tcpdump?.stop();
    const after: [Status | null, Status | null] = [await status(from.node), await status(to.node)];
    const legs = await collectLegs(lab, from.node, to.node, since, src, dst, opts.pcapDir);
    if (tcpdump)
      for (const leg of await pingLegsSettled(tcpdump.file, since, src, dst, 2, 2))
        legs.push({ node: from.node.name, leg: { ...leg, iface: 'eth0' } });
    const underIface = lab.backend === 'native' || family === 6 ? 'eth0' : 'wire';
    const req = legs.find((l) => l.node === from.node.name && l.leg.kind === 'request' && l.leg.iface === underIface);
    const reqTun = legs.find((l) => l.node === from.node.name && l.leg.kind === 'request' && l.leg.iface === 'tun');
    const [w, k] = overhead(lab.backend, family);
    const measured = !!(req && reqTun);
    const frame = underIface === 'eth0' ? 14 : 0; // the tcpdump sees the Ethernet header too
    const bytesAdded = measured ? req!.leg.length - frame - reqTun!.leg.length : w + k;
    const side: Side = { family, from, to, before, after };
    const back: Side = { family, from: to, to: from, before: [before[1], before[0]], after: [after[1], after[0]] };
    const lines = [
      `trace ${from.pod.name} (${src} on ${from.node.name}, subnet ${nodeSubnet(from.node, family)}) -> ${to.pod.name} (${dst} on ${to.node.name}, subnet ${nodeSubnet(to.node, family)})`,
      `lab ${lab.name}: ${lab.backend} backend, routes from ${lab.routeSync === 'bgp' ? 'BGP' : 'leases'}; evidence: ${evidence(lab, legs, from.node, family, opts.pcapDir)}`,
      'request (echo request):',
      ...(await legLines(lab, side, 'request', legs)),
      'reply (echo reply):',
      ...(await legLines(lab, back, 'reply', legs)),
      resultLine(replied, ping.stdout, legs, back, lab),
    ];
    return { lines, replied, bytesAdded, measured, legs, family };
  } finally {
    await tcpdump?.stop();
    if (!opts.underlayDir) rmSync(dir, { recursive: true, force: true });
  }
}

function evidence(
  lab: TraceLab,
  legs: { node: string; leg: PingLeg }[],
  src: TNode,
  family: TraceFamily,
  pcapDir?: string,
): string {
  if (lab.backend === 'native')
    return legs.length
      ? 'routes and a tcpdump on the source node eth0 (no TUN, so no agent counters or captures)'
      : 'routes (no tcpdump here)';
  const tun = legs.some((l) => l.leg.iface === 'tun');
  if (family === 6 && legs.length)
    return `routes, counters, ${tun ? `the agents' TUN captures (${captureFile(src, pcapDir)} ...) and ` : ''}a tcpdump on the source node eth0 (the IPv6 underlay)`;
  if (legs.length) return `routes, counters and the agents' captures (${captureFile(src, pcapDir)} ...)`;
  return 'routes and counters only: this lab has no captures; `weft lab up --pcap DIR` (or trace --pcap DIR) adds the bytes of each leg';
}

function resultLine(
  replied: boolean,
  pingOut: string,
  legs: { node: string; leg: PingLeg }[],
  back: Side,
  lab: TraceLab,
): string {
  const rtt = /time=([\d.]+) ms/.exec(pingOut)?.[1];
  const where = legs
    .filter((l) => l.leg.kind === 'reply')
    .sort((x, y) => x.leg.timestamp - y.leg.timestamp)
    .map((l) => `${l.node} ${l.leg.iface}${l.leg.direction ? ` ${l.leg.direction}` : ''}`);
  let seen = where.length ? `; reply seen on the way back at: ${where.join(', ')}` : '';
  if (!where.length && lab.backend !== 'native') {
    // No capture of it: the counters still show the reply crossing both agents.
    const tx = delta(back.before[0], back.after[0], 'tx_packets');
    const rx = delta(back.before[1], back.after[1], 'rx_packets');
    seen = `; reply counted on the way back: ${back.from.node.name} tx_packets +${tx}, ${back.to.node.name} rx_packets +${rx} (no capture of it)`;
  }
  return replied ? `result: reply received (rtt ${rtt} ms)${seen}` : `result: NO reply within 3 s${seen}`;
}

function traceProgram() {
  return cliProgram(
    'trace',
    'One ping from SRC_POD to DST_POD in a lab, followed hop by hop (routes, counters, captures).',
  )
    .usage('SRC_POD DST_POD [--lab NAME] [--pcap DIR] [--ipv6] [--json]')
    .argument('<SRC_POD>', 'the pod that pings')
    .argument('<DST_POD>', 'the pod pinged')
    .option('--lab <NAME>', 'the lab (default: the only one up)')
    .option('--pcap <DIR>', "where the agents' --pcap captures are")
    .option('-6, --ipv6', "ping the pods' IPv6 addresses (dual-stack labs)")
    .option('--json', 'lines, replied, bytesAdded and measured as JSON');
}

/** Reads `weft lab up`'s state file for lab `name`. */
export function loadLab(name: string): TraceLab {
  const f = join('/tmp', `weft-lab-${name}`, 'lab.json');
  if (!existsSync(f))
    throw new TraceError(`no lab "${name}" (no ${f}); start one with weft lab up --name ${name} --pcap DIR`);
  return (JSON.parse(readFileSync(f, 'utf8')) as { description: TraceLab }).description;
}

function onlyLab(): string {
  const labs = readdirSyncSafe('/tmp').filter(
    (d) => d.startsWith('weft-lab-') && existsSync(join('/tmp', d, 'lab.json')),
  );
  if (labs.length !== 1)
    throw new TraceError(
      labs.length
        ? `several labs are up (${labs.map((d) => d.slice(9)).join(', ')}): pass --lab NAME`
        : 'no lab is up: weft lab up --name NAME --pcap DIR',
    );
  return labs[0]!.slice('weft-lab-'.length);
}

function readdirSyncSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

export async function traceCommand(argv: string[]): Promise<number> {
  const parsed = parseCli(traceProgram(), argv);
  if (!parsed.ok) return parsed.code;
  const values = parsed.opts as { lab?: string; pcap?: string; json?: boolean; ipv6?: boolean };
  const [src, dst] = parsed.args as [string, string];
  try {
    const lab = loadLab(values.lab ?? onlyLab());
    const r = await trace(lab, src, dst, { pcapDir: values.pcap, ...(values.ipv6 ? { family: 6 } : {}) });
    if (values.json) {
      const { lines, replied, bytesAdded, measured, family } = r;
      console.log(JSON.stringify({ lines, replied, bytesAdded, measured, family }, null, 2));
    } else console.log(r.lines.join('\n'));
    return r.replied ? 0 : 1;
  } catch (e) {
    if (e instanceof TraceError) {
      process.stderr.write(`weft trace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
