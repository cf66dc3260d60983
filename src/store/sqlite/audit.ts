// The audit trail and the webhook's outbox on SQLite. Events are appended inside the transaction of
// the write they describe (appendAudit, called by the repositories); the outbox is drained by the
// one server process a SQLite file has, so a batch is read, delivered outside any transaction and
// removed after: a crash in between delivers it again (at least once).
import type { AuditEvent } from '../../model/records.ts';
import { auditEventColumns, num, str, toAuditEvent } from '../rows.ts';
import type { AuditFilter, AuditOutboxStore, AuditStore, OutboxBatch } from '../store.ts';
import type { SqliteDb } from './db.ts';

/** Writes `events` (and their outbox rows, while delivery is on); the caller holds the transaction. */
export function appendAudit(db: SqliteDb, events: readonly AuditEvent[]): void {
  for (const e of events) {
    db.run(`INSERT INTO audit_events (id, env_id, at, type, actor, subject, source, outcome, details)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...auditEventColumns(e));
    if (db.auditOutbox) db.run('INSERT INTO audit_outbox (event_id, env_id) VALUES (?, ?)', e.id, e.envId);
  }
}

/**
 * A conditional write (its result undefined when nothing changed), atomic with the events `audit`
 * makes of what it wrote; without an `audit`, the write alone. It commits in the group commit
 * (SqliteDb.groupedAtomic), and its promise settles once that commit is done.
 */
export function audited<R>(db: SqliteDb, write: () => R | undefined, audit?: (r: R) => readonly AuditEvent[]): Promise<R | undefined> {
  if (audit === undefined) return db.grouped(write);
  return db.groupedAtomic(() => {
    const r = write();
    if (r !== undefined) appendAudit(db, audit(r));
    return r;
  });
}

export class SqliteAudit implements AuditStore, AuditOutboxStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  append(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.#db.groupedAtomic(() => { appendAudit(this.#db, events); });
  }

  list(f: AuditFilter): Promise<AuditEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.envId !== undefined) { where.push('env_id = ?'); params.push(f.envId); }
    if (f.since !== undefined) { where.push('at >= ?'); params.push(f.since); }
    if (f.types !== undefined && f.types.length > 0) { where.push(`type IN (${f.types.map(() => '?').join(', ')})`); params.push(...f.types); }
    if (f.party !== undefined) { where.push('(actor = ? OR subject = ?)'); params.push(f.party, f.party); }
    const sql = `SELECT * FROM (SELECT * FROM audit_events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id`;
    return this.#db.async(() => this.#db.db.prepare(sql).all(...params, f.limit).map((r) => toAuditEvent(r as Record<string, unknown>)));
  }

  async deliverNext(now: number, max: number, deliver: (batch: OutboxBatch) => Promise<boolean>, retryAt: (attempts: number) => number): Promise<boolean> {
    // The head (oldest row) of each environment decides when that environment is due. Heads are
    // found by one index probe per environment, not by reading the outbox, which grows for as long
    // as the receiver is down and is looked at every poll (test/store/sqlite.test.ts, query plans).
    const head = await this.#db.async(() => this.#db.get(`SELECT o.env_id, o.seq, o.attempts FROM environments
      JOIN audit_outbox o ON o.seq = (SELECT min(seq) FROM audit_outbox WHERE env_id = environments.id)
      WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.seq LIMIT 1`, now));
    if (!head) return false;
    const envId = str(head.env_id);
    const rows = await this.#db.async(() => this.#db.all(`SELECT o.seq, e.* FROM audit_outbox o LEFT JOIN audit_events e ON e.id = o.event_id
      WHERE o.env_id = ? ORDER BY o.seq LIMIT ?`, envId, max));
    const seqs = rows.map((r) => num(r.seq));
    // An event swept before it was delivered (retention) has nothing left to send.
    const events = rows.filter((r) => r.id !== null && r.id !== undefined).map(toAuditEvent);
    const attempts = num(head.attempts);
    const delivered = events.length === 0 || await deliver({ envId, events, attempts });
    await this.#db.async(() => { this.#db.immediate(() => {
      if (delivered) {
        for (const seq of seqs) this.#db.run('DELETE FROM audit_outbox WHERE seq = ?', seq);
      } else {
        this.#db.run('UPDATE audit_outbox SET attempts = ?, next_attempt_at = ? WHERE seq = ?', attempts + 1, retryAt(attempts + 1), num(head.seq));
      }
    }); });
    return true;
  }

  pending(): Promise<number> {
    return this.#db.async(() => num(this.#db.get('SELECT count(*) AS n FROM audit_outbox')?.n ?? 0));
  }
}
