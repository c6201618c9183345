// The dual-stack and IPv6-only lease contract on the in-memory store and the embedded SQLite store.
import { test } from 'uvu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLeaseStore, SqliteLeaseStore } from './support/internals.ts';
import { dualStackContract } from './dual-stack-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'agt-dual-'));
let n = 0;

dualStackContract(test, 'memory', { open: async () => new MemoryLeaseStore({ pollMs: 10 }), familyExclusive: true });
dualStackContract(test, 'sqlite', {
  open: async () => new SqliteLeaseStore(join(dir, `s${n++}`, 'leases.db'), { pollMs: 20 }),
  familyExclusive: true,
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
