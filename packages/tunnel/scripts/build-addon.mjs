#!/usr/bin/env node
// Builds the native addon with node-gyp, offline: the headers come from the Node installation itself
// (PREFIX/include/node, which Debian/NodeSource packages ship) instead of a download from the internet.
// Run by `npm ci` (this package's install script, and the root postinstall as a fallback) and by hand.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux') {
  console.log('@weft/tunnel: not Linux, skipping the native addon (TUN and batched UDP need Linux)');
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    join(pkgDir, '..', '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

function findNodeDir() {
  if (process.env.npm_config_nodedir && existsSync(join(process.env.npm_config_nodedir, 'include', 'node'))) {
    return process.env.npm_config_nodedir;
  }
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const gyp = findNodeGyp();
if (!gyp) {
  console.error('@weft/tunnel: node-gyp not found (it ships with npm); install npm or `npm i -g node-gyp`');
  process.exit(1);
}
const nodedir = findNodeDir();
const args = [gyp, 'rebuild', '-j', '2', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
console.log(`@weft/tunnel: building the addon: node ${args.join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    '@weft/tunnel: addon build failed; it needs g++, make and python3 (apt-get install build-essential python3)',
  );
  process.exit(r.status ?? 1);
}
