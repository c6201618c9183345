// Embedded LeaseStore on SQLite (better-sqlite3), for one machine where several agent processes share one
// file. Design notes:
// - WAL mode lets readers run beside the one writer; busy_timeout makes a writer wait for the lock instead
//   of failing at once. Every change runs in a BEGIN IMMEDIATE transaction, which takes the write lock
//   before reading, so "is this subnet free?" and "claim it" cannot interleave between processes.
// - A revision counter and an event log table stand in for etcd's revisions and watch: a change bumps the
//   counter and appends an event; watchers read the counter (one indexed read) and fetch events past theirs.
// - Watchers sleep until something can have changed: a change of the database files by any process
//   (file-wake.ts), the earliest lease expiry, or a slow safety poll for a missed event. Without file events
//   they poll every second. An idle agent thus wakes about twice a minute, not every second.
// - Expiry is stored as a time; whoever notices expired rows (list, claim, a watcher's poll) deletes them
//   in a transaction and logs `removed` events, so expiries reach watchers like other changes.
// better-sqlite3 is synchronous: each call blocks the event loop for at most busy_timeout.
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ipv4Prefix, Ipv6Prefix } from '@weft/netaddr';
import { leaseKey, parseLeaseKey } from '../subnet-key.ts';
import {
  LeaseNotFoundError,
  RevisionCompactedError,
  StoreUnavailableError,
  overlapsFamily,
  parseLeaseAttrs,
  type Lease,
  type LeaseAttrs,
  type LeaseBatch,
  type LeaseEvent,
  type LeaseSnapshot,
  type LeaseStore,
} from '../lease.ts';
import { FileChangeWake, SETTLE_MS } from './file-wake.ts';

export interface SqliteStoreOptions {
  /** Milliseconds a writer waits for another process's lock (default 5000). */
  busyTimeoutMs?: number;
  /**
   * When set, watchers also check at least this often (tests use short values). Unset: SAFETY_POLL_MS with
   * file change events, FALLBACK_POLL_MS without them.
   */
  pollMs?: number;
  /** Hears, once, that file change events are unavailable (default console.warn). */
  warn?: (msg: string) => void;
  /** Events kept for watchers that fall behind (default 10000). */
  historyLimit?: number;
  now?: () => number;
}

/** Longest idle sleep while file events work: a missed event costs at most this much delay. */
const SAFETY_POLL_MS = 30_000;
/** Poll interval without file events (as before they existed). */
const FALLBACK_POLL_MS = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS leases (subnet TEXT PRIMARY KEY, attrs TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (rev INTEGER PRIMARY KEY, kind TEXT NOT NULL, subnet TEXT NOT NULL,
  attrs TEXT NOT NULL, expires_at INTEGER NOT NULL);`;

interface IdleQueries {
  due: Database.Statement;
  revision: Database.Statement;
  nextExpiry: Database.Statement;
}

interface LeaseRow {
  subnet: string;
  attrs: string;
  expires_at: number;
}

export class SqliteLeaseStore implements LeaseStore {
  private readonly db: Database.Database;
  /** The idle watch step's queries, compiled once: they run at every wake-up for the agent's lifetime. */
  private idleQueries: IdleQueries | null = null;
  private readonly now: () => number;
  private readonly pollMs: number | undefined;
  private readonly wake: FileChangeWake;
  /** Why watch checks ran: a file event or a timer (expiry, safety poll, fallback poll). Tests read these. */
  readonly watchWakes = { change: 0, timer: 0 };
  private readonly historyLimit: number;

  /** Opens (creating if needed) the database file and its directory. Throws StoreUnavailableError. */
  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs;
    this.wake = new FileChangeWake(path, opts.warn ?? ((msg) => console.warn(msg)));
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.db = guard(() => openWithRetry(path, opts.busyTimeoutMs ?? 5000));
  }

  async getConfig(): Promise<string | null> {
    const row = guard(
      () => this.db.prepare('SELECT json FROM config WHERE id = 1').get() as { json: string } | undefined,
    );
    return row?.json ?? null;
  }

  async putConfig(json: string): Promise<void> {
    guard(() => this.db.prepare('INSERT OR REPLACE INTO config (id, json) VALUES (1, ?)').run(json));
  }

  async listLeases(): Promise<LeaseSnapshot> {
    return this.write(() => {
      this.sweep();
      const rows = this.db.prepare('SELECT subnet, attrs, expires_at FROM leases').all() as LeaseRow[];
      return { leases: rows.map(toLease).filter((l): l is Lease => l !== null), revision: this.revision() };
    });
  }

  /** Also null when another lease (under another key) holds either of the subnets. */
  async createLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease | null> {
    return this.write(() => {
      this.sweep();
      if (this.db.prepare('SELECT 1 FROM leases WHERE subnet = ?').get(leaseKey(subnet, ipv6Subnet))) return null;
      // Dual-stack keys name two subnets: a scan (the table holds one row per node) keeps each subnet single.
      const rows = this.db.prepare('SELECT subnet, attrs, expires_at FROM leases').all() as LeaseRow[];
      const held = rows.map(toLease).filter((l): l is Lease => l !== null);
      if (held.some((l) => overlapsFamily(l, subnet, ipv6Subnet ?? null))) return null;
      return this.put(subnet, attrs, ttlMs, ipv6Subnet);
    });
  }

  async renewLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease> {
    const key = leaseKey(subnet, ipv6Subnet);
    const lease = this.write(() => {
      this.sweep();
      if (!this.db.prepare('SELECT 1 FROM leases WHERE subnet = ?').get(key)) return null;
      return this.put(subnet, attrs, ttlMs, ipv6Subnet);
    });
    if (!lease) throw new LeaseNotFoundError(`no lease for ${key}`);
    return lease;
  }

  async deleteLease(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): Promise<boolean> {
    return this.write(() => {
      const row = this.db
        .prepare('SELECT subnet, attrs, expires_at FROM leases WHERE subnet = ?')
        .get(leaseKey(subnet, ipv6Subnet)) as LeaseRow | undefined;
      if (!row) return false;
      this.remove(row);
      return true;
    });
  }

  async watchLeases(afterRevision: number, onBatch: (b: LeaseBatch) => void, signal: AbortSignal): Promise<void> {
    let seen = afterRevision;
    let changed = false;
    this.wake.acquire();
    try {
      while (!signal.aborted) {
        const generation = this.wake.generation;
        const batch = this.poll(seen);
        if (batch) {
          seen = batch.revision;
          onBatch(batch);
        }
        // A file event that showed nothing new may have come before the commit was published: look again soon.
        changed = await this.wake.wait(generation, this.nextCheckMs(changed && !batch), signal);
        if (!signal.aborted) this.watchWakes[changed ? 'change' : 'timer']++;
      }
    } finally {
      this.wake.release();
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.wake.notify(); // sleeping watchers wake, and fail on the closed handle as they did before
  }

  /** How long a watcher may sleep: until the earliest expiry, capped by the safety (or fallback) poll. */
  private nextCheckMs(settle: boolean): number {
    if (!this.wake.available) return this.pollMs ?? FALLBACK_POLL_MS;
    let ms = Math.min(this.pollMs ?? SAFETY_POLL_MS, settle ? SETTLE_MS : SAFETY_POLL_MS);
    const next = guard(() => this.queries().nextExpiry.get() as { t: number | null });
    if (next.t !== null) ms = Math.min(ms, next.t - this.now() + 1); // +1: a row is due once expires_at <= now
    return Math.max(0, ms);
  }

  /** One watch step: sweep expiries if any are due, then the events after `seen` (null when none). */
  private poll(seen: number): LeaseBatch | null {
    const due = guard(() => this.queries().due.get(this.now()));
    if (due) this.write(() => this.sweep());
    return guard(() => {
      const current = this.revision();
      if (current <= seen) return null;
      const oldest =
        (this.db.prepare('SELECT MIN(rev) AS r FROM events').get() as { r: number | null }).r ?? current + 1;
      if (seen < oldest - 1) throw new RevisionCompactedError(`revision ${seen} is compacted (oldest kept ${oldest})`);
      const rows = this.db
        .prepare('SELECT kind, subnet, attrs, expires_at FROM events WHERE rev > ? ORDER BY rev')
        .all(seen) as (LeaseRow & { kind: string })[];
      const events: LeaseEvent[] = [];
      for (const r of rows) {
        const lease = toLease(r);
        if (lease) events.push({ type: r.kind === 'added' ? 'added' : 'removed', lease });
      }
      return { revision: current, events };
    });
  }

  private write<T>(fn: () => T): T {
    return guard(() => this.db.transaction(fn).immediate());
  }

  private revision(): number {
    return (this.queries().revision.get() as { value: number }).value;
  }

  private queries(): IdleQueries {
    this.idleQueries ??= {
      due: this.db.prepare('SELECT 1 FROM leases WHERE expires_at <= ? LIMIT 1'),
      revision: this.db.prepare('SELECT value FROM revision WHERE id = 1'),
      nextExpiry: this.db.prepare('SELECT MIN(expires_at) AS t FROM leases'),
    };
    return this.idleQueries;
  }

  private put(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number, ipv6Subnet?: Ipv6Prefix | null): Lease {
    const key = leaseKey(subnet, ipv6Subnet);
    const row: LeaseRow = { subnet: key, attrs: JSON.stringify(attrs), expires_at: this.now() + ttlMs };
    this.db
      .prepare('INSERT OR REPLACE INTO leases (subnet, attrs, expires_at) VALUES (@subnet, @attrs, @expires_at)')
      .run(row);
    this.log('added', row);
    return { subnet, ...(ipv6Subnet ? { ipv6Subnet } : {}), attrs, expiresAt: row.expires_at };
  }

  private remove(row: LeaseRow): void {
    this.db.prepare('DELETE FROM leases WHERE subnet = ?').run(row.subnet);
    this.log('removed', row);
  }

  private sweep(): void {
    const rows = this.db
      .prepare('SELECT subnet, attrs, expires_at FROM leases WHERE expires_at <= ?')
      .all(this.now()) as LeaseRow[];
    for (const r of rows) this.remove(r);
  }

  private log(kind: 'added' | 'removed', row: LeaseRow): void {
    this.db.prepare('UPDATE revision SET value = value + 1 WHERE id = 1').run();
    const rev = this.revision();
    this.db
      .prepare('INSERT INTO events (rev, kind, subnet, attrs, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(rev, kind, row.subnet, row.attrs, row.expires_at);
    this.db.prepare('DELETE FROM events WHERE rev <= ?').run(rev - this.historyLimit);
  }
}

/** A row as a lease; the `subnet` column holds the lease key (subnet-key.ts), in any of its three forms. */
function toLease(row: LeaseRow): Lease | null {
  const key = parseLeaseKey(row.subnet);
  const attrs = parseLeaseAttrs(row.attrs);
  if (!key || !attrs) return null;
  return {
    subnet: key.subnet,
    ...(key.ipv6Subnet ? { ipv6Subnet: key.ipv6Subnet } : {}),
    attrs,
    expiresAt: row.expires_at,
  };
}

/** Runs a database step, turning SQLite faults (busy, I/O, closed) into StoreUnavailableError. */
/**
 * Opens the file in WAL mode and creates the schema. Agents started together race here: switching a new file to
 * WAL needs it to itself, and SQLite answers SQLITE_BUSY at once instead of waiting (the busy timeout does not
 * cover that step), so a busy open is retried for up to `busyTimeoutMs`.
 */
/**
 * better-sqlite3, loaded on the first open: an agent on etcd never needs it (a few MB of RSS it keeps at rest).
 * It is a CommonJS addon, so a synchronous require suits the synchronous constructor.
 */
function openDriver(): typeof Database {
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}

function openWithRetry(path: string, busyTimeoutMs: number): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    const db = new (openDriver())(path);
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.transaction(() => db.exec(SCHEMA)).immediate();
      return db;
    } catch (e) {
      db.close();
      if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY') !== true || Date.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.random() * 80); // the constructor is synchronous
    }
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RevisionCompactedError || e instanceof LeaseNotFoundError) throw e;
    throw new StoreUnavailableError(`embedded store: ${(e as Error).message}`, { cause: e });
  }
}
