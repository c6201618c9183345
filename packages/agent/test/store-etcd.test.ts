import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith, run, type BackgroundProcess } from '@weft/lab';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { EtcdLeaseStore } from './support/internals.ts';
import { leaseStoreContract } from './store-contract.ts';
import { startEtcd } from './etcd-helper.ts';

const CLIENT = 23790;
const PEER = 23800;
const endpoint = `127.0.0.1:${CLIENT}`;

if (canRunWith('etcd store', ['etcd', 'etcdctl'])) {
  const scope = new LabScope('agt-etcd-store');
  let etcd: BackgroundProcess | null = null;
  let n = 0;
  test.before(async () => {
    etcd = await startEtcd(scope, 'agt-etcd', CLIENT, PEER);
  });
  test.after(async () => {
    await etcd?.stop();
    await scope.cleanup();
  });

  leaseStoreContract(test, 'etcd', {
    open: async () => new EtcdLeaseStore({ endpoints: [endpoint], prefix: `/agt-test/${n++}` }),
    shortTtlMs: 1000,
  });

  test('etcd: flannel key layout and etcd lease TTL, as etcdctl sees them', async () => {
    const store = new EtcdLeaseStore({ endpoints: [endpoint] });
    try {
      await store.putConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
      await store.createLease(
        tryParseIpv4Prefix('10.244.1.0/24')!,
        { PublicIP: '192.0.2.1', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' } },
        60_000,
      );
      const E = (...args: string[]) =>
        run(['etcdctl', '--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
      const keys = (await E('get', '--prefix', '--keys-only', '/coreos.com/network/')).stdout
        .split('\n')
        .filter(Boolean);
      assert.equal(keys, ['/coreos.com/network/config', '/coreos.com/network/subnets/10.244.1.0-24']);
      const value = (await E('get', '--print-value-only', '/coreos.com/network/subnets/10.244.1.0-24')).stdout.trim();
      assert.equal(JSON.parse(value), {
        PublicIP: '192.0.2.1',
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' },
      });
      // The lease ID is a 64-bit integer: read it as text, JSON.parse would round it.
      const raw = (await E('get', '-w', 'json', '/coreos.com/network/subnets/10.244.1.0-24')).stdout;
      const leaseHex = BigInt(/"lease":(\d+)/.exec(raw)![1]!).toString(16);
      const ttl = (await E('lease', 'timetolive', leaseHex)).stdout;
      const remaining = Number(/remaining\((\d+)s\)/.exec(ttl)?.[1]);
      assert.ok(remaining > 30 && remaining <= 60, ttl);
    } finally {
      await store.close();
    }
  });
}

test.run();
