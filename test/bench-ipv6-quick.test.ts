// The IPv6 twins of the comparison (kernel-vxlan-v6, weft-native-v6, weft-vxlan-v6, weft-udp-v6) set up, measure
// over IPv6 and tear down in a short run beside one IPv4 twin; the figures themselves are not judged (no timed tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, listLabNamespaces } from '@weft/lab';
import { withBenchReport } from './support/bench.ts';

const V6_CASES = ['kernel-vxlan-v6', 'weft-native-v6', 'weft-vxlan-v6', 'weft-udp-v6'];
const METRICS: Record<string, string> = {
  tcp1: 'Gbit/s',
  tcp4: 'Gbit/s',
  udp64: 'pps',
  'ping-p50': 'us',
  'ping-p99': 'us',
  'cpu-per-gb': 's',
  mtu: 'bytes',
};
const PREFIX = 'v6b-bq';

if (canRunWith('bench --quick (IPv6 cases)', ['iperf3', 'sockperf'])) {
  test('the IPv6 bench cases measure pod traffic over IPv6 in the same run as an IPv4 twin', async () => {
    const cases = [...V6_CASES, 'weft-native'].join(',');
    const args = () => ['--quick', '--seconds', '1', '--cases', cases, '--lab-prefix', PREFIX];
    await withBenchReport('bench/compare.bench.ts', args, 10 * 60_000, async (r, report) => {
      for (const c of V6_CASES) {
        for (const [metric, unit] of Object.entries(METRICS)) {
          const row = report.rows.find((x) => x.case === c && x.metric === metric);
          assert.ok(row, `row ${c} ${metric}`);
          assert.is(row!.unit, unit);
          assert.is(row!.runs.length, 1);
          assert.ok(row!.median > 0, `${c} ${metric} measured something`);
        }
        // sockperf 3.7 takes no IPv6 address: its rows are absent, not zero.
        assert.not.ok(report.rows.some((x) => x.case === c && x.metric.startsWith('latency-')));
      }
      assert.ok(report.rows.some((x) => x.case === 'weft-native' && x.metric === 'latency-p99'));
      assert.ok(report.rows.some((x) => x.case === 'weft-native' && x.metric === 'ping-p99'));
      const mtu = (c: string) => report.rows.find((x) => x.case === c && x.metric === 'mtu')!.median;
      assert.is(mtu('kernel-vxlan-v6'), 1430, "flannel-v6.1's MTU: 70 bytes of IPv6 VXLAN under 1500");
      assert.is(mtu('weft-native-v6'), 1500);
      assert.match(r.stdout, /weft-native-v6 \/ weft-native on tcp1: [\d.]+x/);
      assert.not.match(r.stdout, /unavailable cases/, 'every IPv6 dataplane is in');
      assert.equal(
        (await listLabNamespaces()).filter((n) => n.startsWith(`wl-${PREFIX}-`)),
        [],
        'every case torn down',
      );
    });
  });
}

test.run();
