// The lease manager with EnableIPv6: dual-stack and IPv6-only leases claimed, seen by peers, taken back after a
// restart in both families (from the store, and from subnet.env when the lease is gone), beside IPv4-only nodes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LeaseManager,
  MemoryLeaseStore,
  NO_IPV4_SUBNET,
  SqliteLeaseStore,
  leaseEventsToChanges,
  leaseKey,
  parseNetConfig,
  type Lease,
  type LeaseEvent,
  type LeaseManagerOptions,
  type LeaseStore,
  type NetConfig,
} from './support/internals.ts';

const dual = parseNetConfig(
  '{"Network":"10.244.0.0/16","SubnetMax":"10.244.9.0","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","IPv6SubnetMax":"fd00:10:244:9::","Backend":{"Type":"vxlan"}}',
);
const only6 = parseNetConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56"}');
const only4 = parseNetConfig('{"Network":"10.244.0.0/16","SubnetMax":"10.244.9.0","Backend":{"Type":"vxlan"}}');
const HOUR = 3600_000;
const keyOf = (l: Lease) => leaseKey(l.subnet, l.ipv6Subnet);

function manager(store: LeaseStore, config: NetConfig, n: number, extra: Partial<LeaseManagerOptions> = {}) {
  const six = config.enableIpv6 ? { publicIpv6: `2001:db8::${n}` } : {};
  return new LeaseManager({
    store,
    config,
    identity: { nodeName: `n${n}`, publicIp: config.enableIpv4 ? `192.0.2.${n}` : '0.0.0.0', ...six },
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: `0a:58:00:00:00:0${n}` },
    backendV6Data: { VNI: 1, VtepMAC: `0a:58:00:00:06:0${n}` },
    ttlMs: HOUR,
    retryMinMs: 10,
    retryMaxMs: 50,
    ...extra,
  });
}

test('dual stack: distinct subnets in both families, IPv6 attrs written, peers see both subnets', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const ac = new AbortController();
  const [a, b] = [manager(store, dual, 1), manager(store, dual, 2)];
  const la = await a.acquire(ac.signal);
  const lb = await b.acquire(ac.signal);
  assert.ok(la.ipv6Subnet && lb.ipv6Subnet);
  assert.is.not(la.subnet.ip, lb.subnet.ip);
  assert.is.not(la.ipv6Subnet!.ip, lb.ipv6Subnet!.ip);
  assert.match(keyOf(la), /^10\.244\.\d\.0-24&fd00:10:244:\d::-64$/);
  assert.equal(la.attrs, {
    PublicIP: '192.0.2.1',
    PublicIPv6: '2001:db8::1',
    BackendType: 'vxlan',
    BackendData: { VNI: 1, VtepMAC: '0a:58:00:00:00:01' },
    BackendV6Data: { VNI: 1, VtepMAC: '0a:58:00:00:06:01' },
    NodeName: 'n1',
  });
  const seen: LeaseEvent[] = [];
  const watching = a.watchPeers((ev) => seen.push(...ev), ac.signal);
  for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await watching;
  assert.equal(
    seen.map((e) => `${e.type} ${keyOf(e.lease)}`),
    [`added ${keyOf(lb)}`],
    "b's dual lease, not a's own",
  );
  assert.equal(leaseEventsToChanges(seen)[0]!.subnet, lb.subnet, 'the IPv4 dataplane gets the IPv4 subnet');
});

test('restart: the same subnets again in both families, from the store or from subnet.env', async () => {
  const store = new MemoryLeaseStore();
  const ac = new AbortController();
  const first = await manager(store, dual, 1, { rng: () => 0.5 }).acquire(ac.signal);
  const again = await manager(store, dual, 1).acquire(ac.signal);
  assert.is(keyOf(again), keyOf(first), 'found by NodeName and renewed');
  await store.deleteLease(first.subnet, first.ipv6Subnet); // gone (expired) while the node was down
  const meanwhile = await manager(store, dual, 5, { rng: () => 0 }).acquire(ac.signal); // another node starts
  assert.is.not(keyOf(meanwhile), keyOf(first));
  const back = await manager(store, dual, 1, {
    previousSubnet: first.subnet,
    previousIpv6Subnet: first.ipv6Subnet,
    rng: () => 0.99,
  }).acquire(ac.signal);
  assert.is(keyOf(back), keyOf(first), "subnet.env's FLANNEL_SUBNET and FLANNEL_IPV6_SUBNET asked for again");
});

test('restart on the embedded store: a new process takes its dual-stack lease back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'v6c-restart-'));
  const ac = new AbortController();
  try {
    const path = join(dir, 'leases.db');
    const s1 = new SqliteLeaseStore(path);
    const first = await manager(s1, dual, 3).acquire(ac.signal);
    await s1.close();
    const s2 = new SqliteLeaseStore(path);
    const second = await manager(s2, dual, 3).acquire(ac.signal);
    assert.is(keyOf(second), keyOf(first));
    assert.is((await s2.listLeases()).leases.length, 1, 'renewed, not a second lease');
    await s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IPv6 only: 0.0.0.0-0&V6NET-LEN, PublicIP 0.0.0.0, no IPv4 route to peers', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const ac = new AbortController();
  const l = await manager(store, only6, 6).acquire(ac.signal);
  assert.equal(l.subnet, NO_IPV4_SUBNET);
  assert.match(keyOf(l), /^0\.0\.0\.0-0&fd00:10:244:[0-9a-f]+::-64$/);
  assert.is(l.attrs.PublicIP, '0.0.0.0');
  assert.not.ok('BackendData' in l.attrs, 'IPv6 only: BackendV6Data alone');
  assert.ok(l.attrs.BackendV6Data);
  const other = await manager(store, only6, 7).acquire(ac.signal);
  assert.is.not(keyOf(other), keyOf(l), 'PublicIP 0.0.0.0 is shared: ownership goes by name or PublicIPv6');
  const v4node = manager(store, only4, 8);
  const l4 = await v4node.acquire(ac.signal);
  assert.not.ok('ipv6Subnet' in l4, 'an IPv4-only node in the same store is unchanged');
  const seen: LeaseEvent[] = [];
  const watching = v4node.watchPeers((ev) => seen.push(...ev), ac.signal);
  for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await watching;
  assert.is(seen.length, 2, 'both IPv6-only leases are events');
  assert.equal(leaseEventsToChanges(seen), [], 'but no IPv4 peer route');
});

test('an IPv4-only node never takes an IPv4 subnet a dual-stack lease holds', async () => {
  const store = new MemoryLeaseStore();
  const ac = new AbortController();
  const taken: string[] = [];
  for (let n = 1; n <= 4; n++) taken.push(keyOf(await manager(store, dual, n).acquire(ac.signal)));
  const v4 = await manager(store, only4, 9, { rng: () => 0 }).acquire(ac.signal);
  assert.not.ok(
    taken.some((k) => k.startsWith(`${leaseKey(v4.subnet)}&`)),
    `${leaseKey(v4.subnet)} is not in ${taken.join(' ')}`,
  );
});

test.run();
