// Three `weft agent`s (vxlan) against one real etcd: the keys follow flannel's layout and sit on etcd leases
// with the TTL the agents asked for; pods ping across; one agent stopped with SIGTERM keeps its lease (the
// other two keep its route and keep forwarding between themselves), and restarted it takes the same subnet
// back, after which the pod behind it answers again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp } from 'weft/lab';
import {
  etcdGetPrefix,
  etcdLeaseInfo,
  mustStatus,
  pingCount,
  restartAgent,
  stopAgent,
  subnetEnvOf,
  waitForPing,
  type EtcdKv,
} from './support/agent-lab.ts';

const PREFIX = '/coreos.com/network';
const TTL_S = 300;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const started = Date.now();
const say = (m: string) => console.log(`[agent-etcd +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

interface LeaseAttrsJson {
  PublicIP: string;
  BackendType: string;
  BackendData?: { VtepMAC?: string; VNI?: number };
}

function subnetKeyOf(subnet: string): string {
  return `${PREFIX}/subnets/${subnet.replace('/', '-')}`;
}

if (canRunWith('weft agent with etcd', ['ip', 'ping', 'etcd', 'etcdctl'])) {
  test('three agents on one etcd: flannel keys with TTL leases, pings, SIGTERM and restart keep the subnet', async () => {
    const run = await labUp(
      {
        name: 'age-etcd',
        nodes: 3,
        pods: 1,
        backend: 'vxlan',
        routeSync: 'lease',
        store: 'etcd',
        persistent: false,
        agentArgs: ['--subnet-lease-ttl', String(TTL_S), '--subnet-lease-renew-margin', '1'],
      },
      say,
    );
    try {
      const nodes = run.lab.nodes;
      const [n1, n2, n3] = nodes as [LabNode, LabNode, LabNode];
      const pod = (n: LabNode) => n.pods[0]!;

      // flannel's layout: the config key, one subnets/ key per node, LeaseAttrs JSON on a TTL'd etcd lease.
      const kvs = await etcdGetPrefix(run, `${PREFIX}/`);
      const config = kvs.find((kv) => kv.key === `${PREFIX}/config`);
      assert.ok(config, `${PREFIX}/config is in etcd`);
      const conf = JSON.parse(config.value) as { Network: string; Backend: { Type: string } };
      assert.is(conf.Network, '10.244.0.0/16');
      assert.is(conf.Backend.Type, 'vxlan');
      const subnetKvs = kvs.filter((kv) => kv.key.startsWith(`${PREFIX}/subnets/`));
      assert.is(subnetKvs.length, 3, `one subnet key per node: ${subnetKvs.map((k) => k.key).join(', ')}`);
      for (const kv of subnetKvs) assert.match(kv.key, /^\/coreos\.com\/network\/subnets\/10\.244\.\d{1,3}\.0-24$/);
      const keyOf = new Map<string, EtcdKv>();
      for (const node of nodes) {
        const status = await mustStatus(node);
        assert.ok(status.lease, `${node.name} holds a lease`);
        const kv = subnetKvs.find((k) => k.key === subnetKeyOf(status.lease!.subnet));
        assert.ok(kv, `${node.name}'s subnet ${status.lease!.subnet} has its key in etcd`);
        keyOf.set(node.name, kv);
        const attrs = JSON.parse(kv.value) as LeaseAttrsJson;
        assert.is(attrs.PublicIP, node.underlayIp, `${kv.key}: PublicIP`);
        assert.is(attrs.BackendType, 'vxlan', `${kv.key}: BackendType`);
        assert.match(attrs.BackendData?.VtepMAC ?? '', MAC, `${kv.key}: BackendData.VtepMAC`);
        assert.is(attrs.BackendData?.VtepMAC, status.lease!.vtepMac, `${kv.key}: the VTEP MAC the agent uses`);
        assert.ok(kv.leaseHex, `${kv.key} is attached to an etcd lease`);
        const lease = await etcdLeaseInfo(run, kv.leaseHex);
        assert.is(lease.grantedTtl, TTL_S, `${kv.key}: granted TTL is --subnet-lease-ttl`);
        assert.ok(lease.ttl > 0 && lease.ttl <= TTL_S, `${kv.key}: remaining TTL ${lease.ttl} s`);
        assert.equal(lease.keys, [kv.key], `etcd lease ${kv.leaseHex} holds exactly ${kv.key}`);
        assert.is(status.routes.length, 2, `${node.name} routes to both peers`);
      }
      const vteps = new Set(subnetKvs.map((kv) => (JSON.parse(kv.value) as LeaseAttrsJson).BackendData?.VtepMAC));
      assert.is(vteps.size, 3, 'every node has its own VTEP MAC');
      say('etcd keys and leases checked');

      for (const a of nodes)
        for (const b of nodes) {
          if (a !== b) assert.ok((await pingCount(pod(a), pod(b).ip, 3)) >= 2, `${pod(a).name} -> ${pod(b).name} ping`);
        }
      say('all pods ping each other');

      // SIGTERM n3's agent: it exits cleanly and keeps its lease; the others keep its route.
      const n3Subnet = (await mustStatus(n3)).lease!.subnet;
      const n3EnvBefore = subnetEnvOf(run, n3);
      assert.is(await stopAgent(run, n3), 0, 'agent n3 exits 0 on SIGTERM');
      const afterStop = await etcdGetPrefix(run, `${PREFIX}/subnets/`);
      assert.ok(
        afterStop.some((kv) => kv.key === subnetKeyOf(n3Subnet)),
        'n3 kept its lease in etcd',
      );
      for (const node of [n1, n2]) {
        const routes = (await mustStatus(node)).routes.map((r) => r.subnet);
        assert.ok(
          routes.includes(n3Subnet),
          `${node.name} keeps the route to n3's ${n3Subnet} (has ${routes.join(', ')})`,
        );
        assert.is(routes.length, 2);
      }
      const [there, back] = await Promise.all([pingCount(pod(n1), pod(n2).ip, 10), pingCount(pod(n2), pod(n1).ip, 10)]);
      assert.ok(there >= 9 && back >= 9, `n1 <-> n2 pods keep pinging while n3 is down (${there}/10, ${back}/10)`);
      assert.is(await pingCount(pod(n1), pod(n3).ip, 2), 0, 'nothing answers behind n3 while its agent is down');
      say('n3 down: n1 and n2 keep routes and traffic');

      await restartAgent(run, n3, 'agent-n3-restarted');
      const n3After = await mustStatus(n3);
      assert.is(n3After.lease?.subnet, n3Subnet, 'n3 got the same subnet back');
      assert.is(subnetEnvOf(run, n3).FLANNEL_SUBNET, n3EnvBefore.FLANNEL_SUBNET, 'subnet.env unchanged');
      const keysAfter = (await etcdGetPrefix(run, `${PREFIX}/subnets/`)).map((kv) => kv.key).sort();
      assert.equal(keysAfter, [...keyOf.values()].map((kv) => kv.key).sort(), 'the same three subnet keys, no new one');
      assert.is(n3After.routes.length, 2, 'restarted n3 routes to both peers');
      await waitForPing(pod(n1), pod(n3).ip, 20_000, 'n1p1 -> n3p1 after the restart');
      for (const other of [n1, n2]) {
        assert.ok(
          (await pingCount(pod(other), pod(n3).ip, 3)) >= 2,
          `${pod(other).name} -> ${pod(n3).name} after restart`,
        );
        assert.ok(
          (await pingCount(pod(n3), pod(other).ip, 3)) >= 2,
          `${pod(n3).name} -> ${pod(other).name} after restart`,
        );
      }
      say('n3 back with the same subnet; its pod is reachable again');
    } finally {
      await run.lab.teardown();
    }
  });
}

test.run();
