// `npm run bench:tunnel -- --quick` in CI, to keep the TUN <-> UDP comparison working: every case (weft's
// forwarder with offloads off and on, OpenVPN, plain routing) sets up, carries iperf3 traffic and tears down, and
// the JSON follows DESIGN.md's contract. The figures are printed, not judged (no timed tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, listLabNamespaces } from '@weft/lab';
import { withBenchReport } from './support/bench.ts';

const TUNNELS = ['weft-tunnel offload-off', 'weft-tunnel offload-on (tso+udp-gso/gro)', 'openvpn'];

if (canRunWith('bench:tunnel --quick', ['iperf3', 'openvpn'])) {
  test('npm run bench:tunnel -- --quick measures each case and writes the JSON contract', async () => {
    await withBenchReport(
      'bench/tunnel.bench.ts',
      () => ['--quick'],
      10 * 60_000,
      async (r, report) => {
        assert.is(report.bench, 'tunnel');
        const find = (c: string, metric: string) => report.rows.find((x) => x.case === c && x.metric === metric);
        for (const c of [...TUNNELS, 'plain']) {
          for (const [metric, unit] of [
            ['tcp1', 'Gbit/s'],
            ['tcp4', 'Gbit/s'],
            ['udp64', 'pps'],
          ] as const) {
            const row = find(c, metric);
            assert.ok(row, `row ${c} ${metric}`);
            assert.is(row!.unit, unit);
            assert.is(row!.runs.length, 1);
            assert.ok(row!.median > 0, `${c} ${metric} measured something`);
          }
        }
        for (const c of TUNNELS) assert.ok(find(c, 'cpu-per-gbit')!.median > 0, `${c}: CPU of its forwarders`);
        assert.ok(find('split native', 'split64k')!.median > 0);
        assert.match(r.stdout, /weft-tunnel offload-off tcp1 \/ openvpn tcp1 = \d+\.\d\d \(target >= 2\)/);
        // Each weft forwarder reports its counters when stopped: traffic went through it, and nothing failed.
        const counters = r.stderr
          .split('\n')
          .filter((l) => l.trim().startsWith('{"out"'))
          .map((l) => JSON.parse(l));
        assert.ok(counters.length >= 4, `forwarder counters printed:\n${r.stderr.slice(-2000)}`);
        for (const c of counters) {
          assert.ok(c.out.packetsOut > 0 && c.back.packetsOut > 0, JSON.stringify(c));
          assert.is(c.out.errors + c.back.errors, 0, JSON.stringify(c));
        }
        assert.equal(
          (await listLabNamespaces()).filter((n) => n.startsWith('wl-tun-bench-')),
          [],
          'namespaces deleted',
        );
      },
    );
  });
}

test.run();
