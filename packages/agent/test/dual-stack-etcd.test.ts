// Dual stack against a real etcd, in flannel's layout both ways: leases put the way flanneld writes them (etcdctl,
// with an etcd lease as TTL) are read, watched and respected by weft; weft's own dual-stack lease is a key flannel's
// ParseSubnetKey pattern takes and a value with flannel's LeaseAttrs fields. Loopback ports 27710/27711 (v6c range).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith, run, type BackgroundProcess } from '@weft/lab';
import { formatIpv4Prefix, formatIpv6Prefix } from '@weft/netaddr';
import { EtcdLeaseStore, LeaseManager, leaseKey, parseNetConfig, type LeaseEvent } from './support/internals.ts';
import { collect } from './store-contract.ts';
import { dualStackContract } from './dual-stack-contract.ts';
import { startEtcd } from './etcd-helper.ts';

const CLIENT = 27710;
const PEER = 27711;
const endpoint = `127.0.0.1:${CLIENT}`;
/** flannel's pkg/subnet subnetRegex, as its source spells it: the key oracle. */
const FLANNEL_KEY = /(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;
const CONF =
  '{"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:5::/56","SubnetMin":"10.5.52.0","SubnetMax":"10.5.54.0","IPv6SubnetMin":"fd00:5:0:34::","IPv6SubnetMax":"fd00:5:0:36::","Backend":{"Type":"vxlan"}}';
/** A dual-stack lease value as flanneld marshals LeaseAttrs (pkg/lease): no NodeName, PublicIPv6 a string. */
const FLANNELD_DUAL =
  '{"PublicIP":"192.0.2.52","PublicIPv6":"2001:db8::52","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:4b:b6:2f:54:4e"},"BackendV6Data":{"VNI":1,"VtepMAC":"9e:0c:51:3c:7a:01"}}';

if (canRunWith('etcd dual-stack leases', ['etcd', 'etcdctl'])) {
  const scope = new LabScope('v6c-etcd');
  let etcd: BackgroundProcess | null = null;
  let n = 0;
  const E = async (...args: string[]) =>
    (await run(['etcdctl', '--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } })).stdout;
  /** Puts a value the way flanneld's registry does: on a fresh etcd lease of `ttl` seconds. */
  const flanneldPut = async (key: string, value: string, ttl = 600) => {
    const id = /lease ([0-9a-f]+) granted/.exec(await E('lease', 'grant', String(ttl)))![1]!;
    await E('put', `--lease=${id}`, key, value);
  };
  test.before(async () => {
    etcd = await startEtcd(scope, 'v6c-etcd', CLIENT, PEER);
  });
  test.after(async () => {
    await etcd?.stop();
    await scope.cleanup();
  });

  dualStackContract(test, 'etcd', {
    open: async () => new EtcdLeaseStore({ endpoints: [endpoint], prefix: `/v6c-test/${n++}` }),
    familyExclusive: false,
  });

  test("etcd: flanneld's leases in all three key forms list and watch with both subnets", async () => {
    const prefix = '/v6c-flanneld/a';
    const store = new EtcdLeaseStore({ endpoints: [endpoint], prefix });
    try {
      await flanneldPut(`${prefix}/subnets/10.5.52.0-24&fd00:5:0:34::-64`, FLANNELD_DUAL);
      await flanneldPut(
        `${prefix}/subnets/10.5.53.0-24`,
        '{"PublicIP":"192.0.2.53","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:4b:b6:2f:54:53"}}',
      );
      await flanneldPut(
        `${prefix}/subnets/0.0.0.0-0&fd00:5:0:35::-64`,
        '{"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::35","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"9e:0c:51:3c:7a:35"}}',
      );
      const snap = await store.listLeases();
      const byKey = new Map(snap.leases.map((l) => [leaseKey(l.subnet, l.ipv6Subnet), l]));
      assert.equal([...byKey.keys()].sort(), [
        '0.0.0.0-0&fd00:5:0:35::-64',
        '10.5.52.0-24&fd00:5:0:34::-64',
        '10.5.53.0-24',
      ]);
      const dual = byKey.get('10.5.52.0-24&fd00:5:0:34::-64')!;
      assert.is(formatIpv4Prefix(dual.subnet), '10.5.52.0/24');
      assert.is(formatIpv6Prefix(dual.ipv6Subnet!), 'fd00:5:0:34::/64');
      assert.is(JSON.stringify(dual.attrs), FLANNELD_DUAL, 'attrs exactly as flanneld wrote them');
      assert.is(byKey.get('10.5.53.0-24')!.attrs.PublicIPv6, null);
      const events = await collect(
        store,
        snap.revision,
        async () => {
          await flanneldPut(`${prefix}/subnets/10.5.54.0-24&fd00:5:0:36::-64`, FLANNELD_DUAL.replace(/52/g, '54'));
          await E('del', `${prefix}/subnets/10.5.52.0-24&fd00:5:0:34::-64`);
        },
        (ev) => ev.length >= 2,
      );
      const show = (e: LeaseEvent) =>
        `${e.type} ${leaseKey(e.lease.subnet, e.lease.ipv6Subnet)} ${e.lease.attrs.PublicIPv6}`;
      assert.equal(events.map(show), [
        'added 10.5.54.0-24&fd00:5:0:36::-64 2001:db8::54',
        'removed 10.5.52.0-24&fd00:5:0:34::-64 2001:db8::52',
      ]);
    } finally {
      await store.close();
    }
  });

  test("etcd: weft's dual-stack lease is the key and value flanneld reads; flanneld's leases are respected", async () => {
    const prefix = '/v6c-flanneld/b';
    const store = new EtcdLeaseStore({ endpoints: [endpoint], prefix });
    const ac = new AbortController();
    try {
      await store.putConfig(CONF);
      await flanneldPut(`${prefix}/subnets/10.5.52.0-24&fd00:5:0:34::-64`, FLANNELD_DUAL);
      const m = new LeaseManager({
        store,
        config: parseNetConfig((await store.getConfig())!),
        identity: { nodeName: 'weft-a', publicIp: '192.0.2.60', publicIpv6: '2001:db8::60' },
        backendType: 'vxlan',
        backendData: { VNI: 1, VtepMAC: '0a:58:00:00:00:60' },
        backendV6Data: { VNI: 1, VtepMAC: '0a:58:00:00:06:60' },
        ttlMs: 600_000,
        rng: () => 0,
      });
      const lease = await m.acquire(ac.signal);
      assert.is(
        leaseKey(lease.subnet, lease.ipv6Subnet),
        '10.5.53.0-24&fd00:5:0:35::-64',
        "flanneld's subnets skipped",
      );
      const keys = (await E('get', '--prefix', '--keys-only', `${prefix}/subnets/`)).split('\n').filter(Boolean);
      const mine = keys.find((k) => k.includes('10.5.53.0'))!;
      const parts = FLANNEL_KEY.exec(mine);
      assert.ok(parts, `${mine} matches flannel's ParseSubnetKey pattern`);
      assert.equal(parts!.slice(1), ['10.5.53.0', '24', 'fd00:5:0:35::', '64']);
      const value = JSON.parse((await E('get', '--print-value-only', mine)).trim());
      assert.equal(Object.keys(value), [
        'PublicIP',
        'PublicIPv6',
        'BackendType',
        'BackendData',
        'BackendV6Data',
        'NodeName',
      ]);
      assert.equal(value, {
        PublicIP: '192.0.2.60',
        PublicIPv6: '2001:db8::60',
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: '0a:58:00:00:00:60' },
        BackendV6Data: { VNI: 1, VtepMAC: '0a:58:00:00:06:60' },
        NodeName: 'weft-a',
      });
      const leaseId = JSON.parse(await E('get', mine, '-w', 'json')).kvs[0].lease as number;
      assert.ok(leaseId > 0, 'on an etcd lease, as flanneld expects (its TTL is the lease expiry)');
      // weft restarted (here with new addresses): its NodeName finds the same dual-stack lease, both families.
      const restarted = await new LeaseManager({
        store,
        config: parseNetConfig(CONF),
        identity: { nodeName: 'weft-a', publicIp: '192.0.2.61', publicIpv6: '2001:db8::61' },
        backendType: 'vxlan',
        ttlMs: 600_000,
      }).acquire(ac.signal);
      assert.is(leaseKey(restarted.subnet, restarted.ipv6Subnet), '10.5.53.0-24&fd00:5:0:35::-64');
      assert.is(restarted.attrs.PublicIPv6, '2001:db8::61', 'renewed with the new address');
      // flanneld's own rule after a restart: a lease of this PublicIP is ours again (here flanneld's, no NodeName).
      const again = new LeaseManager({
        store,
        config: parseNetConfig(CONF),
        identity: { nodeName: 'other-name', publicIp: '192.0.2.52', publicIpv6: '2001:db8::52' },
        backendType: 'vxlan',
        ttlMs: 600_000,
      });
      const taken = await again.acquire(ac.signal);
      assert.is(leaseKey(taken.subnet, taken.ipv6Subnet), '10.5.52.0-24&fd00:5:0:34::-64');
    } finally {
      ac.abort();
      await store.close();
    }
  });
}

test.run();
