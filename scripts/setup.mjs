// Shared by test.mjs, lab.mjs and bench scripts: make a fresh clone runnable (build tools, npm ci, Debian packages).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`setup: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status})`);
    process.exit(r.status || 1);
  }
}

/** What node-gyp needs to compile the native addons (packages/tunnel, better-sqlite3) during `npm ci`. */
const BUILD_TOOLS = { python3: 'python3', make: 'make', 'g++': 'g++' };

/**
 * Runs `npm ci` when node_modules is missing or was installed from a different package-lock.json, after
 * installing the addons' build tools from Debian when they are missing (a machine with only Node on it).
 */
export function ensureNpmDeps() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.weft-lock-hash');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  ensureDebianPackages(BUILD_TOOLS);
  console.log('setup: npm ci (node_modules missing or stale)');
  sh('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, hash);
}

const haveCmd = (c) => spawnSync('sh', ['-c', 'command -v "$0"', c]).status === 0;

/** Installs the Debian packages whose commands are missing (as root; otherwise says what to install). */
export function ensureDebianPackages(byCommand) {
  const missing = [
    ...new Set(
      Object.entries(byCommand)
        .filter(([c]) => !haveCmd(c))
        .map(([, p]) => p),
    ),
  ];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.log(`setup: not root, so not installing Debian packages: ${missing.join(' ')} (tests needing them skip)`);
    return;
  }
  console.log(`setup: apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  sh('apt-get', ['update', '-qq'], { env });
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}
