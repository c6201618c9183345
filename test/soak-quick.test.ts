// The soak's short CI version: `test/support/soak.ts --minutes 0.6 --quiet-seconds 3` run as `npm run soak` runs it
// (its own process), on labs of its own name: the SIGKILL, BIRD's graceful restart and the etcd outage at least,
// about 70 s in all on a quiet machine (the longer faults, a node gone past its TTL and etcd wiped, are in the long
// soak and in faults-lease). It must exit 0 (every fault followed by consistent leases and routes, routes, rules
// and links as at the start, no two nodes ever on one subnet, the kernel route to BIRD's subnet at every look
// through BIRD's graceful restart, nothing needing repair) and print both tables: one row per fault with its
// figures, one row per agent process of both labs with RSS and CPU over time and memory verdicts. The figures are
// printed, not bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, run } from '@weft/lab';

if (canRunWith('the soak (short)', ['ip', 'ping', 'etcd', 'etcdctl', 'iptables-save', 'curl', 'bird', 'birdc'])) {
  test('npm run soak -- --minutes 0.6: faults injected, consistent after each, both tables printed', async () => {
    const argv = [
      process.execPath,
      '--import',
      'tsx',
      'test/support/soak.ts',
      '--minutes',
      '0.6',
      '--quiet-seconds',
      '3',
    ];
    const r = await run([...argv, '--name', 'ft-soakq'], { allowFailure: true, timeoutMs: 8 * 60_000 });
    console.log(r.stdout);
    if (r.code !== 0) console.log(r.stderr.slice(-6000));
    assert.is(r.code, 0, 'the soak exits 0 (everything consistent)');
    const faultRows = r.stdout.split('\n').filter((l) => /^\| \d+ \| [\d.]+ \| /.test(l));
    assert.ok(faultRows.length >= 3, `at least three faults (${faultRows.length})`);
    for (const row of faultRows) assert.match(row, /\| consistent \|$/, row);
    assert.match(r.stdout, /\| kill -9 agent n2 \|/);
    assert.match(r.stdout, /\| etcd stopped 7\.5 s \|/);
    const bird = faultRows.find((l) => l.includes('| BIRD graceful restart |'));
    assert.ok(bird, 'a BIRD graceful restart row');
    const looks = /\| (\d+)\/(\d+) looks[ ;]/.exec(bird);
    assert.ok(looks && Number(looks[2]) > 0 && looks[1] === looks[2], `kernel route at every look: ${bird}`);
    const agentRows = r.stdout.split('\n').filter((l) => /^\| (bgp-)?n\d \(\d+\) \|/.test(l));
    for (const n of ['n1', 'n2', 'n3', 'bgp-n1', 'bgp-n2'])
      assert.ok(
        agentRows.some((l) => l.startsWith(`| ${n} (`)),
        `usage row for ${n}`,
      );
    for (const row of agentRows) assert.match(row, /\d+ MB (\(heap \d+\) )?\/ /, `RSS (JS heap) figures in ${row}`);
    assert.match(r.stdout, /subnet guard: no two nodes ever held one subnet/);
    assert.not.match(r.stdout, /STOPPED EARLY|repaired after a failed fault/);
  });
}

test.run();
