// The embedded store's idle watch is event-driven: without pollMs a watcher sleeps up to 30 s, so these pass
// only if file change events (another process's write) and the expiry timer (no write at all) wake it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { SqliteLeaseStore } from '../src/index.ts';
import { leaseStoreContract, collect } from './store-contract.ts';
import { dualStackContract } from './dual-stack-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'agt-sqlite-wake-'));
let n = 0;
const path = () => join(dir, `s${n++}`, 'leases.db');
const child = join(import.meta.dirname, 'fixtures', 'sqlite-write-child.ts');

// The whole contract with no poll: every watch must be woken by file events or expiry timers.
leaseStoreContract(test, 'sqlite (no poll)', { open: async () => new SqliteLeaseStore(path()), shortTtlMs: 300 });
dualStackContract(test, 'sqlite (no poll)', { open: async () => new SqliteLeaseStore(path()), familyExclusive: true });

/** Runs the writer child on `db` and resolves with its exit code. */
function runChild(db: string, subnet: string, ip: string): Promise<number | null> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, db, subnet, ip], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr.on('data', (d) => process.stderr.write(d));
  return new Promise((resolve) => p.on('exit', (code) => resolve(code)));
}

test("sqlite (no poll): another process's write wakes the watcher through a file event, not a timer", async () => {
  const db = path();
  const store = new SqliteLeaseStore(db);
  try {
    const { revision } = await store.listLeases();
    let code: number | null = -1;
    let wakes = { change: -1, timer: -1 };
    const events = await collect(
      store,
      revision,
      async () => void (code = await runChild(db, '10.244.9.0/24', '192.0.2.9')),
      (ev) => {
        if (ev.length >= 1) wakes = { ...store.watchWakes };
        return ev.length >= 1;
      },
    );
    assert.is(code, 0);
    assert.is(events[0]?.type, 'added');
    assert.is(events[0]?.lease.attrs.PublicIP, '192.0.2.9');
    assert.is(wakes.timer, 0, 'no timer wake-up before the event (no 1 s poll, the 30 s one not due)');
    assert.ok(wakes.change >= 1);
  } finally {
    await store.close();
  }
});

test('sqlite (no poll): an expiry is noticed with no write at all, by the expiry timer', async () => {
  const db = path();
  const watcher = new SqliteLeaseStore(db);
  const writer = new SqliteLeaseStore(db);
  try {
    await writer.createLease(tryParseIpv4Prefix('10.244.8.0/24')!, { PublicIP: '192.0.2.8', BackendType: 'udp' }, 300);
    await writer.close();
    const { revision, leases } = await watcher.listLeases();
    assert.is(leases.length, 1);
    let wakes = { change: -1, timer: -1 };
    const events = await collect(
      watcher,
      revision,
      async () => {},
      (ev) => {
        if (ev.length >= 1) wakes = { ...watcher.watchWakes };
        return ev.length >= 1;
      },
      10_000,
    );
    assert.is(events[0]?.type, 'removed');
    assert.is(events[0]?.lease.attrs.PublicIP, '192.0.2.8');
    assert.is(wakes.change, 0, 'nothing wrote before the expiry');
    assert.is(wakes.timer, 1, 'one wake-up, at the expiry');
  } finally {
    await watcher.close();
    await writer.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
