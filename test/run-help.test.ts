// `npm run bench:* -- --help` (scripts/run.mjs): prints the entry's usage comment and runs nothing; without it a
// benchmark started to read its flags would hold the machine for minutes. A scratch entry that leaves a mark when
// it runs stands in for the benchmarks, so a broken --help costs nothing here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..');

function runMjs(entry: string, ...args: string[]) {
  return spawnSync(process.execPath, ['scripts/run.mjs', entry, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('--help and -h print the opening comment without the // and run nothing; other flags run the entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-run-help-'));
  try {
    const mark = join(dir, 'ran');
    const entry = relative(root, join(dir, 'entry.ts'));
    const body = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(mark)}, process.argv.slice(2).join(' '));\n`;
    writeFileSync(join(root, entry), `// A scratch entry.\n//   usage: entry [--flag]\n\n${body}`);
    for (const flag of ['--help', '-h']) {
      const r = runMjs(entry, '--quick', flag);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout, 'A scratch entry.\n  usage: entry [--flag]\n');
      assert.not.ok(existsSync(mark), `${flag}: the entry did not run`);
    }
    const r = runMjs(entry, '--quick');
    assert.is(r.status, 0, r.stderr);
    assert.is(readFileSync(mark, 'utf8'), '--quick', 'without --help the entry runs with its flags');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every entry the npm scripts start through run.mjs opens with a usage comment', () => {
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const entries = Object.values(scripts).flatMap((cmd) => {
    const m = /^node scripts\/run\.mjs (?:--apt=\S+ )?(\S+\.ts)$/.exec(cmd);
    return m ? [m[1]!] : [];
  });
  assert.ok(entries.length >= 8, `found ${entries.join(', ')}`);
  for (const e of entries) assert.match(readFileSync(join(root, e), 'utf8'), /^\/\/ \S/, e);
});

test.run();
