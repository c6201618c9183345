// `npm run bench -- --quick` in CI, to keep the comparison working: every case sets up, measures and tears down,
// and the JSON follows the contract in DESIGN.md. The figures themselves are not judged here (no timed tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRunWith, listLabNamespaces } from '@weft/lab';
import { withBenchReport } from './support/bench.ts';

const CASES = [
  'weft-udp',
  'weft-vxlan',
  'weft-native',
  'weft-native-bgp',
  'kernel-vxlan',
  'mixed-vxlan',
  'plain',
  'openvpn',
];
const METRICS: Record<string, string> = {
  tcp1: 'Gbit/s',
  tcp4: 'Gbit/s',
  udp64: 'pps',
  'latency-p50': 'us',
  'latency-p99': 'us',
  'cpu-per-gb': 's',
  mtu: 'bytes',
};

if (canRunWith('bench --quick', ['iperf3', 'sockperf', 'openvpn'])) {
  test('npm run bench -- --quick measures every case and writes the JSON contract and an SVG', async () => {
    const args = (dir: string) => ['--quick', '--seconds', '1', '--svg', join(dir, 'bench.svg')];
    await withBenchReport('bench/compare.bench.ts', args, 15 * 60_000, async (r, report, dir) => {
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
      assert.is(report.rows.find((x) => x.case === 'mixed-vxlan' && x.metric === 'mtu')!.median, 1450);
      assert.match(r.stdout, /\| weft-vxlan \| tcp1 \| Gbit\/s \|/, 'a markdown table on stdout');
      assert.match(readFileSync(join(dir, 'bench.svg'), 'utf8'), /^<svg[\s\S]*weft-native-bgp[\s\S]*<\/svg>$/);
      assert.equal(
        (await listLabNamespaces()).filter((n) => n.startsWith('wl-bench-')),
        [],
        'every case torn down',
      );
    });
  });
}

test.run();
