// Measurements between two pods: iperf3 TCP (1 and 4 streams), iperf3 UDP with 64-byte payloads, sockperf
// ping-pong latency, ICMP echo round trips, and machine CPU seconds per GB moved (from /proc/stat, so kernel
// work counts too). Debian's sockperf (3.7) takes IPv4 addresses only, so an IPv6 server address has no sockperf
// figures; the echo round trips (ping, either family) are what the IPv6 cases and their IPv4 twins share.
import { readFileSync } from 'node:fs';
import type { Netns, BackgroundProcess, LabScope } from '@weft/lab';
import { iperf3 } from '../lib/iperf.ts';

export interface Endpoints {
  client: Netns;
  server: Netns;
  serverIp: string;
}

export interface CaseFigures {
  tcp1: number; // Gbit/s
  tcp4: number; // Gbit/s
  udp64: number; // packets/s received
  latencyP50?: number; // us (sockperf; IPv4 only)
  latencyP99?: number; // us (sockperf; IPv4 only)
  pingP50: number; // us
  pingP99: number; // us
  cpuPerGb: number; // CPU seconds per GB received during the tcp1 run
}

const CLK_TCK = 100;

/** Busy CPU jiffies of the whole machine: user, nice, system, irq, softirq, steal. */
function busyJiffies(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu as number[];
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

async function tcp(e: Endpoints, streams: number, seconds: number): Promise<{ gbps: number; cpuPerGb: number }> {
  const before = busyJiffies();
  const j = await iperf3(e.client, e.serverIp, seconds, ['-P', String(streams)]);
  const cpuSeconds = (busyJiffies() - before) / CLK_TCK;
  const recv = j.end.sum_received!;
  return { gbps: recv.bits_per_second / 1e9, cpuPerGb: cpuSeconds / (recv.bytes / 1e9) };
}

/** Received packets per second for 64-byte UDP payloads sent as fast as one iperf3 client can. */
async function udp64(e: Endpoints, seconds: number): Promise<number> {
  const j = await iperf3(e.client, e.serverIp, seconds, ['-u', '-l', '64', '-b', '0']);
  const s = j.end.sum!;
  return (s.packets - s.lost_packets) / s.seconds;
}

async function latency(e: Endpoints, seconds: number): Promise<{ p50: number; p99: number }> {
  const r = await e.client.exec(['sockperf', 'ping-pong', '-i', e.serverIp, '-p', '11111', '-t', String(seconds)], {
    timeoutMs: (seconds + 20) * 1000,
  });
  const pct = (p: string) => {
    const m = new RegExp(`percentile ${p} =\\s+([\\d.]+)`).exec(r.stdout);
    if (!m) throw new Error(`sockperf printed no ${p} percentile:\n${r.stdout.slice(-500)}`);
    return Number(m[1]);
  };
  return { p50: pct('50.000'), p99: pct('99.000') };
}

const isIpv6 = (ip: string) => ip.includes(':');

/** `p`th percentile (0..100) of `sorted`, nearest rank. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** ICMP echo round trips (one every 2 ms for `seconds`), p50 and p99 in us from ping's per-reply times. */
async function pingLatency(e: Endpoints, seconds: number): Promise<{ p50: number; p99: number }> {
  const count = Math.max(100, Math.round(seconds * 500));
  const r = await e.client.exec(['ping', '-n', '-i', '0.002', '-W', '1', '-c', String(count), e.serverIp], {
    timeoutMs: (count * 0.01 + 20) * 1000,
    allowFailure: true,
  });
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  if (times.length < count / 2) throw new Error(`ping ${e.serverIp}: ${times.length} of ${count} replies`);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Starts the iperf3 and (for an IPv4 server) sockperf servers in the server pod; they stop with the scope. */
export function startServers(scope: LabScope, e: Endpoints, label: string): BackgroundProcess[] {
  const iperf = scope.spawn(`${label}-iperf3`, e.server, ['iperf3', '-s', '-B', e.serverIp]);
  if (isIpv6(e.serverIp)) return [iperf];
  return [iperf, scope.spawn(`${label}-sockperf`, e.server, ['sockperf', 'server', '-i', e.serverIp, '-p', '11111'])];
}

/** One repetition of every metric. */
export async function measureOnce(e: Endpoints, seconds: number): Promise<CaseFigures> {
  const t1 = await tcp(e, 1, seconds);
  const t4 = await tcp(e, 4, seconds);
  const u = await udp64(e, seconds);
  const half = Math.max(2, Math.round(seconds / 2));
  const l = isIpv6(e.serverIp) ? undefined : await latency(e, half);
  const p = await pingLatency(e, half);
  const figures: CaseFigures = {
    tcp1: t1.gbps,
    tcp4: t4.gbps,
    udp64: u,
    pingP50: p.p50,
    pingP99: p.p99,
    cpuPerGb: t1.cpuPerGb,
  };
  return l ? { ...figures, latencyP50: l.p50, latencyP99: l.p99 } : figures;
}

/** Waits until `client` can reach `serverIp` (a route or a tunnel may take a moment to settle). */
export async function waitReachable(e: Endpoints, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await e.client.exec(['ping', '-c', '1', '-W', '1', e.serverIp], { allowFailure: true });
    if (r.code === 0) return;
  }
  throw new Error(`${e.serverIp} not reachable from ${e.client.name}`);
}
