// A private dockerd for tests, run by docker/dockerd-netns.sh inside a network namespace of a LabScope: its
// bridges and veths live in that namespace, its mounts in a private mount namespace, its files under one
// directory, its containers' cgroups below this process's cgroup. Teardown stops only that dockerd (by the PID
// this process spawned, which is also the one in its PID file), then reports and removes whatever it left:
// processes in its namespace or its cgroups, cgroup directories, mounts under its directory, the directory.
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  run,
  runSync,
  type BackgroundProcess,
  type LabScope,
  type Netns,
  type RunOptions,
  type RunResult,
} from '@weft/lab';

/** Debian's client matches Debian's dockerd; another `docker` on PATH may be far newer. */
const DOCKER_CLIENT = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const MAX_CGROUP_DEPTH = 8;

export class PrivateDockerd {
  private proc: BackgroundProcess | null = null;
  private readonly hadRunContainerd = existsSync('/run/containerd');
  private tornDown = false;

  private constructor(
    readonly scope: LabScope,
    readonly ns: Netns,
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Starts dockerd in `ns` with everything under `dir`, and waits (at most `timeoutMs`) until it answers.
   * `dockerdFlags` come after the script's own flags, so they override them (e.g. a default bridge with --bip).
   */
  static async start(
    scope: LabScope,
    ns: Netns,
    dir: string,
    script: string,
    env: NodeJS.ProcessEnv,
    timeoutMs = 60_000,
    dockerdFlags: readonly string[] = [],
  ): Promise<PrivateDockerd> {
    const d = new PrivateDockerd(scope, ns, dir, {
      ...env,
      DOCKER_HOST: `unix://${join(dir, 'docker.sock')}`,
      DOCKER: DOCKER_CLIENT,
    });
    // One scope may run several dockerds (one per node): each below the scope's directory has its own log.
    const label = dir === scope.dir ? 'dockerd' : `dockerd-${basename(dir)}`;
    d.proc = scope.spawn(label, null, ['sh', script, ns.name, dir, ...dockerdFlags]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!d.proc.running) throw new Error(`dockerd exited (${await d.proc.exited}); its log:\n${d.log(40)}`);
      if (
        (await d.docker(['version', '--format', '{{.Server.Version}}'], { allowFailure: true, timeoutMs: 10_000 }))
          .code === 0
      )
        break;
      if (Date.now() > deadline)
        throw new Error(`dockerd did not answer within ${timeoutMs / 1000} s; its log:\n${d.log(40)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    return d;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** The PID dockerd wrote to its --pidfile. */
  pidFromFile(): number {
    return Number(readFileSync(join(this.dir, 'docker.pid'), 'utf8').trim());
  }

  /** Last `lines` lines of dockerd's log. */
  log(lines: number): string {
    return (this.proc?.log() ?? '').trimEnd().split('\n').slice(-lines).join('\n');
  }

  docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run([DOCKER_CLIENT, ...args], { timeoutMs: 60_000, ...opts, env: this.env });
  }

  /** Stops dockerd gracefully (it stops its containers and its containerd), then removes what is left. */
  async teardown(): Promise<string[]> {
    if (this.tornDown) return [];
    if (this.proc?.running) await this.proc.stop(40_000);
    return this.sweep();
  }

  /** The same from exit and signal handlers, where only synchronous calls can run. */
  teardownSync(): string[] {
    if (this.tornDown) return [];
    const p = this.proc;
    if (p?.running) {
      p.child.kill('SIGTERM');
      const deadline = Date.now() + 20_000;
      while (alive(p.pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      if (alive(p.pid)) p.child.kill('SIGKILL');
    }
    return this.sweep();
  }

  /** Kills (by PID) and reports anything of this dockerd's still alive, removes its cgroups, mounts and files. */
  private sweep(): string[] {
    this.tornDown = true;
    const left: string[] = [];
    const nsPids = runSync(['ip', 'netns', 'pids', this.ns.name]).stdout.split(/\s+/).filter(Boolean).map(Number);
    const cgroupDirs = this.cgroupDirs();
    const cgPids = cgroupDirs.flatMap((d) => readPids(join(d, 'cgroup.procs')));
    for (const pid of new Set([...nsPids, ...cgPids])) {
      left.push(`process ${pid} (${commOf(pid)}) still running`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    for (const d of cgroupDirs.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(d);
      } catch (e) {
        left.push(`cgroup ${d}: ${(e as Error).message}`);
      }
    }
    const mounts = runSync(['findmnt', '-rn', '-o', 'TARGET'])
      .stdout.split('\n')
      .filter((m) => m.startsWith(this.dir + '/'));
    for (const m of mounts.sort().reverse()) {
      left.push(`mount ${m}`);
      runSync(['umount', '-l', m]);
    }
    rmSync(this.dir, { recursive: true, force: true });
    // The containerd shims keep their sockets in /run/containerd/s; drop the directories if we made them and they are empty.
    if (!this.hadRunContainerd) for (const d of ['/run/containerd/s', '/run/containerd']) tryRmdir(d);
    return left;
  }

  /** Cgroup directories made for this dockerd's containers (its --cgroup-parent, in every hierarchy). */
  cgroupDirs(): string[] {
    const name = `weft-${basename(this.dir)}`;
    const out: string[] = [];
    const walk = (dir: string, depth: number): void => {
      if (depth > MAX_CGROUP_DEPTH) return;
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e);
        if (!isDir(p)) continue;
        if (e === name) collect(p, out);
        else walk(p, depth + 1);
      }
    };
    walk('/sys/fs/cgroup', 0);
    return out;
  }
}

function collect(dir: string, out: string[]): void {
  out.push(dir);
  for (const e of readdirSync(dir)) if (isDir(join(dir, e))) collect(join(dir, e), out);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function tryRmdir(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    /* not empty or not there: leave it */
  }
}

/**
 * True while `pid` runs. A child that exited but is not reaped yet (a zombie: Node reaps in its event loop, which
 * a synchronous exit handler blocks) counts as gone.
 */
export function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
