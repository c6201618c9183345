// Measurements between two pods: iperf3 TCP (1 and 4 streams), iperf3 UDP with 64-byte payloads, sockperf
// ping-pong latency, and machine CPU seconds per GB moved (from /proc/stat, so kernel work counts too).
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
  latencyP50: number; // us
  latencyP99: number; // us
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

/** Starts the iperf3 and sockperf servers in the server pod; they are stopped with the scope. */
export function startServers(scope: LabScope, e: Endpoints, label: string): BackgroundProcess[] {
  return [
    scope.spawn(`${label}-iperf3`, e.server, ['iperf3', '-s', '-B', e.serverIp]),
    scope.spawn(`${label}-sockperf`, e.server, ['sockperf', 'server', '-i', e.serverIp, '-p', '11111']),
  ];
}

/** One repetition of every metric. */
export async function measureOnce(e: Endpoints, seconds: number): Promise<CaseFigures> {
  const t1 = await tcp(e, 1, seconds);
  const t4 = await tcp(e, 4, seconds);
  const u = await udp64(e, seconds);
  const l = await latency(e, Math.max(2, Math.round(seconds / 2)));
  return { tcp1: t1.gbps, tcp4: t4.gbps, udp64: u, latencyP50: l.p50, latencyP99: l.p99, cpuPerGb: t1.cpuPerGb };
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
