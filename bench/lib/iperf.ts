// One iperf3 client run, for every benchmark that drives iperf3 between namespaces.
import type { Netns } from '@weft/lab';

/** The parts of iperf3's `-J` report the benchmarks read. */
export interface Iperf3Report {
  end: {
    /** TCP runs: what the server received. */
    sum_received?: { bits_per_second: number; bytes: number; seconds: number };
    /** UDP runs: datagrams sent and lost, as the server counted them. */
    sum?: { packets: number; lost_packets: number; seconds: number };
  };
  error?: string;
}

/**
 * Runs `iperf3 -c target -t seconds -J ...args` in `client` and returns its report. Throws, with iperf3's own
 * error when it gave one, when iperf3 fails or prints no report.
 */
export async function iperf3(
  client: Netns,
  target: string,
  seconds: number,
  args: readonly string[],
): Promise<Iperf3Report> {
  const r = await client.exec(['iperf3', '-c', target, '-t', String(seconds), '-J', ...args], {
    timeoutMs: (seconds + 20) * 1000,
    allowFailure: true,
  });
  let report: Partial<Iperf3Report> = {};
  try {
    report = JSON.parse(r.stdout || '{}') as Partial<Iperf3Report>;
  } catch {
    // not JSON: reported below with stderr
  }
  if (r.code !== 0 || report.error || !report.end)
    throw new Error(`iperf3 ${args.join(' ')} to ${target}: ${report.error ?? (r.stderr.trim() || `exit ${r.code}`)}`);
  return report as Iperf3Report;
}
