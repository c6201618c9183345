// The compiled `weft` (what `npm ci --omit=dev` installs on a VM) runs: after `tsc -b tsconfig.build.json`, the
// production build of every package's src into dist/, each command's --help exits 0 with its usage, through
// agent/bin/weft.mjs with WEFT_RUN=dist (plain Node, no tsx; @weft/* resolved by the packages' exports to dist/,
// where a TypeScript file would fail to load).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test("the CNI plugin's one-file bundle builds from dist (prepare's second step) and runs alone", () => {
  const built = spawnSync(process.execPath, ['scripts/cni-bundle.mjs'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.is(built.status, 0, built.stdout + built.stderr);
  // copied away from the repo, with no node_modules in reach: everything it needs is inside it
  const dir = mkdtempSync(join(tmpdir(), 'weft-cni-bundle-'));
  try {
    copyFileSync(join(ROOT, 'agent/dist/cni-plugin.cjs'), join(dir, 'plugin.cjs'));
    const r = spawnSync(process.execPath, [join(dir, 'plugin.cjs')], {
      cwd: dir,
      env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.ok(JSON.parse(r.stdout).supportedVersions.includes('1.0.0'), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compiled weft --version', () => {
  const r = weft(['--version']);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^weft \d+\.\d+\.\d+/);
});

test.run();
