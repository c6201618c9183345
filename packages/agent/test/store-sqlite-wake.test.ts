// The embedded store's idle watch is event-driven: without pollMs a watcher sleeps up to 30 s, so these pass
// only if file change events (another process's write) and the expiry timer (no write at all) wake it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { FileChangeWake, SqliteLeaseStore } from './support/internals.ts';
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

test('file wake: only the db, -wal and -journal wake; -shm and other files do not', async () => {
  const db = path();
  new SqliteLeaseStore(db).close();
  const wake = new FileChangeWake(db, () => assert.unreachable('no warning'));
  const signal = new AbortController().signal;
  wake.acquire();
  try {
    for (const name of ['leases.db-shm', 'other.db-wal']) {
      const since = wake.generation;
      writeFileSync(join(dirname(db), name), 'x');
      assert.is(await wake.wait(since, 200, signal), false, name);
    }
    for (const name of ['leases.db-wal', 'leases.db-journal']) {
      const since = wake.generation;
      writeFileSync(join(dirname(db), name), 'x');
      assert.is(await wake.wait(since, 10_000, signal), true, name);
    }
  } finally {
    wake.release();
  }
});

test('file wake: fs.watch failing at once or later turns file events off, warned once', async () => {
  const signal = new AbortController().signal;
  const warnings: string[] = [];
  const failing = new FileChangeWake(
    join(dir, 'x.db'),
    (m) => warnings.push(m),
    () => {
      throw Object.assign(new Error('inotify watch limit reached'), { code: 'ENOSPC' });
    },
  );
  failing.acquire();
  failing.release();
  failing.acquire();
  assert.is(failing.available, false);
  assert.is(await failing.wait(failing.generation, 20, signal), false);
  failing.release();
  assert.is(warnings.length, 1);
  assert.match(warnings[0]!, /inotify watch limit/);

  const db = path();
  new SqliteLeaseStore(db).close();
  const later = new FileChangeWake(
    db,
    (m) => warnings.push(m),
    (dirPath, opts, listener) => {
      const w = watch(dirPath, opts, listener);
      setTimeout(() => w.emit('error', new Error('watch lost')), 50);
      return w;
    },
  );
  later.acquire();
  try {
    assert.is(await later.wait(later.generation, 10_000, signal), true, 'a waiter wakes to switch to polling');
    assert.is(later.available, false);
    assert.is(warnings.length, 2);
  } finally {
    later.release();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
