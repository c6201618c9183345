// The package boundaries (.dependency-cruiser.cjs) hold: dependency-cruiser reads every package's src and tests and
// the CLI, and any forbidden import (a codec doing I/O, route-sync reaching into the agent, tunnel knowing a
// protocol, the agent importing explain or lab, a package importing the CLI) fails this test with its rule name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));

test('no import crosses a package boundary', () => {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'packages', 'agent/src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  process.stdout.write(out);
  assert.is(r.status, 0, `dependency-cruiser found violations (exit ${r.status}):\n${out}`);
  assert.match(out, /no dependency violations found \(\d+ modules/);
});

test.run();
