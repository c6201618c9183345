import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { MemoryLeaseStore, RevisionCompactedError, StoreUnavailableError } from './support/internals.ts';
import { leaseStoreContract } from './store-contract.ts';

leaseStoreContract(test, 'memory', { open: async () => new MemoryLeaseStore({ pollMs: 10 }), shortTtlMs: 200 });

test('memory: unavailable switch fails calls with StoreUnavailableError', async () => {
  const s = new MemoryLeaseStore();
  s.setAvailable(false);
  try {
    await s.listLeases();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, StoreUnavailableError);
  }
});

test('memory: watching from a compacted revision throws', async () => {
  const s = new MemoryLeaseStore({ historyLimit: 2 });
  for (let i = 1; i <= 4; i++)
    await s.createLease(tryParseIpv4Prefix(`10.244.${i}.0/24`)!, { PublicIP: '192.0.2.1', BackendType: 'udp' }, 60_000);
  try {
    await s.watchLeases(0, () => {}, new AbortController().signal);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RevisionCompactedError);
  }
});

test.run();
