import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv4Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import {
  LeaseManager,
  MemoryLeaseStore,
  NoFreeSubnetError,
  isLeasable,
  parseNetConfig,
  subnetKey,
  type LeaseEvent,
  type LeaseStore,
  type LeaseManagerOptions,
} from './support/internals.ts';

const config = parseNetConfig(
  '{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.20.0","Backend":{"Type":"vxlan"}}',
);
const HOUR = 3600_000;

function manager(store: LeaseStore, name: string, ip: string, extra: Partial<LeaseManagerOptions> = {}): LeaseManager {
  return new LeaseManager({
    store,
    config,
    identity: { nodeName: name, publicIp: ip },
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' },
    ttlMs: HOUR,
    retryMinMs: 10,
    retryMaxMs: 50,
    ...extra,
  });
}

/** Polls `cond` every 10 ms, for at most `ms`; returns whether it became true. */
async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms; t += 10) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

const running: AbortController[] = [];
test.after.each(() => {
  for (const ac of running.splice(0)) ac.abort(); // stops managers of a test that failed half-way
});

/** Runs a manager in the background, recording events and reachability. */
function start(m: LeaseManager) {
  const ac = new AbortController();
  running.push(ac);
  const events: string[] = [];
  const reach: boolean[] = [];
  const leases: string[] = [];
  const done = m.run(
    {
      onEvents: (ev: LeaseEvent[]) => events.push(...ev.map((e) => `${e.type} ${subnetKey(e.lease.subnet)}`)),
      onStoreReachable: (r) => reach.push(r),
      onLease: (l) => leases.push(subnetKey(l.subnet)),
    },
    ac.signal,
  );
  return {
    events,
    reach,
    leases,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

test('acquire: a leasable subnet, different per node, the same one again after a restart', async () => {
  const store = new MemoryLeaseStore();
  const signal = new AbortController().signal;
  const a = await manager(store, 'a', '192.0.2.1').acquire(signal);
  const b = await manager(store, 'b', '192.0.2.2').acquire(signal);
  assert.ok(isLeasable(config, a.subnet) && isLeasable(config, b.subnet));
  assert.is.not(subnetKey(a.subnet), subnetKey(b.subnet));
  const again = await manager(store, 'a', '192.0.2.99').acquire(signal); // same name, new address
  assert.is(subnetKey(again.subnet), subnetKey(a.subnet));
  assert.is(
    (await store.listLeases()).leases.find((l) => subnetKey(l.subnet) === subnetKey(a.subnet))?.attrs.PublicIP,
    '192.0.2.99',
  );
});

test('acquire: a lease written without NodeName (by flanneld) is matched by PublicIP', async () => {
  const store = new MemoryLeaseStore();
  await store.createLease(tryParseIpv4Prefix('10.244.7.0/24')!, { PublicIP: '192.0.2.7', BackendType: 'vxlan' }, HOUR);
  const l = await manager(store, 'n7', '192.0.2.7').acquire(new AbortController().signal);
  assert.is(formatIpv4Prefix(l.subnet), '10.244.7.0/24');
  const other = await manager(store, 'n8', '192.0.2.8').acquire(new AbortController().signal);
  assert.is.not(formatIpv4Prefix(other.subnet), '10.244.7.0/24');
});

test('acquire: prefers the previous subnet when free; NoFreeSubnetError when full', async () => {
  const small = parseNetConfig('{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.2.0"}');
  const store = new MemoryLeaseStore();
  const signal = new AbortController().signal;
  const a = await manager(store, 'a', '192.0.2.1', {
    config: small,
    previousSubnet: tryParseIpv4Prefix('10.244.2.0/24'),
  }).acquire(signal);
  assert.is(formatIpv4Prefix(a.subnet), '10.244.2.0/24');
  await manager(store, 'b', '192.0.2.2', { config: small }).acquire(signal);
  try {
    await manager(store, 'c', '192.0.2.3', { config: small }).acquire(signal);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NoFreeSubnetError);
  }
});

test('run with watch: false (BGP route sync) renews our lease but never reports peers', async () => {
  const store = new MemoryLeaseStore({ pollMs: 10 });
  const m = manager(store, 'a', '192.0.2.1', { ttlMs: 300, renewMarginMs: 150 });
  const mine = await m.acquire(new AbortController().signal);
  const ac = new AbortController();
  running.push(ac);
  const events: LeaseEvent[] = [];
  const done = m.run({ onEvents: (ev) => events.push(...ev) }, ac.signal, { watch: false });
  await manager(store, 'b', '192.0.2.2').acquire(new AbortController().signal);
  await new Promise((r) => setTimeout(r, 700)); // past two TTLs of ours
  const listed = (await store.listLeases()).leases.map((l) => subnetKey(l.subnet));
  assert.ok(listed.includes(subnetKey(mine.subnet)), 'our lease was renewed');
  assert.is(listed.length, 2);
  assert.equal(events, [], 'no lease watching');
  ac.abort();
  await done;
});

test('run: renews before expiry, so the lease outlives its first TTL', async () => {
  const store = new MemoryLeaseStore();
  const m = manager(store, 'a', '192.0.2.1', { ttlMs: 300, renewMarginMs: 200 });
  const first = await m.acquire(new AbortController().signal);
  const r = start(m);
  assert.ok(await waitFor(() => r.leases.length >= 3));
  assert.ok(m.lease!.expiresAt > first.expiresAt);
  assert.is(subnetKey(m.lease!.subnet), subnetKey(first.subnet));
  assert.ok((await store.listLeases()).leases.some((l) => subnetKey(l.subnet) === subnetKey(first.subnet)));
  await r.stop();
});

test('run: peers arrive as added/removed batches; own lease never appears', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const a = manager(store, 'a', '192.0.2.1');
  const own = await a.acquire(new AbortController().signal);
  const r = start(a);
  const b = await manager(store, 'b', '192.0.2.2').acquire(new AbortController().signal);
  assert.ok(await waitFor(() => r.events.length >= 1));
  await store.deleteLease(b.subnet);
  assert.ok(await waitFor(() => r.events.length >= 2));
  assert.equal(r.events, [`added ${subnetKey(b.subnet)}`, `removed ${subnetKey(b.subnet)}`]);
  assert.not.ok(r.events.some((e) => e.endsWith(subnetKey(own.subnet))));
  await r.stop();
});

test('outage: last known leases kept, then the diff on reconnect', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const a = manager(store, 'a', '192.0.2.1', { previousSubnet: tryParseIpv4Prefix('10.244.1.0/24') });
  await a.acquire(new AbortController().signal);
  const b = await manager(store, 'b', '192.0.2.2', { previousSubnet: tryParseIpv4Prefix('10.244.2.0/24') }).acquire(
    new AbortController().signal,
  );
  const r = start(a);
  assert.ok(await waitFor(() => r.events.length === 1));
  store.setAvailable(false);
  assert.ok(await waitFor(() => r.reach.includes(false)));
  assert.not.ok(a.storeReachable);
  assert.equal(
    a.peers().map((l) => subnetKey(l.subnet)),
    [subnetKey(b.subnet)],
  );
  // While "down", the world changes behind the manager's back (the test switch only blocks callers).
  store.setAvailable(true);
  await store.deleteLease(b.subnet);
  const c = await store.createLease(
    tryParseIpv4Prefix('10.244.20.0/24')!,
    { PublicIP: '192.0.2.3', BackendType: 'vxlan' },
    HOUR,
  );
  assert.ok(await waitFor(() => r.reach.at(-1) === true && r.events.length >= 3), JSON.stringify(r));
  assert.equal(r.events.slice(1).sort(), [`added ${subnetKey(c!.subnet)}`, `removed ${subnetKey(b.subnet)}`].sort());
  await r.stop();
});

test('lost lease: re-acquired on the same subnet when free, another one when taken', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const a = manager(store, 'a', '192.0.2.1');
  const own = await a.acquire(new AbortController().signal);
  const r = start(a);
  await store.deleteLease(own.subnet);
  assert.ok(await waitFor(() => r.leases.length >= 1));
  assert.is(r.leases[0], subnetKey(own.subnet));
  assert.ok((await store.listLeases()).leases.some((l) => l.attrs.NodeName === 'a'));
  // Now someone else grabs our subnet while it is free for a moment.
  await store.deleteLease(own.subnet);
  await store.createLease(own.subnet, { PublicIP: '192.0.2.66', BackendType: 'vxlan', NodeName: 'thief' }, HOUR);
  assert.ok(await waitFor(() => r.leases.some((s) => s !== subnetKey(own.subnet))));
  assert.is.not(subnetKey(a.lease!.subnet), subnetKey(own.subnet));
  assert.ok(await waitFor(() => r.events.includes(`added ${subnetKey(own.subnet)}`)), r.events.join());
  await r.stop();
});

test('store wiped (our own lease gone too): peers keep their routes one TTL to lease again, then the missing go', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const ttl = { ttlMs: 600 };
  const a = manager(store, 'a', '192.0.2.1', { ...ttl, previousSubnet: tryParseIpv4Prefix('10.244.1.0/24') });
  const own = await a.acquire(new AbortController().signal);
  const attrsOf = (ip: string, name: string) => ({ PublicIP: ip, BackendType: 'vxlan', NodeName: name });
  const b = await store.createLease(tryParseIpv4Prefix('10.244.7.0/24')!, attrsOf('192.0.2.2', 'b'), 60_000);
  const c = await store.createLease(tryParseIpv4Prefix('10.244.8.0/24')!, attrsOf('192.0.2.3', 'c'), 60_000);
  const r = start(a);
  assert.ok(await waitFor(() => r.events.length === 2), JSON.stringify(r));
  store.setAvailable(false);
  assert.ok(await waitFor(() => r.reach.includes(false)));
  // etcd comes back empty: every lease, ours included, is gone. b leases its subnet again at once; c never does.
  store.setAvailable(true);
  for (const l of [own, b!, c!]) await store.deleteLease(l.subnet);
  await store.createLease(b!.subnet, attrsOf('192.0.2.2', 'b'), 60_000);
  const ownBack = async () =>
    (await store.listLeases()).leases.some(
      (l) => l.attrs.NodeName === 'a' && subnetKey(l.subnet) === subnetKey(own.subnet),
    );
  for (let i = 0; i < 100 && !(await ownBack()); i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(await ownBack(), 'our own lease is back on its subnet');
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(r.events.slice(2), [], 'no route goes while the peers may still be leasing again');
  assert.ok(await waitFor(() => r.events.length > 2, 3000), 'the hold ends');
  assert.equal(r.events.slice(2), [`removed ${subnetKey(c!.subnet)}`], 'after it, only the peer that never came back');
  await r.stop();
});

test('renewal retries never back off past our lease expiry: a store back after a long outage sees us at once', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  // Deterministic back-off at its ceiling (50 ms doubling to 10 s); the lease lives 2 s, renewed 1 s before expiry.
  const a = manager(store, 'a', '192.0.2.1', { ttlMs: 2000, retryMinMs: 50, retryMaxMs: 10_000, rng: () => 0.999 });
  await a.acquire(new AbortController().signal);
  const r = start(a);
  store.setAvailable(false);
  // Renewal fails from 1 s on, backing off 50, 100, ... 1600 ms, then 3200 ms from about 2.55 s: without a cap
  // the next try would be near 5.75 s.
  await new Promise((res) => setTimeout(res, 2700));
  const before = r.leases.length;
  store.setAvailable(true);
  assert.ok(await waitFor(() => r.leases.length > before, 1000), 'renewed (or re-acquired) within a second');
  await r.stop();
});

test('start lists the leases once: the watch starts from the claim listing and replays what changed since', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const c = await manager(store, 'c', '192.0.2.3').acquire(new AbortController().signal);
  let lists = 0;
  const list = store.listLeases.bind(store);
  store.listLeases = () => {
    lists++;
    return list();
  };
  const a = manager(store, 'a', '192.0.2.1');
  const own = await a.acquire(new AbortController().signal); // created after the claim listing
  const d = await manager(store, 'd', '192.0.2.4').acquire(new AbortController().signal); // between claim and run
  assert.is(lists, 2, "a's claim and d's");
  const r = start(a);
  assert.ok(await waitFor(() => r.events.length >= 2), r.events.join());
  assert.equal(r.events.sort(), [`added ${subnetKey(c.subnet)}`, `added ${subnetKey(d.subnet)}`].sort());
  await store.deleteLease(c.subnet);
  assert.ok(await waitFor(() => r.events.length >= 3), r.events.join());
  assert.is(r.events[2], `removed ${subnetKey(c.subnet)}`);
  assert.not.ok(r.events.some((e) => e.endsWith(subnetKey(own.subnet))));
  assert.is(lists, 2, "a's watch did not list again");
  await r.stop();
});

test.run();
