// Several agent processes share one embedded store file and claim at the same moment: no subnet may be
// handed out twice. Real processes, because the guarantee rests on SQLite's file locks, not on JS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteLeaseStore, subnetKey } from './support/internals.ts';

const CHILDREN = 5;
const child = fileURLToPath(new URL('./fixtures/claim-child.ts', import.meta.url));

interface Child {
  ready: Promise<void>;
  result: Promise<{ name: string; won: boolean; subnet: string }>;
}

function startChild(db: string, go: string, name: string): Child {
  const p = spawn(process.execPath, ['--import', 'tsx', child, db, go, name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  p.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.includes('"ready"')) onReady();
  });
  p.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000); // bounded: a stuck child cannot hang the suite
  const result = new Promise<{ name: string; won: boolean; subnet: string }>((resolve, reject) =>
    p.on('exit', (code) => {
      clearTimeout(timer);
      onReady();
      const line = out.split('\n').find((l) => l.includes('"subnet"'));
      if (code !== 0 || !line) reject(new Error(`child ${name} exited ${code}: ${err}${out}`));
      else resolve(JSON.parse(line));
    }),
  );
  return { ready, result };
}

test(`${CHILDREN} processes claiming at once never share a subnet`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agt-race-'));
  try {
    const db = join(dir, 'leases.db');
    const go = join(dir, 'go');
    const children = Array.from({ length: CHILDREN }, (_, i) => startChild(db, go, `node-${i}`));
    await Promise.all(children.map((c) => c.ready));
    writeFileSync(go, 'go');
    const results = await Promise.all(children.map((c) => c.result));

    assert.is(results.filter((r) => r.won).length, 1, 'exactly one raw create wins the contested subnet');
    const subnets = results.map((r) => r.subnet);
    assert.is(new Set(subnets).size, CHILDREN, `distinct subnets: ${subnets.join(' ')}`);
    assert.not.ok(subnets.includes('10.244.100.0-24'));

    const store = new SqliteLeaseStore(db);
    const { leases } = await store.listLeases();
    await store.close();
    assert.is(leases.length, CHILDREN + 1);
    for (const r of results) {
      const held = leases.find((l) => subnetKey(l.subnet) === r.subnet);
      assert.is(held?.attrs.NodeName, r.name, `${r.subnet} is held by ${r.name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
