// `npm run bench`: weft's backends side by side with the kernel's vxlan, plain routing and OpenVPN, on the same
// two-node lab topology, one case after another in one run. Three repetitions (median, min, max); --quick runs one
// short repetition of each (CI runs it to keep it working).
// Cases ending in -v6 are the IPv6 twins of kernel-vxlan, weft-native and weft-vxlan (bench/compare/ipv6.ts); a
// case whose dataplane is not there yet is listed as unavailable and does not fail the run.
//   npm run bench -- [--quick] [--json FILE] [--svg FILE] [--cases a,b,...] [--seconds N] [--lab-prefix P]
import { writeFileSync } from 'node:fs';
import { canRunWith } from '@weft/lab';
import {
  CASE_NAMES,
  CaseUnavailableError,
  IPV4_TWIN,
  IPV6_CASE_NAMES,
  prepareCase,
  setLabPrefix,
  type CaseName,
} from './compare/cases.ts';
import { measureOnce, startServers, waitReachable, type CaseFigures } from './compare/measure.ts';
import { barChart } from './compare/svg.ts';
import { row, publish, medianOf, flagValue, type Row } from './lib/report.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const reps = quick ? 1 : 3;
const seconds = Number(flagValue(argv, '--seconds') ?? (quick ? 2 : 10));
const wanted = (flagValue(argv, '--cases')?.split(',') ?? [...CASE_NAMES]) as CaseName[];
for (const c of wanted)
  if (!CASE_NAMES.includes(c)) throw new Error(`unknown case "${c}"; cases: ${CASE_NAMES.join(', ')}`);
setLabPrefix(flagValue(argv, '--lab-prefix') ?? 'bench');

const METRICS: { key: keyof CaseFigures; metric: string; unit: string }[] = [
  { key: 'tcp1', metric: 'tcp1', unit: 'Gbit/s' },
  { key: 'tcp4', metric: 'tcp4', unit: 'Gbit/s' },
  { key: 'udp64', metric: 'udp64', unit: 'pps' },
  { key: 'latencyP50', metric: 'latency-p50', unit: 'us' },
  { key: 'latencyP99', metric: 'latency-p99', unit: 'us' },
  { key: 'pingP50', metric: 'ping-p50', unit: 'us' },
  { key: 'pingP99', metric: 'ping-p99', unit: 'us' },
  { key: 'cpuPerGb', metric: 'cpu-per-gb', unit: 's' },
];

async function runCase(name: CaseName): Promise<Row[]> {
  console.error(`bench: ${name}: setting up`);
  const prepared = await prepareCase(name);
  try {
    startServers(prepared.lab.scope, prepared.endpoints, name);
    await waitReachable(prepared.endpoints);
    await new Promise((r) => setTimeout(r, 500)); // let the servers bind
    const runs: CaseFigures[] = [];
    for (let i = 0; i < reps; i++) {
      console.error(`bench: ${name}: repetition ${i + 1}/${reps}`);
      runs.push(await measureOnce(prepared.endpoints, seconds));
    }
    // sockperf's latency rows are missing for IPv6 cases (Debian's sockperf takes no IPv6 address).
    const measured = METRICS.filter((m) => runs.every((r) => r[m.key] !== undefined));
    return [
      ...measured.map((m) =>
        row(
          name,
          m.metric,
          m.unit,
          runs.map((r) => r[m.key]!),
        ),
      ),
      row(
        name,
        'mtu',
        'bytes',
        runs.map(() => prepared.mtu),
      ),
    ];
  } finally {
    await prepared.lab.teardown();
  }
}

function ratios(rows: Row[]): string[] {
  const out: string[] = [];
  const ratio = (a: string, b: string, metric: string) => {
    const x = medianOf(rows, a, metric);
    const y = medianOf(rows, b, metric);
    if (x !== undefined && y !== undefined && y > 0) out.push(`${a} / ${b} on ${metric}: ${(x / y).toFixed(2)}x`);
  };
  for (const w of ['weft-vxlan', 'weft-vxlan-split', 'weft-udp']) {
    ratio(w, 'kernel-vxlan', 'tcp1');
    ratio(w, 'kernel-vxlan', 'udp64');
    ratio(w, 'openvpn', 'udp64');
    ratio(w, 'kernel-vxlan', 'latency-p99');
    ratio(w, 'kernel-vxlan', 'cpu-per-gb');
  }
  ratio('mixed-vxlan', 'kernel-vxlan', 'tcp1');
  ratio('weft-native', 'plain', 'tcp1');
  ratio('weft-native-bgp', 'plain', 'tcp1');
  for (const v6 of IPV6_CASE_NAMES)
    for (const metric of ['tcp1', 'udp64', 'ping-p99', 'cpu-per-gb']) ratio(v6, IPV4_TWIN[v6], metric);
  ratio('weft-native-v6', 'kernel-vxlan-v6', 'tcp1');
  ratio('weft-vxlan-v6', 'kernel-vxlan-v6', 'tcp1');
  ratio('weft-udp-v6', 'kernel-vxlan-v6', 'tcp1');
  return out;
}

async function main(): Promise<number> {
  if (!canRunWith('bench compare', ['iperf3', 'sockperf', 'openvpn'])) return 0;
  const rows: Row[] = [];
  const failures: string[] = [];
  const unavailable: string[] = [];
  for (const name of wanted) {
    try {
      rows.push(...(await runCase(name)));
    } catch (e) {
      if (e instanceof CaseUnavailableError) {
        unavailable.push(`${name}: ${e.message}`);
        console.error(`bench: ${name} unavailable: ${e.message}`);
        continue;
      }
      failures.push(`${name}: ${(e as Error).message}`);
      console.error(`bench: ${name} failed: ${(e as Error).message}`);
    }
  }
  publish('compare', rows, flagValue(argv, '--json'));
  console.log(
    '\nratios (targets: vxlan/udp >= 0.5x kernel-vxlan tcp1, >= 1.5x openvpn udp64, p99 <= 2x kernel-vxlan):',
  );
  for (const line of ratios(rows)) console.log(`  ${line}`);
  const svg = flagValue(argv, '--svg');
  if (svg) {
    writeFileSync(
      svg,
      barChart(
        `weft vs kernel vxlan vs OpenVPN vs plain routing (${quick ? 'quick, 1 run' : `median of ${reps}`})`,
        rows.filter((r) => r.metric !== 'mtu'),
      ),
    );
    console.log(`wrote ${svg}`);
  }
  if (unavailable.length) console.log(`\nunavailable cases (not measured, not failed):\n  ${unavailable.join('\n  ')}`);
  if (failures.length) console.error(`\nfailed cases:\n  ${failures.join('\n  ')}`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
