// The package boundaries (.dependency-cruiser.cjs) hold: dependency-cruiser reads every package's src and tests and
// the CLI, and any forbidden import (a codec doing I/O, route-sync reaching into the agent, tunnel knowing a
// protocol, the agent importing explain or lab, a package importing the CLI) fails this test with its rule name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = fileURLToPath(
  new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url),
);

const FIXTURE = fileURLToPath(new URL('./fixtures/boundaries/', import.meta.url));

/** Runs dependency-cruiser over `packages` and `agent/src` of `cwd` with the repo's rules. */
function cruise(cwd: string, config: string) {
  const r = spawnSync(
    process.execPath,
    [DEPCRUISE, 'packages', 'agent/src', '--config', config, '--output-type', 'err'],
    {
      cwd,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('no import crosses a package boundary', () => {
  const { status, out } = cruise(ROOT, '.dependency-cruiser.cjs');
  process.stdout.write(out);
  assert.is(status, 0, `dependency-cruiser found violations (exit ${status}):\n${out}`);
  assert.match(out, /no dependency violations found \(\d+ modules/);
});

test('each rule fires on a planted import (test/fixtures/boundaries, a miniature of the layout)', () => {
  const { status, out } = cruise(FIXTURE, '../../../.dependency-cruiser.cjs');
  assert.is(status, 5, out);
  for (const rule of [
    'pure-core-no-io: packages/encap/src/bad.mjs → fs',
    'route-sync-not-agent-or-tunnel: packages/route-sync/src/bad.mjs → packages/agent/src/index.mjs',
    'tunnel-no-protocols: packages/tunnel/src/bad.mjs → packages/encap/src/bad.mjs',
    'agent-not-explain-or-lab: packages/agent/src/index.mjs → packages/explain/src/index.mjs',
    'packages-not-cli: packages/lab/src/bad.mjs → agent/src/main.mjs',
  ]) {
    assert.ok(out.includes(rule), `missing "${rule}" in:\n${out}`);
  }
});

test.run();
