// The benchmark output contract (DESIGN.md): rows of {case, metric, unit, median, min, max, runs}, written as
// JSON with --json FILE and printed as a markdown table. Every benchmark in bench/ reports through this.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';

export interface Row {
  case: string;
  metric: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export interface Report {
  bench: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string };
  rows: Row[];
}

/** A row from repeated measurements of one case and metric. */
export function row(caseName: string, metric: string, unit: string, runs: number[]): Row {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { case: caseName, metric, unit, median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs };
}

export function machine(): Report['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a >= 1 ? 2 : 3);
}

/** Markdown table of the rows: one line per case and metric. */
export function markdownTable(rows: Row[]): string {
  const lines = ['| case | metric | unit | median | min | max | runs |', '|---|---|---|---:|---:|---:|---:|'];
  for (const r of rows)
    lines.push(
      `| ${r.case} | ${r.metric} | ${r.unit} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.runs.length} |`,
    );
  return lines.join('\n');
}

/** Median of `metric` for `caseName`, or undefined when that row is missing. */
export function medianOf(rows: Row[], caseName: string, metric: string): number | undefined {
  return rows.find((r) => r.case === caseName && r.metric === metric)?.median;
}

/** Prints the table and, when `jsonPath` is given, writes the JSON report. Returns the report. */
export function publish(bench: string, rows: Row[], jsonPath?: string): Report {
  const report: Report = { bench, machine: machine(), rows };
  console.log(markdownTable(rows));
  if (jsonPath) {
    writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${jsonPath}`);
  }
  return report;
}

/** The value following `--name` in argv, if any. */
export function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** `--json FILE` and `--quick` (fewer, shorter runs for CI), the options every benchmark takes. */
export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): { json?: string; quick: boolean } {
  return { json: flagValue(argv, '--json'), quick: argv.includes('--quick') };
}

/** machine() under the name some benchmarks use. */
export const machineInfo = machine;

/** publish() for a report already assembled ({bench, machine, rows}). */
export function writeReport(report: Report, jsonPath?: string): void {
  publish(report.bench, report.rows, jsonPath);
}
