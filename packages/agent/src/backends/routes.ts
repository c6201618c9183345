// Kernel routes and links through iproute2: every change is applied with `ip -batch -` and logged as the very
// command an operator would type, which is also the lesson (DESIGN.md, "Backends"). A batch of thousands (every
// peer at start) is logged as its count and first lines, each line at debug.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { InterfaceInfo } from '../ports.ts';
import { LISTED_CHANGES, summarizeLines } from './change-summary.ts';

const execFileP = promisify(execFile);

/** An `ip` command failed; `commands` are the lines of the batch, `stderr` says which one and why. */
export class RouteCommandError extends Error {
  override name = 'RouteCommandError';
  constructor(
    readonly commands: readonly string[],
    readonly stderr: string,
  ) {
    super(`ip -batch failed: ${stderr.trim()}\ncommands:\n  ip ${commands.join('\n  ip ')}`);
  }

  /**
   * The index in `commands` of the line the kernel refused, or -1 when ip named none (it was missing, timed out).
   * `ip -batch` stops at that line and says "Command failed -:N": the lines before it took effect, none after.
   */
  get refusedLine(): number {
    const m = /Command failed -:(\d+)/.exec(this.stderr);
    const index = m ? Number(m[1]) - 1 : -1;
    return index < this.commands.length ? index : -1;
  }
}

/**
 * Applies `ip` command lines (without the leading `ip`) in one process. With `force`, errors of single lines
 * (for example deleting a route that is already gone) do not stop the rest and are only logged.
 */
export async function ipBatch(log: Logger, lines: readonly string[], opts: { force?: boolean } = {}): Promise<void> {
  if (lines.length === 0) return;
  if (lines.length <= LISTED_CHANGES) for (const line of lines) log.info({ cmd: `ip ${line}` }, 'ip');
  else {
    const { count, lines: first, more } = summarizeLines(lines);
    log.info({ count, cmds: first.map((l) => `ip ${l}`), more }, `ip -batch: ${count} commands`);
    if (log.isLevelEnabled('debug')) for (const line of lines) log.debug({ cmd: `ip ${line}` }, 'ip');
  }
  const args = opts.force ? ['-force', '-batch', '-'] : ['-batch', '-'];
  try {
    const child = execFileP('ip', args, { timeout: 30_000 });
    child.child.stdin!.end(lines.join('\n') + '\n');
    await child;
  } catch (e) {
    const err = new RouteCommandError(lines, (e as { stderr?: string }).stderr ?? String(e));
    if (!opts.force) throw err;
    log.warn({ err: err.message }, 'some ip commands failed (ignored: cleanup)');
  }
}

/** Reads `ip -json ARGS` (for example the MTU of the underlay interface). */
export async function ipJson<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await execFileP('ip', ['-json', ...args], { timeout: 10_000 });
  return JSON.parse(stdout) as T;
}

/** MTU and first IPv4 address of an interface, with its prefix length, and its IPv6 addresses with theirs. */
export async function interfaceInfo(name: string): Promise<InterfaceInfo> {
  const [link] = await ipJson<{ mtu: number; addr_info?: { family: string; local: string; prefixlen: number }[] }[]>([
    'addr',
    'show',
    'dev',
    name,
  ]);
  if (!link) throw new RouteCommandError([`addr show dev ${name}`], `no interface ${name}`);
  const inet = link.addr_info?.find((a) => a.family === 'inet');
  const addresses6 = (link.addr_info ?? [])
    .filter((a) => a.family === 'inet6')
    .map((a) => ({ address: a.local, prefixLen: a.prefixlen }));
  return { mtu: link.mtu, address: inet?.local ?? null, ...(inet ? { prefixLen: inet.prefixlen } : {}), addresses6 };
}

/** The interface holding `address`, for --public-ip without --iface. */
export async function interfaceWithAddress(address: string): Promise<{ name: string; mtu: number } | null> {
  const links = await ipJson<{ ifname: string; mtu: number; addr_info?: { local: string }[] }[]>(['addr', 'show']);
  const l = links.find((x) => x.addr_info?.some((a) => a.local === address));
  return l ? { name: l.ifname, mtu: l.mtu } : null;
}
