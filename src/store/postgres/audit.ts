// The audit trail and the webhook's outbox on PostgreSQL. Events are appended inside the
// transaction of the write they describe (appendAudit, called by the repositories). Several
// instances drain one outbox: a deliverer holds an environment's advisory lock for the length of
// its transaction, and the batch's rows `FOR UPDATE SKIP LOCKED`, so each event goes out from one
// instance at a time and an environment's events stay in order. The batch is removed in the same
// transaction, after its delivery was confirmed: a crash before the commit delivers it again.
//
// Outbox numbers (seq) are drawn when a row is written, not when its transaction commits, so a
// row can become visible after a higher-numbered one: delivering what is visible would then put
// the later event first. Writers therefore hold their environment's write lock, shared, from their
// outbox rows to their commit; a deliverer takes it alone for a moment first, which waits for the
// writers in flight, and reads the highest number then: every row up to it is committed (or rolled
// back), so it delivers no further than that.
import type { AuditEvent } from '../../model/records.ts';
import { auditEventColumns, num, str, toAuditEvent } from '../rows.ts';
import type { AuditFilter, AuditOutboxStore, AuditStore, OutboxBatch } from '../store.ts';
import { LOCK_SPACES, type PgDb, type Queries } from './db.ts';

/** Writes `events` (and their outbox rows when `outbox`), inside the caller's transaction. */
export async function appendAudit(q: Queries, events: readonly AuditEvent[], outbox: boolean): Promise<void> {
  for (const e of events) {
    await q.run({
      name: 'audit_insert',
      text: 'INSERT INTO audit_events (id, env_id, at, type, actor, subject, source, outcome, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      values: auditEventColumns(e),
    });
    // The write lock is taken (a CTE with a side effect runs first) before the row draws its number.
    if (outbox) {
      await q.run({
        name: 'audit_outbox_insert',
        text: `WITH writing AS (SELECT pg_advisory_xact_lock_shared($3::int4, hashtext($2)))
          INSERT INTO audit_outbox (event_id, env_id) SELECT $1, $2 FROM writing`,
        values: [e.id, e.envId, LOCK_SPACES.auditOutboxWrite],
      });
    }
  }
}

/**
 * A conditional write (its result undefined when nothing changed) in one transaction with the
 * events `audit` makes of what it wrote; without an `audit`, the write alone on the pool, as before.
 */
export async function audited<R>(
  db: PgDb, write: (q: Queries) => Promise<R | undefined>, audit?: (r: R) => readonly AuditEvent[],
): Promise<R | undefined> {
  if (audit === undefined) return write(db);
  return db.transaction(async (tx) => {
    const r = await write(tx);
    if (r !== undefined) await appendAudit(tx, audit(r), db.auditOutbox);
    return r;
  });
}

export class PgAudit implements AuditStore, AuditOutboxStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async append(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#db.transaction((tx) => appendAudit(tx, events, this.#db.auditOutbox));
  }

  list(f: AuditFilter): Promise<AuditEvent[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => { values.push(v); return `$${values.length}`; };
    if (f.envId !== undefined) where.push(`env_id = ${param(f.envId)}`);
    if (f.since !== undefined) where.push(`at >= ${param(f.since)}`);
    if (f.types !== undefined && f.types.length > 0) where.push(`type = ANY(${param([...f.types])}::text[])`);
    if (f.party !== undefined) { const p = param(f.party); where.push(`(actor = ${p} OR subject = ${p})`); }
    const text = `SELECT * FROM (SELECT * FROM audit_events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id COLLATE "C" DESC LIMIT ${param(f.limit)}) newest ORDER BY at, id COLLATE "C"`;
    return this.#db.all(toAuditEvent, { text, values });
  }

  async deliverNext(now: number, max: number, deliver: (batch: OutboxBatch) => Promise<boolean>, retryAt: (attempts: number) => number): Promise<boolean> {
    // The environments whose oldest row is due, most overdue first: one index probe per
    // environment, not a read of the whole outbox, which grows for as long as the receiver is down.
    const due = await this.#db.rows({
      name: 'audit_outbox_due',
      text: `SELECT e.id AS env_id FROM environments e
        CROSS JOIN LATERAL (SELECT seq, next_attempt_at FROM audit_outbox WHERE env_id = e.id ORDER BY seq LIMIT 1) head
        WHERE head.next_attempt_at <= $1 ORDER BY head.next_attempt_at, head.seq LIMIT 16`,
      values: [now],
    });
    for (const row of due) {
      const envId = str(row.env_id);
      // Waits for the environment's writes in flight (see above); rows up to `settled` are final.
      const settled = await this.#db.transaction(async (tx) => {
        await tx.lockUntilCommit('auditOutboxWrite', envId);
        const r = await tx.get({ name: 'audit_outbox_settled', text: 'SELECT max(seq) AS seq FROM audit_outbox WHERE env_id = $1', values: [envId] });
        return r?.seq === null || r?.seq === undefined ? 0 : num(r.seq);
      });
      const handled = await this.#db.transaction(async (tx) => {
        // Another instance delivering this environment now: leave it to that one.
        if (!(await tx.tryLockUntilCommit('auditOutbox', envId))) return false;
        const rows = await tx.rows({
          name: 'audit_outbox_batch',
          text: `SELECT o.seq, o.attempts, o.next_attempt_at, e.id, e.env_id, e.at, e.type, e.actor, e.subject, e.source, e.outcome, e.details
            FROM audit_outbox o LEFT JOIN audit_events e ON e.id = o.event_id
            WHERE o.env_id = $1 AND o.seq <= $3 ORDER BY o.seq LIMIT $2 FOR UPDATE OF o SKIP LOCKED`,
          values: [envId, max, settled],
        });
        const head = rows[0];
        // Delivered meanwhile by the instance that held the lock before us, or not yet due.
        if (head === undefined || num(head.next_attempt_at) > now) return false;
        const events = rows.filter((r) => r.id !== null).map(toAuditEvent);
        const attempts = num(head.attempts);
        if (events.length === 0 || await deliver({ envId, events, attempts })) {
          await tx.run({ text: 'DELETE FROM audit_outbox WHERE seq = ANY($1::bigint[])', values: [rows.map((r) => num(r.seq))] });
        } else {
          await tx.run({ text: 'UPDATE audit_outbox SET attempts = $1, next_attempt_at = $2 WHERE seq = $3', values: [attempts + 1, retryAt(attempts + 1), num(head.seq)] });
        }
        return true;
      });
      if (handled) return true;
    }
    return false;
  }

  async pending(): Promise<number> {
    return num((await this.#db.get({ name: 'audit_outbox_pending', text: 'SELECT count(*)::int AS n FROM audit_outbox' }))?.n ?? 0);
  }
}
