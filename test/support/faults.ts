// Observing a lab through faults, shared by the fault tests (test/faults-*.test.ts) and the soak (soak.ts):
// traffic probes that say how many packets a fault cost and how long forwarding stalled, snapshots of a node's
// routes, firewall rules and links (to find duplicates a restart left), a guard that keeps checking that no two
// nodes hold the same subnet, the lab-wide lease/route consistency check, and an agent's RSS and CPU time.
// Probes are background processes of the lab's scope (ping, a small Node TCP source and sink), so they end
// with the lab; their logs are parsed after the fact, which costs the lab nothing while it runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess, LabNode, LabPod, LabScope, Netns } from '@weft/lab';
import { readSubnetEnv } from '@weft/agent';
import type { RunningLab } from 'weft/lab';
import { METRICS_PORT } from 'weft/lab';
import { etcdGetPrefix, type AgentStatusJson } from './agent-lab.ts';
import { pingEvents, pingReplies, pingWindow, type ProbeWindow } from './ping-log.ts';

export type { ProbeWindow } from './ping-log.ts';

const SUBNETS_PREFIX = '/coreos.com/network/subnets/';

/**
 * `ping -D -O` from a pod, one packet every `intervalS`, for at most `maxSeconds`; the log is parsed by window().
 * -O makes ping log every sequence number that got no reply in time ("no answer yet"), so packets sent during
 * an outage that has not ended yet are counted too, not only the gaps between replies.
 */
export class PingProbe {
  private constructor(
    readonly proc: BackgroundProcess,
    readonly intervalS: number,
  ) {}

  static start(scope: LabScope, from: LabPod, toIp: string, label: string, maxSeconds: number, intervalS = 0.1) {
    // Bounded by a packet count: ping's -w deadline makes it exit at the first ICMP error it receives, and
    // timeout(1) puts ping in a process group of its own, out of reach of a Ctrl-C, and leaves it running when
    // the lab's last-resort cleanup SIGKILLs timeout (the PID the scope knows).
    const count = String(Math.ceil(maxSeconds / intervalS));
    const argv = ['stdbuf', '-oL', 'ping', '-D', '-O', '-n', '-i', String(intervalS), '-c', count];
    return new PingProbe(scope.spawn(label, from.ns, [...argv, '-W', '1', toIp]), intervalS);
  }

  /** Replies as (sequence number, arrival ms), in log order, duplicates dropped. */
  replies(): { seq: number; t: number }[] {
    return pingReplies(pingEvents(this.proc.log()));
  }

  /** pingWindow over this probe's log so far. */
  window(t0: number, t1: number): ProbeWindow {
    return pingWindow(pingEvents(this.proc.log()), t0, t1, this.intervalS * 1000);
  }

  /**
   * Milliseconds from `t0` to the reply that ended the longest gap ending after `t0` (the outage a fault at `t0`
   * caused), or 0 when no gap there was longer than three intervals (forwarding never stopped); null while no
   * reply has arrived after the gap.
   */
  resumedAfter(t0: number): number | null {
    const rs = this.replies().filter((r) => r.t >= t0 - 1000);
    let best = { gap: 3 * this.intervalS * 1000, end: 0 };
    for (let i = 1; i < rs.length; i++) {
      const gap = rs[i]!.t - rs[i - 1]!.t;
      if (rs[i]!.t > t0 && gap > best.gap) best = { gap, end: rs[i]!.t };
    }
    if (best.end === 0) return rs.some((r) => r.t > t0) ? 0 : null;
    return Math.max(0, best.end - t0);
  }

  /** Arrival of the last reply, or 0. */
  lastReplyAt(): number {
    return this.replies().at(-1)?.t ?? 0;
  }
}

// The stream's two ends: the sink prints `B <ms> <bytes>` whenever its byte count moved (checked every 100 ms);
// the source writes 16 KB every 10 ms (at most 256 KB queued) and reconnects after an error, printing `R <ms> <n>`.
const STREAM_JS = `const net=require('net');const [mode,host,port,maxMs]=process.argv.slice(1);
setTimeout(()=>process.exit(0),Number(maxMs));
if(mode==='sink'){let total=0,last=-1;net.createServer(c=>{console.log('C '+Date.now());c.on('data',d=>{total+=d.length});c.on('error',()=>{})}).listen(Number(port),()=>console.log('LISTENING'));
setInterval(()=>{if(total!==last){last=total;console.log('B '+Date.now()+' '+total)}},100)}
else{const chunk=Buffer.alloc(16384);let n=0,sock=null;const connect=()=>{sock=net.connect(Number(port),host);sock.on('error',()=>{});sock.on('close',()=>{n++;console.log('R '+Date.now()+' '+n);setTimeout(connect,200)})};connect();
setInterval(()=>{if(sock&&!sock.connecting&&sock.writable&&sock.writableLength<262144)sock.write(chunk)},10)}`;

/** A rate-limited TCP stream (~1.6 MB/s) from one pod to another, reconnecting after errors. */
export class StreamProbe {
  private constructor(
    readonly sink: BackgroundProcess,
    readonly source: BackgroundProcess,
  ) {}

  static async start(scope: LabScope, from: LabPod, to: LabPod, port: number, label: string, maxSeconds: number) {
    const ms = String(Math.ceil(maxSeconds * 1000));
    const sink = scope.spawn(`${label}-sink`, to.ns, [process.execPath, '-e', STREAM_JS, 'sink', '', String(port), ms]);
    const deadline = Date.now() + 10_000;
    while (!sink.log().includes('LISTENING') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const args = [process.execPath, '-e', STREAM_JS, 'source', to.ip, String(port), ms];
    return new StreamProbe(sink, scope.spawn(`${label}-source`, from.ns, args));
  }

  private counts(): { t: number; bytes: number }[] {
    return [...this.sink.log().matchAll(/^B (\d+) (\d+)$/gm)].map((m) => ({ t: Number(m[1]), bytes: Number(m[2]) }));
  }

  /** Bytes delivered so far. */
  bytes(): number {
    return this.counts().at(-1)?.bytes ?? 0;
  }

  /** How often the source had to connect again (0: one connection carried everything). */
  reconnects(): number {
    return [...this.source.log().matchAll(/^R \d+ (\d+)$/gm)].length;
  }

  /** Bytes delivered in [t0, t1] (as `sent`), and the longest time the byte count stood still there. */
  window(t0: number, t1: number): ProbeWindow {
    const all = this.counts();
    const before = all.filter((c) => c.t < t0).at(-1);
    const inside = all.filter((c) => c.t >= t0 && c.t <= t1);
    const points = [before ? { t: t0, bytes: before.bytes } : null, ...inside].filter((p) => p !== null);
    let stallMs = 0;
    for (let i = 1; i < points.length; i++) stallMs = Math.max(stallMs, points[i]!.t - points[i - 1]!.t - 100);
    if (points.length) stallMs = Math.max(stallMs, t1 - points.at(-1)!.t - 100);
    const sent = (inside.at(-1)?.bytes ?? before?.bytes ?? 0) - (before?.bytes ?? 0);
    return { sent, lost: 0, stallMs: Math.max(0, Math.round(stallMs)) };
  }
}

/** A node's routes (all tables), firewall rules (counters dropped) and link names. */
export interface NetSnapshot {
  routes: string[];
  rules: string[];
  links: string[];
}

/** Reads what a node's namespace holds; rules are prefixed with their table (`filter: -A FORWARD ...`). */
export async function netSnapshot(ns: Netns): Promise<NetSnapshot> {
  const routes = (await ns.ip(['route', 'show', 'table', 'all'])).stdout;
  const save = (await ns.exec(['iptables-save'], { allowFailure: true })).stdout;
  const links = (await ns.ip(['-o', 'link', 'show'])).stdout;
  let table = '';
  const rules: string[] = [];
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith('-A ') || line.startsWith(':'))
      rules.push(`${table}: ${line.replace(/ \[\d+:\d+\]$/, '')}`);
  }
  return {
    // IPv6 link-local routes follow the kernel's random interface ids, new with every TUN device: not ours.
    routes: lines(routes).filter((l) => !/^(local )?fe80:/.test(l)),
    rules,
    links: lines(links).map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? l),
  };
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Lines that occur more than once (a rule, route or link added twice). */
export function duplicateLines(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const x of items) (seen.has(x) ? dup : seen).add(x);
  return [...dup];
}

/** What differs between two snapshots, as `+ line` / `- line` per part; empty when equal as sets. */
export function snapshotDiff(a: NetSnapshot, b: NetSnapshot): string[] {
  const out: string[] = [];
  for (const part of ['routes', 'rules', 'links'] as const) {
    const [sa, sb] = [new Set(a[part]), new Set(b[part])];
    for (const x of sb) if (!sa.has(x)) out.push(`${part} + ${x}`);
    for (const x of sa) if (!sb.has(x)) out.push(`${part} - ${x}`);
  }
  return out;
}

/** The subnet in a lab node's subnet.env (`10.244.N.0/24`), or null before the agent wrote one. */
export function subnetOf(run: RunningLab, node: LabNode): string | null {
  const env = readSubnetEnv(join(run.lab.scope.dir, node.name, 'subnet.env'));
  const [first, len] = (env?.FLANNEL_SUBNET ?? '').split('/');
  return first && len ? `${first.replace(/\.\d+$/, '.0')}/${len}` : null;
}

/**
 * Checks every `everyMs` (reading the nodes' subnet.env files, which costs no process) that no two nodes hold the
 * same subnet and that no node's subnet ever changes; stop() returns what it saw go wrong.
 */
export class SubnetGuard {
  readonly problems: string[] = [];
  checks = 0;
  private readonly first = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly run: RunningLab,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.check(), everyMs);
    this.check();
  }

  private check(): void {
    this.checks++;
    const holder = new Map<string, string>();
    for (const node of this.run.lab.nodes) {
      const subnet = subnetOf(this.run, node);
      if (!subnet) continue;
      const other = holder.get(subnet);
      if (other) this.note(`${other} and ${node.name} both hold ${subnet}`);
      holder.set(subnet, node.name);
      const was = this.first.get(node.name) ?? subnet;
      if (was !== subnet) this.note(`${node.name} moved from ${was} to ${subnet}`);
      this.first.set(node.name, was);
    }
  }

  private note(p: string): void {
    if (!this.problems.includes(p)) this.problems.push(`${new Date().toISOString()} ${p}`);
  }

  stop(): string[] {
    clearInterval(this.timer);
    this.check();
    return this.problems;
  }
}

/** An agent's /status through curl in its namespace (far cheaper than a Node process per call), or null. */
export async function statusOf(node: LabNode): Promise<AgentStatusJson | null> {
  const url = `http://127.0.0.1:${METRICS_PORT}/status`;
  const r = await node.ns.exec(['curl', '-sf', '-m', '5', url], { allowFailure: true, timeoutMs: 10_000 });
  return r.code === 0 ? (JSON.parse(r.stdout) as AgentStatusJson) : null;
}

/**
 * Lease-mode consistency of the whole lab, as a list of problems (empty when consistent): each node's agent
 * answers with a lease on its subnet.env subnet, etcd holds exactly one key per node with that node's PublicIP,
 * and each agent routes exactly the other nodes' subnets via their underlay addresses, plus `extra` routes.
 */
export async function labConsistency(run: RunningLab, extra: Record<string, string> = {}): Promise<string[]> {
  const problems: string[] = [];
  const nodes = run.lab.nodes;
  const kvs = (await etcdGetPrefix(run, SUBNETS_PREFIX)).map((kv) => ({
    subnet: kv.key.slice(SUBNETS_PREFIX.length).replace('-', '/'),
    publicIp: (JSON.parse(kv.value) as { PublicIP: string }).PublicIP,
  }));
  if (kvs.length !== nodes.length) problems.push(`etcd holds ${kvs.length} subnet keys for ${nodes.length} nodes`);
  const expected = new Map<string, string>();
  const statuses = new Map<string, AgentStatusJson | null>();
  for (const node of nodes) statuses.set(node.name, await statusOf(node));
  for (const node of nodes) {
    const subnet = subnetOf(run, node);
    const status = statuses.get(node.name);
    if (!status) problems.push(`${node.name}: /status does not answer`);
    else if (status.lease?.subnet !== subnet)
      problems.push(`${node.name}: leases ${status.lease?.subnet} but subnet.env says ${subnet}`);
    const keys = kvs.filter((kv) => kv.publicIp === node.underlayIp).map((kv) => kv.subnet);
    if (keys.length !== 1 || keys[0] !== subnet)
      problems.push(`${node.name}: etcd keys with its PublicIP: [${keys.join(', ')}], subnet.env ${subnet}`);
    if (subnet) expected.set(subnet, node.underlayIp);
  }
  for (const [subnet, via] of Object.entries(extra)) expected.set(subnet, via);
  for (const node of nodes) {
    const status = statuses.get(node.name);
    if (!status) continue;
    const want = [...expected].filter(([s, via]) => via !== node.underlayIp && s !== status.lease?.subnet);
    const have = status.routes.map((r) => `${r.subnet} via ${r.via}`).sort();
    const wantText = want.map(([s, via]) => `${s} via ${via}`).sort();
    if (have.join() !== wantText.join())
      problems.push(`${node.name}: routes [${have.join(', ')}], expected [${wantText.join(', ')}]`);
  }
  return problems;
}

/** Resident set (MB) and CPU seconds (user + system) of a process, from /proc; null once it is gone. */
export function procUsage(pid: number): { rssMb: number; cpuS: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { rssMb: rssKb / 1024, cpuS: ticks / 100 };
  } catch {
    return null;
  }
}
