// `npm run lint` (`biome check`: the formatter and the lint rules of biome.json) holds over the tree: a file the
// formatter would change or a lint error fails this test; warnings (functions over 50 lines, type-only imports, ...)
// are printed and do not. `npm run format` fixes the formatting.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = fileURLToPath(new URL('../node_modules/@biomejs/biome/bin/biome', import.meta.url));

test('biome check finds no formatting or lint errors', () => {
  const r = spawnSync(process.execPath, [BIOME, 'check', '.', '--reporter=summary', '--colors=off'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  process.stdout.write(out);
  assert.is(r.status, 0, `biome check found errors (npm run format fixes formatting):\n${out}`);
  assert.match(out, /Checked \d+ files/);
});

test.run();
