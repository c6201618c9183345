// `weft lab up --dual-stack` as users drive it, across separate commands: the JSON description with both families'
// addresses, an IPv6 ping through `weft lab exec`, `weft lab status` showing both (addresses per node, the agent's
// IPv6 lease and routes), `weft lab down`. And the flags' misuse: --dual-stack with --ipv6-only is a usage error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, canRunPrivileged, listLabNamespaces } from '@weft/lab';
import { weftArgv } from 'weft/lab';

const weft = (...args: string[]) => run(weftArgv(...args), { allowFailure: true, timeoutMs: 180_000 });

test('--dual-stack and --ipv6-only exclude each other (lab up and the main job)', async () => {
  for (const sub of [
    ['up', '--name', 'v6n-x'],
    ['demo', '--nodes', '2'],
  ]) {
    const r = await weft('lab', ...sub, '--dual-stack', '--ipv6-only');
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /--dual-stack and --ipv6-only exclude each other/);
  }
});

interface Described {
  families: string;
  nodes: { name: string; underlayIp6: string; subnet: string; subnet6: string; pods: { ip: string; ip6: string }[] }[];
}

if (canRunPrivileged('weft lab --dual-stack')) {
  test('lab up --dual-stack: both families described, pinged through exec, shown by status; down removes it', async () => {
    try {
      const up = await weft('lab', 'up', '--name', 'v6n-cli', '--nodes', '2', '--backend', 'native', '--dual-stack');
      assert.is(up.code, 0, up.stderr);
      const d = JSON.parse(up.stdout) as Described;
      assert.is(d.families, 'dual-stack');
      const [n1, n2] = d.nodes as [Described['nodes'][0], Described['nodes'][0]];
      assert.match(n1.subnet, /^10\.244\.\d+\.0\/24$/);
      assert.match(n1.subnet6, /^fd00:10:244:[0-9a-f]*::\/64$/);
      assert.is(n2.underlayIp6, '2001:db8::12');
      assert.match(n2.pods[0]!.ip6, /^fd00:10:244:/);
      const ping = await weft('lab', 'exec', 'v6n-cli', 'n1p1', '--', 'ping', '-c', '2', '-W', '2', n2.pods[0]!.ip6);
      assert.is(ping.code, 0, `${ping.stdout}${ping.stderr}`);
      const st = await weft('lab', 'status', 'v6n-cli');
      assert.is(st.code, 0, st.stderr);
      const s = JSON.parse(st.stdout) as {
        nodes: {
          node: string;
          addresses: { underlay: string[]; subnets: string[]; pods: { ips: string[] }[] };
          status: { ipv6: { subnet: string; forwarded: boolean }; routes: { subnet: string; via: string }[] };
        }[];
      };
      const first = s.nodes[0]!;
      assert.equal(first.addresses.underlay, ['192.0.2.11', '2001:db8::11']);
      assert.equal(first.addresses.subnets, [n1.subnet, n1.subnet6]);
      assert.equal(first.addresses.pods[0]!.ips, [n1.pods[0]!.ip, n1.pods[0]!.ip6]);
      assert.equal(first.status.ipv6.subnet, n1.subnet6);
      assert.is(first.status.ipv6.forwarded, true);
      assert.ok(first.status.routes.some((r) => r.subnet === n2.subnet6 && r.via === '2001:db8::12'));
      assert.ok(first.status.routes.some((r) => r.subnet === n2.subnet && r.via === '192.0.2.12'));
    } finally {
      const down = await weft('lab', 'down', 'v6n-cli');
      assert.is(down.code, 0, down.stderr);
    }
    assert.equal(await listLabNamespaces('v6n-cli'), []);
  });
}

test.run();
