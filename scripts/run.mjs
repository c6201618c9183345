#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, the docs generator) after making sure dependencies are installed:
//   node scripts/run.mjs [--apt=CMD,CMD=PACKAGE...] ENTRY.ts [ARGS...]
// --apt names commands that come from Debian packages of the same name (iperf3, sockperf, openvpn, tcpdump), or
// CMD=PACKAGE when the names differ (a path works as CMD: /usr/lib/cni/bridge=containernetworking-plugins);
// missing ones are installed with apt-get when running as root.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNpmDeps, ensureDebianPackages, root } from './setup.mjs';

const args = process.argv.slice(2);
const apt = args[0]?.startsWith('--apt=') ? args.shift().slice('--apt='.length).split(',').filter(Boolean) : [];
// --help prints the entry's opening comment (each entry states its usage there) and runs nothing: a benchmark
// started by mistake would hold the machine for minutes.
if (args.slice(1).some((a) => a === '--help' || a === '-h')) {
  const text = readFileSync(join(root, args[0]), 'utf8').split('\n');
  const head = text.slice(
    0,
    text.findIndex((l) => !l.startsWith('//')),
  );
  console.log(head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
ensureNpmDeps();
if (apt.length) ensureDebianPackages(Object.fromEntries(apt.map((c) => (c.includes('=') ? c.split('=') : [c, c]))));
const [entry, ...rest] = args;
const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
