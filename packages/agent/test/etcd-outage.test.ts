// A real etcd stopped under a running LeaseManager and started again (same data dir, same port): the
// manager keeps its last known peers, reports the store unreachable, then reconciles with the diff,
// and takes its subnet back when its key was deleted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith } from '@weft/lab';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { EtcdLeaseStore, LeaseManager, parseNetConfig, subnetKey, type LeaseEvent } from './support/internals.ts';
import { startEtcd } from './etcd-helper.ts';

const CLIENT = 23791;
const PEER = 23801;
const endpoints = [`127.0.0.1:${CLIENT}`];
const config = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}');
const HOUR = 3600_000;

async function waitFor(cond: () => boolean, ms = 30_000): Promise<boolean> {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

if (canRunWith('etcd outage', ['etcd'])) {
  test('etcd stop and restart: keep peers, reconcile the diff, re-acquire a deleted lease', async () => {
    const scope = new LabScope('agt-etcd-outage');
    const stores: EtcdLeaseStore[] = [];
    const ac = new AbortController();
    try {
      let etcd = await startEtcd(scope, 'agt-outage', CLIENT, PEER);
      const open = () => {
        const s = new EtcdLeaseStore({ endpoints, callTimeoutMs: 1000 });
        stores.push(s);
        return s;
      };
      const admin = open();
      const a = new LeaseManager({
        store: open(),
        config,
        identity: { nodeName: 'a', publicIp: '192.0.2.1' },
        backendType: 'udp',
        ttlMs: HOUR,
        retryMinMs: 100,
        retryMaxMs: 500,
      });
      const own = await a.acquire(ac.signal);
      const b = await new LeaseManager({
        store: open(),
        config,
        identity: { nodeName: 'b', publicIp: '192.0.2.2' },
        backendType: 'udp',
        ttlMs: HOUR,
      }).acquire(ac.signal);
      const events: string[] = [];
      const reach: boolean[] = [];
      const leases: string[] = [];
      const running = a.run(
        {
          onEvents: (ev: LeaseEvent[]) => events.push(...ev.map((e) => `${e.type} ${subnetKey(e.lease.subnet)}`)),
          onStoreReachable: (r) => reach.push(r),
          onLease: (l) => leases.push(subnetKey(l.subnet)),
        },
        ac.signal,
      );
      assert.ok(await waitFor(() => events.length === 1), events.join());
      assert.is(events[0], `added ${subnetKey(b.subnet)}`);

      await etcd.stop();
      assert.ok(await waitFor(() => reach.includes(false)), 'unreachable reported');
      assert.equal(
        a.peers().map((l) => subnetKey(l.subnet)),
        [subnetKey(b.subnet)],
        'last known peers kept',
      );

      etcd = await startEtcd(scope, 'agt-outage', CLIENT, PEER, false);
      const c = tryParseIpv4Prefix(subnetKey(b.subnet) === '10.244.200.0-24' ? '10.244.201.0/24' : '10.244.200.0/24')!;
      await admin.deleteLease(b.subnet);
      await admin.createLease(c, { PublicIP: '192.0.2.3', BackendType: 'udp', NodeName: 'c' }, HOUR);
      assert.ok(await waitFor(() => reach.at(-1) === true && events.length >= 3), JSON.stringify({ events, reach }));
      assert.equal(events.slice(1).sort(), [`added ${subnetKey(c)}`, `removed ${subnetKey(b.subnet)}`].sort());

      await admin.deleteLease(own.subnet);
      assert.ok(await waitFor(() => leases.length >= 1), 'lease re-acquired');
      assert.is(leases[0], subnetKey(own.subnet));
      const held = (await admin.listLeases()).leases.find((l) => subnetKey(l.subnet) === subnetKey(own.subnet));
      assert.is(held?.attrs.NodeName, 'a');
      ac.abort();
      await running;
    } finally {
      ac.abort();
      for (const s of stores) await s.close();
      await scope.cleanup();
    }
  });
}

test.run();
