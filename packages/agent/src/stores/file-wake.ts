// Wakes the embedded store's watchers when any process changes its database file. Design notes:
// - Measured on a WAL file: another process's INSERT raises `change` on PATH-wal (and on PATH-shm only when it
//   opens the file); a checkpoint writes PATH itself. PATH-shm is otherwise updated through mmap, which inotify
//   never reports. Rollback-journal mode writes PATH-journal and PATH. So: PATH, -wal and -journal.
// - The directory is watched, not the files: -wal and -journal come and go, and a watch on a removed inode
//   goes quiet.
// - A writer appends its WAL frames before it publishes the commit in -shm, so a reader woken by the append can
//   look too early; callers look again a moment later when a wake found nothing (see SETTLE_MS).
// - fs.watch may be missing or fail (inotify limits, network filesystems): `available` turns false, the
//   error is reported once, and callers poll as before.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** How long after a file event that found nothing new a watcher looks again (the commit may not be published yet). */
export const SETTLE_MS = 50;

/** fs.watch as this module calls it (tests pass one that fails). */
export type WatchDir = (
  dir: string,
  opts: { persistent: boolean },
  listener: (event: string, name: string | null) => void,
) => FSWatcher;

export class FileChangeWake {
  /** Bumps on every relevant file event; a waiter passes the value it saw before reading the database. */
  generation = 0;
  available = true;
  private watcher: FSWatcher | null = null;
  private users = 0;
  private readonly waiters = new Set<() => void>();

  /** `warn` hears, once, why file events are unavailable; `watchDir` is fs.watch (tests make it fail). */
  constructor(
    private readonly path: string,
    private readonly warn: (msg: string) => void,
    private readonly watchDir: WatchDir = (dir, opts, listener) => watch(dir, opts, listener),
  ) {}

  /** Starts watching on the first user; pair every call with release(). */
  acquire(): void {
    if (this.users++ === 0 && this.available) this.start();
  }

  /** Stops watching when the last user leaves. */
  release(): void {
    if (--this.users === 0) this.stop();
  }

  /**
   * Resolves true when a file event arrives (or has arrived since `since` was read from `generation`),
   * false after `ms` or on abort.
   */
  wait(since: number, ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.generation !== since) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onChange);
        signal.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const onChange = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      this.waiters.add(onChange);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends every wait early, as a change would (also used when the watch fails, so pollers re-plan at once). */
  notify(): void {
    this.generation++;
    for (const w of [...this.waiters]) w();
  }

  private start(): void {
    const base = basename(this.path);
    const names = new Set([base, `${base}-wal`, `${base}-journal`]);
    try {
      // Not persistent: the watch loop's own timer is what keeps a process alive, as before.
      this.watcher = this.watchDir(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name === null || names.has(String(name))) this.notify();
      });
      this.watcher.on('error', (e) => this.fail(e));
    } catch (e) {
      this.fail(e);
    }
  }

  private stop(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private fail(e: unknown): void {
    this.stop();
    this.available = false;
    this.warn(`embedded store: no file change events for ${this.path} (${(e as Error).message}); polling instead`);
    this.notify();
  }
}
