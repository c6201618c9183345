// The lease store goes away under running agents: etcd stopped (by PID) while pods ping each other. Traffic
// keeps flowing on the routes already known; /status says storeReachable false and /metrics
// weft_store_reachable 0. etcd restarted with the same data directory and port: a node that can reach it
// again reconciles at once, and a node still cut off from it (a `prohibit` route in its namespace) misses a
// lease added meanwhile, then picks it up by listing again once the route is gone. Deleting that lease
// removes the route on both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp, waitFor, ETCD_ADDRESS } from 'weft/lab';
import {
  agentMetrics,
  agentStatus,
  etcdctl,
  metricValue,
  mustStatus,
  pingCount,
  restartEtcd,
} from './support/agent-lab.ts';

const PREFIX = '/coreos.com/network';
const started = Date.now();
const say = (m: string) => console.log(`[agent-store-down +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

async function reachable(node: LabNode): Promise<boolean | null> {
  return (await agentStatus(node))?.storeReachable ?? null;
}

async function routesOf(node: LabNode): Promise<string[]> {
  return (await mustStatus(node)).routes.map((r) => r.subnet);
}

if (canRunWith('weft agent with etcd going away', ['ip', 'ping', 'etcd', 'etcdctl'])) {
  test('etcd stopped and restarted: forwarding continues, storeReachable reported, leases reconciled', async () => {
    const run = await labUp(
      { name: 'age-down', nodes: 2, pods: 1, backend: 'vxlan', routeSync: 'lease', store: 'etcd', persistent: false },
      say,
    );
    try {
      const [n1, n2] = run.lab.nodes as [LabNode, LabNode];
      const p1 = n1.pods[0]!;
      const p2 = n2.pods[0]!;
      for (const n of [n1, n2]) {
        assert.is(await reachable(n), true, `${n.name}: store reachable at start`);
        assert.is(
          metricValue((await agentMetrics(n)) ?? '', 'weft_store_reachable'),
          1,
          `${n.name}: weft_store_reachable 1`,
        );
      }
      const peerRoutes = { n1: await routesOf(n1), n2: await routesOf(n2) };
      assert.is(peerRoutes.n1.length, 1);

      // Traffic across the outage: 60 pings 0.2 s apart (12 s) start before etcd stops and end while it is down.
      const pinging = Promise.all([pingCount(p1, p2.ip, 60), pingCount(p2, p1.ip, 60)]);
      await new Promise((r) => setTimeout(r, 1500));
      say(`stopping etcd (pid ${run.etcd!.pid})`);
      await run.etcd!.stop();
      await waitFor(
        async () => (await reachable(n1)) === false && (await reachable(n2)) === false,
        20_000,
        'both agents to report the store unreachable',
      );
      for (const n of [n1, n2]) {
        assert.is(
          metricValue((await agentMetrics(n)) ?? '', 'weft_store_reachable'),
          0,
          `${n.name}: weft_store_reachable 0`,
        );
        assert.equal(
          await routesOf(n),
          peerRoutes[n.name as 'n1' | 'n2'],
          `${n.name} keeps its routes while the store is down`,
        );
      }
      const [there, back] = await pinging;
      assert.ok(there >= 57 && back >= 57, `pings kept flowing while etcd went away (${there}/60, ${back}/60)`);
      const [there2, back2] = await Promise.all([pingCount(p1, p2.ip, 10), pingCount(p2, p1.ip, 10)]);
      assert.ok(there2 >= 9 && back2 >= 9, `and while it is down (${there2}/10, ${back2}/10)`);
      say(`etcd down: pings ${there}/60 ${back}/60 across the stop, ${there2}/10 ${back2}/10 during`);

      // n1 cannot reach etcd even once it is back: a prohibit route in n1's own namespace (refused at once).
      await n1.ns.ip(['route', 'add', 'prohibit', `${ETCD_ADDRESS}/32`]);
      await restartEtcd(run, 'etcd-restarted');
      await waitFor(async () => (await reachable(n2)) === true, 60_000, 'n2 to reconnect to the restarted etcd');
      say('etcd back; n2 reconnected');
      assert.is(await reachable(n1), false, 'n1 is still cut off from the store');

      // A lease for a node that joins while n1 cannot see the store.
      const taken = new Set([...peerRoutes.n1, ...peerRoutes.n2]);
      const joiner = [250, 249, 248].map((x) => `10.244.${x}.0/24`).find((s) => !taken.has(s))!;
      const grant = await etcdctl(run, ['lease', 'grant', '300']);
      const leaseId = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1];
      assert.ok(leaseId, `etcdctl lease grant: ${grant.stdout}`);
      const attrs = {
        PublicIP: '192.0.2.50',
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: '0a:58:00:00:00:32' },
      };
      const key = `${PREFIX}/subnets/${joiner.replace('/', '-')}`;
      await etcdctl(run, ['put', `--lease=${leaseId}`, key, JSON.stringify(attrs)]);
      await waitFor(async () => (await routesOf(n2)).includes(joiner), 20_000, `n2 to route ${joiner} (watch)`);
      assert.not.ok((await routesOf(n1)).includes(joiner), 'n1, cut off, has not seen the new lease');
      say(`new lease ${joiner} seen by n2 only`);

      await n1.ns.ip(['route', 'del', 'prohibit', `${ETCD_ADDRESS}/32`]);
      await waitFor(async () => (await reachable(n1)) === true, 60_000, 'n1 to reconnect once the route is gone');
      await waitFor(
        async () => (await routesOf(n1)).includes(joiner),
        20_000,
        `n1 to route ${joiner} after reconciling`,
      );
      const n1Status = await mustStatus(n1);
      const route = n1Status.routes.find((r) => r.subnet === joiner)!;
      assert.is(route.via, '192.0.2.50', "the reconciled route points at the new lease's PublicIP");
      assert.is(route.vtepMac, '0a:58:00:00:00:32', 'with its VTEP MAC');
      assert.is(
        metricValue((await agentMetrics(n1)) ?? '', 'weft_store_reachable'),
        1,
        'n1: weft_store_reachable 1 again',
      );
      say('n1 reconciled');

      await etcdctl(run, ['del', key]);
      for (const n of [n1, n2])
        await waitFor(
          async () => !(await routesOf(n)).includes(joiner),
          20_000,
          `${n.name} to drop ${joiner} after its lease is deleted`,
        );
      assert.equal(await routesOf(n1), peerRoutes.n1, 'n1 back to its one real peer');
      assert.ok(
        (await pingCount(p1, p2.ip, 3)) >= 2 && (await pingCount(p2, p1.ip, 3)) >= 2,
        'pods still ping after the outage',
      );
      for (const [name, proc] of run.agents) assert.ok(proc.running, `agent ${name} ran through the outage`);
    } finally {
      await run.lab.teardown();
    }
  });
}

test.run();
