// flannel's host-gw with both families, on real namespaces with real agents (native backend, lease route sync):
// a dual-stack lab (weft lab up --dual-stack) where each node routes the other's IPv4 subnet via its IPv4 address
// and its IPv6 subnet via its IPv6 address, pods ping across nodes and move 50 MB over TCP per family with
// SHA-256 compared end to end; then an IPv6-only lab (EnableIPv4 false) does the same over IPv6.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp, type LabFamilies } from 'weft/lab';
import { kernelRoute, pingAll, transferChecked } from './support/dual-stack.ts';
import { mustStatus } from './support/agent-lab.ts';

const t0 = Date.now();
const say = (m: string) => console.log(`[dual-stack-hostgw +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

async function hostGw(name: string, families: LabFamilies): Promise<void> {
  const run = await labUp(
    {
      name,
      nodes: 2,
      pods: 1,
      backend: 'native',
      routeSync: 'lease',
      store: 'embedded',
      families,
    },
    say,
  );
  try {
    const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
    const [p1, p2] = [n1.pods[0]!, n2.pods[0]!];
    assert.ok(p1.ip6 && p2.ip6, 'pods have IPv6 addresses from the CNI plugin');
    assert.match(p2.ip6!, /^fd00:10:244:/);
    assert.match(await kernelRoute(n1, n2.subnet6!), new RegExp(`via ${n2.underlayIp6} dev eth0 proto static`));
    if (families === 'dual-stack') {
      assert.match(p2.ip, /^10\.244\./);
      assert.match(await kernelRoute(n1, n2.subnet!), new RegExp(`via ${n2.underlayIp} dev eth0 proto static`));
    } else {
      assert.is(p2.ip, p2.ip6, 'IPv6 only: the pod has one address');
      assert.is((await n1.ns.ip(['-4', 'route', 'show', '10.244.0.0/16', 'root', '10.244.0.0/16'])).stdout.trim(), '');
    }
    const s = await mustStatus(n1);
    const v6 = (s as unknown as { ipv6: { forwarded: boolean; subnet: string } }).ipv6;
    assert.is(v6.forwarded, true, '/status: IPv6 is forwarded');
    assert.is(v6.subnet, n1.subnet6);
    assert.ok(
      s.routes.some((r) => r.subnet === n2.subnet6 && r.via === n2.underlayIp6),
      `/status lists ${n2.subnet6} via ${n2.underlayIp6}`,
    );
    const ips = families === 'dual-stack' ? [p2.ip, p2.ip6!] : [p2.ip6!];
    for (const ip of ips) assert.ok(await pingAll(p1, ip), `${p1.name} -> ${ip} ping`);
    say('pings answered');
    assert.ok(await pingAll(p2, families === 'dual-stack' ? p1.ip6! : p1.ip), 'and back');
    let port = 15101;
    for (const ip of ips) await transferChecked(p1, p2, ip, port++);
    say('transfers checked');
    // The agent removes its routes of both families when it stops (flannel's host-gw leaves them; weft cleans up).
    assert.is(await run.agents.get(n1.name)!.stop(), 0, 'the agent exits cleanly on SIGTERM');
    assert.is(await kernelRoute(n1, n2.subnet6!), '', 'the IPv6 route is removed at shutdown');
  } finally {
    await run.lab.teardown();
  }
}

if (canRunWith('dual-stack host-gw lab', ['ip', 'ping', '/usr/lib/cni/bridge'])) {
  test('host-gw dual stack: routes of both families, pings and 50 MB checksummed per family', () =>
    hostGw('v6n-hg', 'dual-stack'));
  test('host-gw IPv6 only: IPv6 routes via PublicIPv6, pings and 50 MB checksummed', () =>
    hostGw('v6n-h6', 'ipv6-only'));
}

test.run();
