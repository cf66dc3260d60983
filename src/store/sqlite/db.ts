// The one better-sqlite3 connection a store uses, with the helpers every repository shares: a
// statement cache (polling is the hot path), row access, UNIQUE violations as StoreConflictError,
// and the async contract (better-sqlite3 is synchronous; throws become rejections).
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Row } from '../rows.ts';
import { StoreConflictError } from '../store.ts';
import { alignSidecarModes, createPrivateFile, ensurePrivateDir } from './private-files.ts';

/** Pages of WAL after which a commit checkpoints (4 KiB pages: ~40 MB). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

const errorCode = (err: unknown): unknown => (err instanceof Error && 'code' in err ? err.code : undefined);

export function isUniqueViolation(err: unknown): err is Error {
  const code = errorCode(err);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** An INSERT gave a rowid that another row of the table has. */
export function isRowidConflict(err: unknown): err is Error {
  return errorCode(err) === 'SQLITE_CONSTRAINT_ROWID';
}

interface Queued {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export class SqliteDb {
  readonly db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  /** Audit events get an outbox row too (the webhook is configured): set once, when the store opens. */
  auditOutbox = false;
  /** Writes waiting for this event-loop turn's group commit. */
  #queue: Queued[] = [];
  /**
   * Told `PRAGMA data_version` at the start of every transaction (the turn's reads, a group commit,
   * an IMMEDIATE one), where it costs one statement inside a transaction that takes its locks anyway:
   * the client cache then holds nothing older than the snapshot being read.
   */
  onVersion: ((version: number) => void) | undefined;
  /** This turn's read transaction is open (see #beginRead). */
  #readOpen = false;
  #readEndScheduled = false;

  constructor(file: string, synchronous: 'normal' | 'full' = 'normal') {
    const onDisk = file !== ':memory:';
    if (onDisk) {
      ensurePrivateDir(path.dirname(file));
      createPrivateFile(file);
    }
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(synchronous === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      // Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a page dirtied by many commits is
      // copied back once, and the checkpoint's fsyncs come ten times less often (bench/RESULTS.md).
      // A server checkpoints from a thread of its own (checkpointer.ts); this is then its backstop.
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.db.pragma('foreign_keys = ON');
      if (onDisk) alignSidecarModes(file);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** The SQL of every statement prepared on this connection so far. */
  get prepared(): string[] {
    return [...this.#stmts.keys()];
  }

  get(sql: string, ...params: unknown[]): Row | undefined {
    return this.#ready(this.stmt(sql)).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: unknown[]): Row[] {
    return this.#ready(this.stmt(sql)).all(...params) as Row[];
  }

  /**
   * Reads outside a write share one read transaction per event-loop turn. On its own, each statement
   * takes and drops SQLite's shared locks (two fcntl calls and a stat), which cost more than a
   * primary-key lookup does (bench/RESULTS.md, "Reads share a read transaction per turn"). The
   * transaction begins at the turn's first read and ends at setImmediate, or before any write of
   * this connection, whichever comes first. So a read sees another connection's commit from the
   * next turn on at the latest, and always sees this connection's own writes, which commit after it
   * has ended.
   */
  #ready(s: Database.Statement): Database.Statement {
    if (!s.readonly) this.endRead();
    else this.snapshot();
    return s;
  }

  /** This turn's read transaction, begun now unless it (or a write transaction) is open already. */
  snapshot(): void {
    // The flag first: inTransaction is a call into the native binding (0.7 % of a poll's CPU).
    if (!this.#readOpen && !this.db.inTransaction) this.#beginRead();
  }

  #beginRead(): void {
    this.stmt('BEGIN').run();
    this.#readOpen = true;
    this.#observeVersion();
    if (this.#readEndScheduled) return;
    this.#readEndScheduled = true;
    setImmediate(() => {
      this.#readEndScheduled = false;
      this.endRead();
    });
  }

  /** Ends this turn's read transaction, if one is open: before a write, or anything else that needs none open. */
  endRead(): void {
    if (!this.#readOpen) return;
    this.#readOpen = false;
    if (this.db.open && this.db.inTransaction) this.stmt('COMMIT').run();
  }

  one<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): T | undefined {
    const r = this.get(sql, ...params);
    return r === undefined ? undefined : map(r);
  }

  /** Rows changed by a write. */
  run(sql: string, ...params: unknown[]): number {
    this.endRead();
    return this.stmt(sql).run(...params).changes;
  }

  /** An INSERT whose UNIQUE violations become StoreConflictError(conflict). */
  insert(sql: string, conflict: string, ...params: unknown[]): void {
    this.endRead();
    try {
      this.stmt(sql).run(...params);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(conflict);
      throw err;
    }
  }

  /** `fn` in one IMMEDIATE transaction: the write lock is taken first, so no other writer interleaves. */
  immediate<T>(fn: () => T): T {
    this.endRead();
    return this.db.transaction(() => {
      this.#observeVersion();
      return fn();
    }).immediate();
  }

  /**
   * Group commit: `write` (one statement, or several that need no atomicity beyond their own) runs
   * in one IMMEDIATE transaction with the other grouped writes of this event-loop turn, and the
   * promise settles only after that transaction has committed, so an answer built on it is never
   * sent for a write that is lost. A write that throws (a UNIQUE violation) is rolled back alone,
   * as SQLite does for a failed statement, and rejects its own promise only; a failure that ends
   * the transaction (a full disk, a commit that fails) rejects every write of the group, none of
   * which was stored. One commit for many writes is what lets the hot INSERT and UPDATE paths go
   * faster than one autocommitted statement per request.
   */
  grouped<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => { this.#flush(); });
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /**
   * `write` under a savepoint of the open transaction: if it throws, its own statements are undone
   * and the transaction's other writes stay.
   */
  atomically<T>(write: () => T): T {
    this.stmt('SAVEPOINT atomic_write').run();
    try {
      const result = write();
      this.stmt('RELEASE atomic_write').run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) {
        this.stmt('ROLLBACK TO atomic_write').run();
        this.stmt('RELEASE atomic_write').run();
      }
      throw err;
    }
  }

  /**
   * A grouped write of several statements that stand or fall together (a rotation, a redemption with
   * its grant and audit event), under a savepoint of the group's transaction: it commits with the
   * group's other writes instead of in a transaction of its own.
   */
  groupedAtomic<T>(write: () => T): Promise<T> {
    return this.grouped(() => this.atomically(write));
  }

  #flush(): void {
    const group = this.#queue;
    this.#queue = [];
    if (!this.db.open) {
      for (const q of group) q.reject(new Error('the database is closed'));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: Error })[] = [];
    try {
      this.endRead();
      this.stmt('BEGIN IMMEDIATE').run();
      this.#observeVersion();
      for (const q of group) {
        try {
          outcomes.push({ ok: true, value: q.write() });
        } catch (err) {
          // SQLite ends the whole transaction on some errors (SQLITE_FULL, I/O): then nothing holds.
          if (!this.db.inTransaction) throw err;
          outcomes.push({ ok: false, err: asError(err) });
        }
      }
      this.stmt('COMMIT').run();
    } catch (err) {
      if (this.db.inTransaction) this.stmt('ROLLBACK').run();
      for (const q of group) q.reject(asError(err));
      return;
    }
    group.forEach((q, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok === true) q.resolve(outcome.value);
      else q.reject(outcome?.err ?? new Error('no outcome'));
    });
  }

  /** `PRAGMA data_version`, inside the transaction just begun: it changes when another connection has committed. */
  #observeVersion(): void {
    if (this.onVersion !== undefined) this.onVersion(this.get('PRAGMA data_version')?.data_version as number);
  }

  /** The async contract for a synchronous body. */
  async<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): void {
    if (!this.db.open) return;
    this.endRead();
    // Writes already grouped are committed, not dropped.
    if (this.#queue.length > 0) this.#flush();
    this.#stmts.clear();
    this.db.close();
  }
}
