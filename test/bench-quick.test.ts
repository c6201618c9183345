// `npm run bench -- --quick` in CI, to keep the comparison working: every case sets up, measures and tears down,
// and the JSON follows the contract in DESIGN.md. The figures themselves are not judged here (no timed tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, canRunWith, listLabNamespaces } from '@weft/lab';

const CASES = ['weft-udp', 'weft-vxlan', 'weft-native', 'weft-native-bgp', 'kernel-vxlan', 'plain', 'openvpn'];
const METRICS: Record<string, string> = {
  tcp1: 'Gbit/s', tcp4: 'Gbit/s', udp64: 'pps', 'latency-p50': 'us', 'latency-p99': 'us', 'cpu-per-gb': 's', mtu: 'bytes',
};

interface Report {
  bench: string;
  machine: { cpus: number };
  rows: { case: string; metric: string; unit: string; median: number; min: number; max: number; runs: number[] }[];
}

if (canRunWith('bench --quick', ['iperf3', 'sockperf', 'openvpn'])) {
  test('npm run bench -- --quick measures every case and writes the JSON contract and an SVG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
    try {
      const json = join(dir, 'bench.json');
      const svg = join(dir, 'bench.svg');
      const r = await run([process.execPath, '--import', 'tsx', 'bench/compare.bench.ts', '--quick', '--seconds', '1', '--json', json, '--svg', svg], {
        allowFailure: true, timeoutMs: 15 * 60_000,
      });
      assert.is(r.code, 0, r.stdout.slice(-2000) + r.stderr.slice(-3000));
      const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
      assert.is(report.bench, 'compare');
      assert.ok(report.machine.cpus >= 1);
      for (const c of CASES) {
        for (const [metric, unit] of Object.entries(METRICS)) {
          const row = report.rows.find((x) => x.case === c && x.metric === metric);
          assert.ok(row, `row ${c} ${metric}`);
          assert.is(row!.unit, unit);
          assert.is(row!.runs.length, 1);
          assert.ok(row!.min <= row!.median && row!.median <= row!.max);
          assert.ok(row!.median > 0, `${c} ${metric} measured something`);
        }
      }
      assert.is(report.rows.find((x) => x.case === 'weft-vxlan' && x.metric === 'mtu')!.median, 1450);
      assert.is(report.rows.find((x) => x.case === 'weft-udp' && x.metric === 'mtu')!.median, 1472);
      assert.match(r.stdout, /\| weft-vxlan \| tcp1 \| Gbit\/s \|/, 'a markdown table on stdout');
      assert.match(readFileSync(svg, 'utf8'), /^<svg[\s\S]*weft-native-bgp[\s\S]*<\/svg>$/);
      assert.equal((await listLabNamespaces()).filter((n) => n.startsWith('wl-bench-')), [], 'every case torn down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
