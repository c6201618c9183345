#!/usr/bin/env node
// The `weft` executable. A production install (`npm ci --omit=dev`) runs the JavaScript that `tsc -b` emitted into
// dist/ during the install (the root `prepare` script): plain Node, no loader, the quickest start for a CNI plugin
// that runs once per container. A development checkout, where tsx is installed, runs the TypeScript sources through
// tsx instead (tsconfig `paths` map `@weft/*` to each package's src/), so an edit takes effect without a build.
// WEFT_RUN=dist forces the compiled form in a checkout (tests of the production path, start-up measurements).

// `weft agent` runs for months: its young generation stays at V8's initial size instead of growing with the
// start-up's allocations (the listing of every lease) and keeping the grown size resident for good: an idle
// agent's RSS 84 -> 73 MB, the same start-up CPU (bench:scale). Set before anything else allocates.
if (process.argv[2] === 'agent') (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');

function tsxApi() {
  if (process.env.WEFT_RUN === 'dist') return null;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return null; // devDependencies omitted: a production install
  }
}

// A container runtime runs `weft` with CNI_COMMAND set: then it is the CNI plugin, and only that module loads.
const entry = process.env.CNI_COMMAND ? 'cni-plugin' : 'main';
const tsx = tsxApi();
let main;
if (tsx) {
  (await import(tsx)).register({ tsconfig: new URL('../../tsconfig.json', import.meta.url).pathname });
  ({ main } = await import(`../src/${entry}.ts`));
} else {
  ({ main } = await import(`../dist/${entry}.js`));
}
process.exitCode = await main(process.argv.slice(2));
