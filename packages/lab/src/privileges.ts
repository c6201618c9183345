// Tests that need root and network namespaces skip with a clear message on a developer laptop,
// but under CI=true they must run: a missing privilege there is a failure, not a skip.
import { runSync } from './exec.ts';

let cached: string | null | undefined;

/** Why this process cannot build namespaces, or null when it can. */
export function namespaceBlocker(): string | null {
  if (cached !== undefined) return cached;
  if (process.getuid?.() !== 0) cached = 'needs root (network namespaces, TUN devices)';
  else if (runSync(['ip', '-V']).code !== 0) cached = 'needs iproute2 (`ip`)';
  else if (runSync(['unshare', '--net', 'true']).code !== 0) cached = 'cannot create network namespaces here';
  else cached = null;
  return cached;
}

/**
 * True when privileged tests can run. Outside CI it prints why they are skipped and returns false;
 * with CI=true it throws, so a CI machine that cannot run them fails loudly.
 */
export function canRunPrivileged(what: string): boolean {
  const blocker = namespaceBlocker();
  if (!blocker) return true;
  if (process.env.CI === 'true') throw new Error(`${what}: ${blocker}, and CI=true requires these tests to run`);
  console.log(`skip: ${what}: ${blocker}`);
  return false;
}

/** Same contract for an external program (bird, etcd, tshark...). */
export function canRunWith(what: string, commands: readonly string[]): boolean {
  if (!canRunPrivileged(what)) return false;
  const missing = commands.filter((c) => runSync(['sh', '-c', 'command -v "$0"', c]).code !== 0);
  if (missing.length === 0) return true;
  const why = `missing ${missing.join(', ')} (npm test installs them with apt-get)`;
  if (process.env.CI === 'true') throw new Error(`${what}: ${why}, and CI=true requires these tests to run`);
  console.log(`skip: ${what}: ${why}`);
  return false;
}
