#!/usr/bin/env node
// `npm test`: installs what the tests need, builds, runs every test file in its own process, and ends
// with one line `N passed, M failed[, K skipped]`. Plain JavaScript with no dependencies, because it
// runs before `npm ci` has.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { ensureNpmDeps, ensureDebianPackages, root, sh } from './setup.mjs';

const FILE_TIMEOUT_MS = 20 * 60_000;
const args = process.argv.slice(2);

/** Debian packages the test suite drives as real peers or tools, keyed by the command that proves each. */
const DEBIAN = {
  ip: 'iproute2',
  ping: 'iputils-ping',
  bird: 'bird2',
  birdc: 'bird2',
  etcd: 'etcd-server',
  etcdctl: 'etcd-client',
  tshark: 'tshark',
  tcpdump: 'tcpdump',
  iperf3: 'iperf3',
  openvpn: 'openvpn',
  capsh: 'libcap2-bin',
  ethtool: 'ethtool',
  sockperf: 'sockperf',
  'systemd-notify': 'systemd',
  'systemd-analyze': 'systemd',
  python3: 'python3',
  vtysh: 'frr',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
  iptables: 'iptables',
  'iptables-restore': 'iptables',
  'iptables-save': 'iptables',
  podman: 'podman',
  curl: 'curl',
  // the standard CNI plugins are not on PATH, but `command -v` answers for an absolute path too
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  // docker-attach.test.ts: a private dockerd per node, its containers from a static busybox image
  dockerd: 'docker.io',
  '/bin/busybox': 'busybox-static',
};

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (b) => {
      out += b;
      process.stdout.write(b);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      out += '\n(timed out)\n';
      child.kill('SIGTERM');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** uvu prints "Total: N / Passed: N / Skipped: N"; Total excludes skipped tests. */
function tally(out, code) {
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
  const total = num('Total'),
    passed = num('Passed'),
    skipped = num('Skipped');
  if (Number.isNaN(total)) return { passed: 0, failed: 1, skipped: 0 }; // crashed before reporting
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  const announcedSkips = (out.match(/^skip: /gm) ?? []).length;
  return { passed, failed, skipped: skipped + announcedSkips };
}

ensureNpmDeps();
if (!args.includes('--no-apt')) ensureDebianPackages(DEBIAN);
sh('npx', ['tsc', '-b']);

const filter = args.find((a) => !a.startsWith('--'));
const files = [
  ...findTests(join(root, 'packages')),
  ...findTests(join(root, 'agent')),
  ...findTests(join(root, 'test')),
].filter((f) => !filter || f.includes(filter));
const sum = { passed: 0, failed: 0, skipped: 0 };
const failedFiles = [];
for (const file of files) {
  const rel = relative(root, file);
  console.log(`\n=== ${rel}`);
  const started = Date.now();
  const { code, out } = await runFile(file);
  const t = tally(out, code);
  console.log(
    `--- ${rel}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (t.failed) failedFiles.push(rel);
  for (const k of Object.keys(sum)) sum[k] += t[k];
}
if (failedFiles.length) console.log(`\nfailed files:\n  ${failedFiles.join('\n  ')}`);
console.log(`\n${sum.passed} passed, ${sum.failed} failed${sum.skipped ? `, ${sum.skipped} skipped` : ''}`);
process.exit(sum.failed || files.length === 0 ? 1 : 0);
