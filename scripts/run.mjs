#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, the lab) after making sure dependencies are installed.
import { spawnSync } from 'node:child_process';
import { ensureNpmDeps, root } from './setup.mjs';

ensureNpmDeps();
const [entry, ...rest] = process.argv.slice(2);
const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
