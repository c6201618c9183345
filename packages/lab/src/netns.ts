// Network namespaces, veth pairs and background processes, all owned by a LabScope that tears them down
// on success, failure, SIGINT and SIGTERM. Nothing outside the scope's own namespaces is touched:
// links are created directly inside namespaces (`ip link add ... netns X`), never left in the root namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, runSync, type RunOptions, type RunResult } from './exec.ts';

/** Every namespace the lab creates starts with this, so leftovers of crashed runs can be found and removed. */
export const LAB_NETNS_PREFIX = 'wl-';
const MAX_NETNS_NAME = 64;

/** Thrown for names that would collide or that the kernel would refuse. */
export class LabNameError extends Error {
  override name = 'LabNameError';
}

/** A network namespace created by a LabScope. */
export class Netns {
  constructor(readonly name: string) {}

  /** Runs argv inside this namespace. */
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  /** Runs `ip ARGS` inside this namespace (`ip -n NAME ...`). */
  ip(args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(['ip', '-n', this.name, ...args], opts);
  }

  /** Applies many `ip` commands in one process (`ip -batch -`), one per line. */
  ipBatch(lines: readonly string[]): Promise<RunResult> {
    return run(['ip', '-n', this.name, '-batch', '-'], { input: lines.join('\n') + '\n' });
  }
}

/** A process started in the background; its PID is kept in a PID file so only it is ever signalled. */
export class BackgroundProcess {
  readonly exited: Promise<number>;
  private exitCode: number | null = null;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
    readonly pidFile: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : -1);
        rmSync(pidFile, { force: true });
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 5000): Promise<number> {
    if (!this.running) return this.exitCode!;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

const liveScopes = new Set<LabScope>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const scope of liveScopes) scope.cleanupSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      for (const scope of liveScopes) scope.cleanupSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * Owns namespaces and processes under one name. Namespaces are named `wl-<scope>-<local>`.
 * Call `cleanup()` in a finally block; exit and signal handlers clean up what is still alive.
 */
export class LabScope {
  readonly namespaces: Netns[] = [];
  readonly processes: BackgroundProcess[] = [];
  /** Daemons this scope started that fork away (BIRD): known only by their own PID files. */
  private readonly daemons: { pidFile: string; command: string }[] = [];
  readonly dir: string;

  constructor(
    readonly name: string,
    opts: { dir?: string } = {},
  ) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
      throw new LabNameError(`lab name "${name}": use lowercase letters, digits and "-"`);
    this.dir = opts.dir ?? join('/tmp', `weft-lab-${name}`);
    rmSync(this.dir, { recursive: true, force: true }); // state of an earlier run (leases, logs) must not leak in
    mkdirSync(this.dir, { recursive: true });
    // Who owns the lab: `weft lab down --all` leaves labs alone while their owner runs.
    writeFileSync(join(this.dir, OWNER_FILE), `${process.pid}\n`);
    liveScopes.add(this);
    installExitHandlers();
  }

  /** Full namespace name for a local name. */
  nsName(local: string): string {
    const full = `${LAB_NETNS_PREFIX}${this.name}-${local}`;
    if (full.length > MAX_NETNS_NAME)
      throw new LabNameError(`namespace name "${full}" is longer than ${MAX_NETNS_NAME}`);
    return full;
  }

  /** Creates a namespace (removing a stale one of the same name first) with loopback up. */
  async netns(local: string): Promise<Netns> {
    const name = this.nsName(local);
    await run(['ip', 'netns', 'del', name], { allowFailure: true });
    await run(['ip', 'netns', 'add', name]);
    const ns = new Netns(name);
    this.namespaces.push(ns);
    await ns.ip(['link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Creates a veth pair with one end in each namespace, renamed to the given names, both up.
   * The pair is created inside `a` so nothing ever appears in the root namespace.
   */
  async veth(a: Netns, aName: string, b: Netns, bName: string, mtu?: number): Promise<void> {
    const tmp = `wv${process.pid % 100000}${this.namespaces.length}${Math.floor(Math.random() * 1e4)}`.slice(0, 15);
    await a.ip(['link', 'add', tmp, 'type', 'veth', 'peer', 'name', bName, 'netns', b.name]);
    await a.ip(['link', 'set', tmp, 'name', aName]);
    for (const [ns, dev] of [
      [a, aName],
      [b, bName],
    ] as const) {
      if (mtu) await ns.ip(['link', 'set', dev, 'mtu', String(mtu)]);
      await ns.ip(['link', 'set', dev, 'up']);
    }
  }

  /**
   * Starts argv in the background inside `ns` (or the current namespace when null), logging to a file.
   * `detached` puts it in its own process group so it outlives this process (for `weft lab up`).
   */
  spawn(
    label: string,
    ns: Netns | null,
    argv: readonly string[],
    env?: NodeJS.ProcessEnv,
    detached = false,
  ): BackgroundProcess {
    const logFile = join(this.dir, `${label}.log`);
    const pidFile = join(this.dir, `${label}.pid`);
    const fd = openSync(logFile, 'w');
    const full = ns ? ['ip', 'netns', 'exec', ns.name, ...argv] : [...argv];
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', fd, fd], env: env ?? process.env, detached });
    closeSync(fd);
    if (detached) child.unref();
    writeFileSync(pidFile, `${child.pid}\n`);
    const proc = new BackgroundProcess(label, child, pidFile, logFile);
    this.processes.push(proc);
    return proc;
  }

  /**
   * Hands everything over to a later `weft lab down`: exit handlers no longer tear this scope down.
   * Returns what must be recorded to do so (namespaces and PIDs).
   */
  release(): { namespaces: string[]; processes: { label: string; pid: number; pidFile: string; log: string }[] } {
    liveScopes.delete(this);
    rmSync(join(this.dir, OWNER_FILE), { force: true });
    return {
      namespaces: this.namespaces.map((n) => n.name),
      processes: this.processes.map((p) => ({ label: p.label, pid: p.pid, pidFile: p.pidFile, log: p.logFile })),
    };
  }

  /**
   * Registers a daemon started in this scope that detaches itself (so it is no child, and a terminal's Ctrl-C
   * does not reach it): cleanup and the exit and signal handlers end it through the PID in `pidFile`, read when
   * they run (a daemon restarted since writes a new one), and only while that PID still runs `command`.
   */
  adoptDaemon(pidFile: string, command: string): void {
    this.daemons.push({ pidFile, command });
  }

  /** Stops every process this scope started (by PID), then deletes its namespaces. */
  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(3000)));
    await Promise.all(this.daemons.map((d) => stopDaemon(d.pidFile, d.command)));
    for (const ns of this.namespaces.splice(0)) await run(['ip', 'netns', 'del', ns.name], { allowFailure: true });
    liveScopes.delete(this);
  }

  /** Last-resort teardown from exit and signal handlers: synchronous, kills by PID, deletes namespaces. */
  cleanupSync(): void {
    for (const p of this.processes) {
      if (p.running) p.child.kill('SIGKILL');
      rmSync(p.pidFile, { force: true }); // its exit event never comes: the process exits first
    }
    for (const d of this.daemons) killDaemonNow(d.pidFile, d.command);
    for (const ns of this.namespaces.splice(0)) runSync(['ip', 'netns', 'del', ns.name]);
    liveScopes.delete(this);
  }
}

const OWNER_FILE = 'owner.pid';

/** The PID in `pidFile` while that process runs `command` (argv[0]'s base name), else null. */
function daemonPid(pidFile: string, command: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return Number.isInteger(pid) && pid > 0 && argv0.split('/').at(-1) === command ? pid : null;
  } catch {
    return null; // no PID file, or no such process
  }
}

function killDaemonNow(pidFile: string, command: string): void {
  const pid = daemonPid(pidFile, command);
  if (pid) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
}

/** SIGTERM to the daemon, SIGKILL if it still runs after 5 s; its PID file is removed. */
async function stopDaemon(pidFile: string, command: string): Promise<void> {
  const pid = daemonPid(pidFile, command);
  if (pid) process.kill(pid, 'SIGTERM');
  for (let i = 0; pid && i < 50 && daemonPid(pidFile, command) === pid; i++)
    await new Promise((r) => setTimeout(r, 100));
  killDaemonNow(pidFile, command);
}

/** The PID of the live process that owns lab `name` (an in-process LabScope), or null when there is none. */
export function labOwner(name: string, dir = join('/tmp', `weft-lab-${name}`)): number | null {
  const file = join(dir, OWNER_FILE);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return pid === process.pid ? pid : null;
  return existsSync(`/proc/${pid}`) ? pid : null;
}

/** Names of leftover lab namespaces (all, or those of one lab). */
export async function listLabNamespaces(labName?: string): Promise<string[]> {
  const r = await run(['ip', '-json', 'netns', 'list'], { allowFailure: true });
  const all = r.stdout.trim() ? (JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name) : [];
  const prefix = labName ? `${LAB_NETNS_PREFIX}${labName}-` : LAB_NETNS_PREFIX;
  return all.filter((n) => n.startsWith(prefix)).sort();
}
