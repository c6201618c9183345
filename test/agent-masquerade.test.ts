// --ip-masq and the forward rules on real namespaces, host-gw between two nodes, plus a host outside the
// cluster network that has no route back to the pods:
//
//   ext (198.51.100.2/24, no route to 10.244/16) --- n1 ext0 198.51.100.1/24
//   n1 eth0 192.0.2.11/24 --- ul br0 --- n2 eth0 192.0.2.12/24;  pods on cni0 of each node
//
// A pod reaches ext only through the masquerade (ext sees n1's address); pod to pod keeps pod addresses; an
// agent killed without cleanup and started again leaves one copy of each rule; SIGTERM removes them all, and
// then the pod no longer reaches ext (proof that the masquerade, not routing, made it work).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { addPod, peerAddressSeen, restartAgentNode, startAgentNode, writeNetConf } from './support/flannel-nodes.ts';

async function rules(ns: Netns): Promise<string> {
  return (await ns.exec(['iptables-save'])).stdout;
}

const count = (text: string, re: RegExp) => text.match(re)?.length ?? 0;

/** The underlay with n1 and n2, and ext behind n1; FORWARD set to DROP on both nodes, as Docker leaves it. */
async function buildTopology(scope: LabScope): Promise<{ n1: Netns; n2: Netns; ext: Netns }> {
  const [ul, n1, n2, ext] = [
    await scope.netns('ul'),
    await scope.netns('n1'),
    await scope.netns('n2'),
    await scope.netns('ext'),
  ];
  await ul.ipBatch(['link add br0 type bridge', 'link set br0 up']);
  for (const [i, n] of [n1, n2].entries()) {
    await scope.veth(n, 'eth0', ul, `n${i + 1}`);
    await ul.ip(['link', 'set', `n${i + 1}`, 'master', 'br0']);
    await n.ip(['addr', 'add', `192.0.2.${11 + i}/24`, 'dev', 'eth0']);
    await n.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }
  await scope.veth(n1, 'ext0', ext, 'eth0');
  await n1.ip(['addr', 'add', '198.51.100.1/24', 'dev', 'ext0']);
  await ext.ip(['addr', 'add', '198.51.100.2/24', 'dev', 'eth0']);
  // Docker's setting: forwarding dropped unless a rule accepts it.
  await n1.exec(['iptables', '-P', 'FORWARD', 'DROP']);
  await n2.exec(['iptables', '-P', 'FORWARD', 'DROP']);
  return { n1, n2, ext };
}

if (canRunWith('masquerade with real agents', ['ip', 'iptables', 'iptables-save', 'iptables-restore'])) {
  test('--ip-masq: pods reach a host outside the cluster network, keep their addresses inside it; restart and stop', async () => {
    const scope = new LabScope('h8-masq');
    try {
      const { n1, n2, ext } = await buildTopology(scope);
      const conf = writeNetConf(scope, { Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } });
      const a = await startAgentNode(scope, 'n1', n1, conf, '192.0.2.11', ['--ip-masq', '--iptables-resync', '1']);
      const b = await startAgentNode(scope, 'n2', n2, conf, '192.0.2.12', ['--ip-masq']);
      const [pa, pb] = [await addPod(scope, a), await addPod(scope, b)];

      assert.is(
        await peerAddressSeen(scope, ext, pa.ns, '198.51.100.2', 15201, 'srv-ext'),
        '198.51.100.1',
        'ext sees the node address',
      );
      assert.is(
        await peerAddressSeen(scope, pb.ns, pa.ns, pb.ip, 15202, 'srv-pod'),
        pa.ip,
        'the pod on n2 sees the pod address of n1',
      );
      assert.is(await peerAddressSeen(scope, pa.ns, pb.ns, pa.ip, 15203, 'srv-pod-back'), pb.ip, 'and the other way');

      let r = await rules(n1);
      assert.is(count(r, /-A POSTROUTING .*-j WEFT-POSTRTG/g), 1, r);
      assert.is(count(r, /-A FORWARD .*-j WEFT-FWD/g), 1, r);
      assert.is(count(r, /-A WEFT-POSTRTG /g), 6, r);
      assert.match(
        r,
        new RegExp(`-A WEFT-POSTRTG -s ${a.subnet.replace(/\./g, '\\.')} -d 10\\.244\\.0\\.0/16 .*-j RETURN`),
      );

      // Someone flushes our chain: the resync (1 s here) puts it back.
      await n1.exec(['iptables', '-t', 'nat', '-F', 'WEFT-POSTRTG']);
      const deadline = Date.now() + 10_000;
      while (count(await rules(n1), /-A WEFT-POSTRTG /g) !== 6 && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 200));
      assert.is(count(await rules(n1), /-A WEFT-POSTRTG /g), 6, 're-asserted after a flush');

      // Killed without cleanup, then started again: still one copy of everything.
      a.proc.child.kill('SIGKILL');
      await a.proc.exited;
      assert.is(count(await rules(n1), /-A WEFT-POSTRTG /g), 6, 'rules stay after a crash');
      await restartAgentNode(scope, a, 'agent-n1-again');
      r = await rules(n1);
      assert.is(count(r, /-j WEFT-POSTRTG/g), 1, r);
      assert.is(count(r, /-j WEFT-FWD/g), 1, r);
      assert.is(count(r, /-A WEFT-POSTRTG /g), 6, r);
      assert.is(count(r, /-A WEFT-FWD /g), 2, r);
      assert.is(await peerAddressSeen(scope, ext, pa.ns, '198.51.100.2', 15204, 'srv-ext-2'), '198.51.100.1');

      // Clean stop: nothing of ours left, the FORWARD policy untouched, and no way out for the pod any more.
      assert.is(await a.proc.stop(10_000), 0);
      r = await rules(n1);
      assert.not.match(r, /WEFT/);
      assert.match(r, /:FORWARD DROP/);
      assert.is(
        await peerAddressSeen(scope, ext, pa.ns, '198.51.100.2', 15205, 'srv-ext-3'),
        null,
        'no masquerade, no answer',
      );
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
