// Every package export has two faces that must name the same module: `types` (the TypeScript source, which
// tsconfig.base.json's `paths` also map the specifier to, so tsc and tsx run sources in development) and `default`
// (the compiled file in dist/ that plain Node loads in a production install). An export missing from `paths` would
// make tsx load a stale or missing dist/ file; a `default` that is not the source's output would break production.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const readJson = (f: string) => JSON.parse(readFileSync(join(ROOT, f), 'utf8'));
const { workspaces } = readJson('package.json') as { workspaces: string[] };
const paths = (readJson('tsconfig.base.json') as { compilerOptions: { paths: Record<string, string[]> } })
  .compilerOptions.paths;

/** What tsconfig paths map `specifier` to (exact keys first, then one `*` pattern), relative to the root. */
function mapped(specifier: string): string | undefined {
  if (paths[specifier]) return paths[specifier][0];
  for (const [key, [target]] of Object.entries(paths)) {
    const star = key.indexOf('*');
    if (star < 0 || !target) continue;
    const [pre, post] = [key.slice(0, star), key.slice(star + 1)];
    if (specifier.startsWith(pre) && specifier.endsWith(post) && specifier.length >= key.length - 1) {
      return target.replace('*', specifier.slice(pre.length, specifier.length - post.length));
    }
  }
  return undefined;
}

for (const dir of workspaces) {
  const pkg = readJson(join(dir, 'package.json')) as {
    name: string;
    exports: Record<string, { types: string; default: string }>;
  };
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const specifier = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    test(`${specifier}: paths, types and default name the same module`, () => {
      assert.type(target, 'object', `${specifier}: exports entry should be { types, default }`);
      assert.ok(target.types.startsWith('./src/') && target.types.endsWith('.ts'), target.types);
      assert.is(target.default, target.types.replace('./src/', './dist/').replace(/\.ts$/, '.js'));
      assert.is(
        mapped(specifier)?.replace(/^\.\//, ''),
        join(dir, target.types),
        `tsconfig.base.json paths for ${specifier}`,
      );
    });
  }
}

test.run();
