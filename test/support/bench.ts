// Runs a benchmark script the way CI smoke-tests it: in a temporary directory, with `--json` there, and hands
// back its output and the parsed report (DESIGN.md's contract). Figures are not judged: no timed tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { run, type RunResult } from '@weft/lab';

export interface BenchRow {
  case: string;
  metric: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export interface BenchReport {
  bench: string;
  machine: { cpus: number };
  rows: BenchRow[];
}

/**
 * Runs `node --import tsx SCRIPT ...args(dir) --json DIR/report.json`, asserts that it exits 0, then calls
 * `check` with its output, the report and the directory (for other files the args put there). The directory is
 * removed afterwards, also on failure.
 */
export async function withBenchReport(
  script: string,
  args: (dir: string) => string[],
  timeoutMs: number,
  check: (out: RunResult, report: BenchReport, dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  try {
    const json = join(dir, 'report.json');
    const out = await run([process.execPath, '--import', 'tsx', script, ...args(dir), '--json', json], {
      allowFailure: true,
      timeoutMs,
    });
    assert.is(out.code, 0, out.stdout.slice(-2000) + out.stderr.slice(-3000));
    await check(out, JSON.parse(readFileSync(json, 'utf8')) as BenchReport, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
