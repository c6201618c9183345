import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { RevisionCompactedError, SqliteLeaseStore } from '../src/index.ts';
import { leaseStoreContract, collect } from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'agt-sqlite-'));
let n = 0;
const fresh = (opts = {}) => new SqliteLeaseStore(join(dir, `s${n++}`, 'leases.db'), { pollMs: 20, ...opts });

leaseStoreContract(test, 'sqlite', { open: async () => fresh(), shortTtlMs: 300 });

test("sqlite: a second handle on the same file sees the first one's changes (as another process would)", async () => {
  const path = join(dir, 'shared', 'leases.db');
  const a = new SqliteLeaseStore(path, { pollMs: 20 });
  const b = new SqliteLeaseStore(path, { pollMs: 20 });
  try {
    const { revision } = await b.listLeases();
    const events = await collect(
      b,
      revision,
      async () =>
        void (await a.createLease(
          tryParseIpv4Prefix('10.244.7.0/24')!,
          { PublicIP: '192.0.2.7', BackendType: 'udp' },
          60_000,
        )),
      (ev) => ev.length >= 1,
    );
    assert.is(events[0]?.lease.attrs.PublicIP, '192.0.2.7');
    assert.is(
      await b.createLease(tryParseIpv4Prefix('10.244.7.0/24')!, { PublicIP: '192.0.2.8', BackendType: 'udp' }, 60_000),
      null,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test('sqlite: watching from a pruned revision throws RevisionCompactedError', async () => {
  const s = fresh({ historyLimit: 2 });
  try {
    for (let i = 1; i <= 4; i++)
      await s.createLease(
        tryParseIpv4Prefix(`10.244.${i}.0/24`)!,
        { PublicIP: '192.0.2.1', BackendType: 'udp' },
        60_000,
      );
    await s.watchLeases(0, () => {}, new AbortController().signal);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RevisionCompactedError);
  } finally {
    await s.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
