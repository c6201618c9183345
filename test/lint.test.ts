// Biome's lint rules (biome.json) hold over the tree: an error fails this test, warnings (functions over 50 lines,
// type-only imports, ...) are printed and do not. Formatting is `npm run lint`'s other half (`biome check`); it joins
// this test once the tree has been formatted in one commit (`npm run format`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = fileURLToPath(new URL('../node_modules/@biomejs/biome/bin/biome', import.meta.url));

test('biome lint finds no errors', () => {
  const r = spawnSync(process.execPath, [BIOME, 'lint', '.', '--reporter=summary', '--colors=off'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  process.stdout.write(out);
  assert.is(r.status, 0, `biome lint found errors:\n${out}`);
  assert.match(out, /Checked \d+ files/);
});

test.run();
