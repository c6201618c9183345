// The compiled `weft` (what `npm ci --omit=dev` installs on a VM) runs: after `tsc -b tsconfig.build.json`, the
// production build of every package's src into dist/, each command's --help exits 0 with its usage, through
// agent/bin/weft.mjs with WEFT_RUN=dist (plain Node, no tsx; @weft/* resolved by the packages' exports to dist/,
// where a TypeScript file would fail to load).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const WEFT = fileURLToPath(new URL('../agent/bin/weft.mjs', import.meta.url));

function weft(args: string[]) {
  const env = { ...process.env, WEFT_RUN: 'dist', NODE_OPTIONS: '' };
  return spawnSync(process.execPath, [WEFT, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

test('the production build compiles (tsc -b tsconfig.build.json)', () => {
  const r = spawnSync(process.execPath, [TSC, '-b', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
});

for (const [args, usage] of [
  [['--help'], 'usage: weft <command>'],
  [['agent', '--help'], 'usage: weft agent'],
  [['status', '--help'], 'usage: weft status'],
  [['lab', '--help'], 'weft lab up --name NAME'],
  [['explain', '--help'], 'usage: weft explain'],
  [['trace', '--help'], 'usage: weft trace'],
] as const) {
  test(`compiled weft ${args.join(' ')} prints its usage and exits 0`, () => {
    const r = weft([...args]);
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(usage), r.stdout + r.stderr);
    assert.not.match(r.stderr, /Error|tsx/);
  });
}

test('compiled weft --version', () => {
  const r = weft(['--version']);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^weft \d+\.\d+\.\d+/);
});

test.run();
