// CPU time and wake-ups of a process together with everything it started, read from /proc, for idle figures.
//
// Design notes: an agent that runs commands (iptables-save through its shell, ip, ...) spends CPU in other
// processes, which its own counters never show. The tree figure adds, for the process and each live descendant,
// the on-CPU time of its threads (schedstat, nanoseconds) and the CPU of its children that have ended and been
// reaped (cutime + cstime in /proc/PID/stat, 10 ms ticks, but summed from nanoseconds by the kernel, so a window's
// difference is off by at most a tick per process). A child that ends inside the window and whose parent is in the
// tree is counted through that parent; so is the parent's reaping of it. Wake-ups are the threads' context
// switches (voluntary and not) in the agent process itself, from schedstat's third field (timeslices run).
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** Seconds on a CPU of the process's own live threads. */
  self: number;
  /** self + live descendants' threads + reaped children of every process in the tree. */
  tree: number;
  /** Times the process's threads were scheduled onto a CPU (schedstat's run count): its wake-ups. */
  wakeups: number;
  /** Live descendants (the command shell, a command running right now). */
  descendants: number;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // a process or thread that ended meanwhile
  }
}

/** [on-CPU seconds, timeslices] summed over the live threads of `pid`. */
function threads(pid: number): [number, number] {
  let ns = 0;
  let slices = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {}
  for (const tid of tids) {
    const f = read(`/proc/${pid}/task/${tid}/schedstat`)?.split(' ');
    if (!f) continue;
    ns += Number(f[0]);
    slices += Number(f[2]);
  }
  return [ns / 1e9, slices];
}

/** stat fields after the command name: [ppid, cutime + cstime in seconds], or null when gone. */
function statOf(pid: number): { ppid: number; reaped: number } | null {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return null;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), reaped: (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND };
}

/** Every live descendant of `root` (one scan of /proc). */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length && out.length < 10_000) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** A sample of `pid`'s CPU; the difference of two samples is a window's figure. */
export function sampleCpu(pid: number): CpuSample {
  const [self, wakeups] = threads(pid);
  let tree = self + (statOf(pid)?.reaped ?? 0);
  const descendants = descendantsOf(pid);
  for (const d of descendants) tree += threads(d)[0] + (statOf(d)?.reaped ?? 0);
  return { self, tree, wakeups, descendants: descendants.length };
}
