// One contract suite for every LeaseStore: the fake, the embedded SQLite store and etcd run the same checks.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { tryParseIpv4Prefix, type Ipv4Prefix } from '@weft/netaddr';
import {
  LeaseNotFoundError,
  subnetKey,
  type LeaseBatch,
  type LeaseEvent,
  type LeaseStore,
} from './support/internals.ts';

export interface ContractOptions {
  /** A fresh, empty store for each test. */
  open(): Promise<LeaseStore>;
  /** A TTL short enough to watch expire (etcd cannot go below about a second). */
  shortTtlMs: number;
}

const net = (s: string): Ipv4Prefix => tryParseIpv4Prefix(s)!;
const attrs = (ip: string, name: string) => ({
  PublicIP: ip,
  BackendType: 'vxlan',
  BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' },
  NodeName: name,
});
const HOUR = 3600_000;

/** Collects watch batches until `until(events)` holds, bounded by `timeoutMs`. */
export async function collect(
  store: LeaseStore,
  after: number,
  act: () => Promise<void>,
  until: (events: LeaseEvent[]) => boolean,
  timeoutMs = 15_000,
): Promise<LeaseEvent[]> {
  const events: LeaseEvent[] = [];
  const ac = new AbortController();
  let wake: () => void = () => {};
  const watching = store.watchLeases(
    after,
    (b: LeaseBatch) => {
      events.push(...b.events);
      if (until(events)) wake();
    },
    ac.signal,
  );
  const timer = setTimeout(() => wake(), timeoutMs);
  const done = new Promise<void>((resolve) => (wake = resolve));
  await act();
  await Promise.race([done, watching]);
  clearTimeout(timer);
  ac.abort();
  await watching;
  return events;
}

/** A test on `suite` named `label: name`, with a fresh store from `open` that is closed however the test ends. */
export type StoreTest = (name: string, fn: (s: LeaseStore) => Promise<void>) => void;

/** Registers store tests on `suite` (for the contract suites): each opens its own store and closes it. */
export function storeTests(suite: Test, label: string, open: () => Promise<LeaseStore>): StoreTest {
  return (name, fn) =>
    suite(`${label}: ${name}`, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });
}

/** Registers the contract tests on `suite`, prefixed with `label`. */
export function leaseStoreContract(suite: Test, label: string, opts: ContractOptions): void {
  const withStore = storeTests(suite, label, () => opts.open());

  withStore('config round trip', async (s) => {
    assert.is(await s.getConfig(), null);
    await s.putConfig('{"Network":"10.244.0.0/16"}');
    assert.is(await s.getConfig(), '{"Network":"10.244.0.0/16"}');
  });

  withStore('create is create-if-absent', async (s) => {
    const before = await s.listLeases();
    const a = await s.createLease(net('10.244.1.0/24'), attrs('192.0.2.1', 'a'), HOUR);
    assert.ok(a);
    assert.is(subnetKey(a.subnet), '10.244.1.0-24');
    assert.ok(a.expiresAt > Date.now() + HOUR - 60_000);
    assert.is(await s.createLease(net('10.244.1.0/24'), attrs('192.0.2.2', 'b'), HOUR), null);
    const after = await s.listLeases();
    assert.ok(after.revision > before.revision);
    assert.is(after.leases.length, 1);
    assert.equal(after.leases[0]!.attrs, attrs('192.0.2.1', 'a'));
  });

  withStore('renew replaces attrs and extends; renew of a missing lease throws', async (s) => {
    const a = await s.createLease(net('10.244.2.0/24'), attrs('192.0.2.1', 'a'), opts.shortTtlMs * 3);
    const r = await s.renewLease(net('10.244.2.0/24'), attrs('192.0.2.9', 'a'), HOUR);
    assert.ok(r.expiresAt > a!.expiresAt);
    assert.equal(
      (await s.listLeases()).leases.map((l) => l.attrs.PublicIP),
      ['192.0.2.9'],
    );
    try {
      await s.renewLease(net('10.244.3.0/24'), attrs('192.0.2.1', 'a'), HOUR);
      assert.unreachable('renew of a missing lease');
    } catch (e) {
      assert.instance(e, LeaseNotFoundError);
    }
  });

  withStore('delete', async (s) => {
    await s.createLease(net('10.244.4.0/24'), attrs('192.0.2.1', 'a'), HOUR);
    assert.is(await s.deleteLease(net('10.244.4.0/24')), true);
    assert.is(await s.deleteLease(net('10.244.4.0/24')), false);
    assert.is((await s.listLeases()).leases.length, 0);
  });

  withStore('watch sees create, renew and delete in order, from a revision', async (s) => {
    await s.createLease(net('10.244.9.0/24'), attrs('192.0.2.9', 'z'), HOUR); // before the snapshot: not replayed
    const { revision } = await s.listLeases();
    const events = await collect(
      s,
      revision,
      async () => {
        await s.createLease(net('10.244.5.0/24'), attrs('192.0.2.1', 'a'), HOUR);
        await s.renewLease(net('10.244.5.0/24'), attrs('192.0.2.5', 'a'), HOUR);
        await s.deleteLease(net('10.244.5.0/24'));
      },
      (ev) => ev.length >= 3,
    );
    assert.equal(
      events.map((e) => `${e.type} ${subnetKey(e.lease.subnet)}`),
      ['added 10.244.5.0-24', 'added 10.244.5.0-24', 'removed 10.244.5.0-24'],
    );
    assert.is(events[1]!.lease.attrs.PublicIP, '192.0.2.5');
  });

  withStore('expiry arrives as removed and frees the subnet', async (s) => {
    const { revision } = await s.listLeases();
    const events = await collect(
      s,
      revision,
      async () => void (await s.createLease(net('10.244.6.0/24'), attrs('192.0.2.1', 'a'), opts.shortTtlMs)),
      (ev) => ev.some((e) => e.type === 'removed'),
    );
    assert.equal(
      events.map((e) => e.type),
      ['added', 'removed'],
    );
    assert.is((await s.listLeases()).leases.length, 0);
    assert.ok(await s.createLease(net('10.244.6.0/24'), attrs('192.0.2.2', 'b'), HOUR));
  });

  withStore('watch resolves when aborted', async (s) => {
    const ac = new AbortController();
    const w = s.watchLeases((await s.listLeases()).revision, () => {}, ac.signal);
    ac.abort();
    await w;
  });
}
