// The lab as users drive it: `weft lab up/exec/status/down` across separate commands, `down --all` for
// leftovers, and the main job (`weft lab demo`, what `npm run lab` runs) end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, canRunPrivileged, listLabNamespaces, LabScope } from '@weft/lab';
import { weftArgv } from 'weft/lab';

const weft = (...args: string[]) => run(weftArgv(...args), { allowFailure: true, timeoutMs: 180_000 });

if (canRunPrivileged('weft lab commands')) {
  test('up prints a JSON description, exec and status work from other commands, down removes everything', async () => {
    try {
      const up = await weft('lab', 'up', '--name', 'lcli', '--nodes', '2', '--pods', '1', '--backend', 'udp');
      assert.is(up.code, 0, up.stderr);
      assert.match(up.stderr, /agent n2: ready/, 'progress is shown as it happens');
      const d = JSON.parse(up.stdout) as {
        backend: string;
        nodes: { name: string; agentPid: number; subnet: string; pods: { ip: string }[] }[];
      };
      assert.is(d.backend, 'udp');
      assert.is(d.nodes.length, 2);
      assert.ok(d.nodes.every((n) => n.agentPid > 0 && /^10\.244\.\d+\.0\/24$/.test(n.subnet)));
      const ping = await weft(
        'lab',
        'exec',
        'lcli',
        'n1p1',
        '--',
        'ping',
        '-c',
        '2',
        '-W',
        '2',
        d.nodes[1]!.pods[0]!.ip,
      );
      assert.is(ping.code, 0, ping.stdout + ping.stderr);
      const status = await weft('lab', 'status', 'lcli');
      const s = JSON.parse(status.stdout) as {
        nodes: { running: boolean; status: { routes: unknown[]; backend: string } }[];
      };
      assert.ok(s.nodes.every((n) => n.running && n.status.backend === 'udp' && n.status.routes.length === 1));
      const again = await weft('lab', 'up', '--name', 'lcli', '--nodes', '1');
      assert.is(again.code, 2, 'a second lab of the same name is refused');
      const bad = await weft('lab', 'exec', 'lcli', 'n9', '--', 'true');
      assert.is(bad.code, 2);
      assert.match(bad.stderr, /no node or pod "n9"/);
    } finally {
      const down = await weft('lab', 'down', 'lcli');
      assert.is(down.code, 0, down.stderr);
    }
    assert.equal(await listLabNamespaces('lcli'), []);
  });

  test('down --all removes the leftovers of a crashed lab and leaves labs in use alone', async () => {
    await run(['ip', 'netns', 'add', 'wl-lcrash-n1']); // no owner: what a crashed run leaves
    const live = new LabScope('llive'); // owned by this (running) process
    try {
      await live.netns('a');
      const r = await weft('lab', 'down', '--all');
      assert.is(r.code, 0, r.stderr);
      assert.equal(await listLabNamespaces('lcrash'), []);
      assert.equal(await listLabNamespaces('llive'), ['wl-llive-a'], 'a lab whose owner runs is not touched');
      assert.match(r.stderr, /lab llive: in use by running process \d+/);
    } finally {
      await live.cleanup();
    }
  });

  test('the main job: a lab, traffic across it, a result printed, torn down', async () => {
    const r = await weft('lab', 'demo', '--nodes', '2', '--seconds', '1', '--backend', 'vxlan');
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /forwarding table: 10\.244\.\d+\.0\/24 -> 192\.0\.2\.1\d \(VTEP [0-9a-f:]{17}\)/);
    assert.match(r.stdout, /ping 5\/5 received/);
    assert.match(r.stdout, /iperf3 TCP \d+\.\d+ Gbit\/s/);
    assert.match(r.stdout, /PASS/);
    assert.equal(
      (await listLabNamespaces()).filter((n) => n.startsWith('wl-demo')),
      [],
    );
  });
}

test.run();
