// RFC 8628 device authorizations: the polling hot path. Every transition is one conditional UPDATE.
import type { Authentication, DeviceAuthorization, DeviceStatus, Grant } from '../../model/records.ts';
import {
  intervalAfterPoll, type AuditOf, type DecisionRecord, type DeviceAuthorizationStore, type InsertDeviceResult, type PollAttempt, type PollRead,
} from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { insertGrant } from './grants.ts';
import { isRowidConflict, isUniqueViolation, type SqliteDb } from './db.ts';
import { authenticationColumns, contextColumns, decisionColumns, toDevice, type Row } from '../rows.ts';

/** SQLite's boolean. */
export const bit = (b: boolean): number => (b ? 1 : 0);

/** The approver and report columns a decision sets, for `SET …`; decisionColumns gives the values. */
export const DECISION_SET = `approver_address = ?, approver_user_agent = ?, approver_country = ?, approver_asn = ?, approver_network = ?,
  location_mismatch = ?, reported_at = ?`;

/**
 * A device authorization's rowid: the first 52 bits of its device code's hash (13 hex digits, exact
 * in a JavaScript number). A poll then finds its row in one descent of the table, where a lookup by
 * the hash descends the hash's index first and then the table: one random page fewer for every poll
 * once the table outgrows SQLite's page cache (bench/RESULTS.md). The hash is compared as well. A row
 * that is not keyed (written before rowids were keys, or whose key another row held) has a negative
 * rowid and is found through the hash's partial index, which holds only such rows
 * (migrations/sqlite/016_device_code_keys.sql).
 */
function rowKey(deviceCodeHash: string): number | null {
  const key = Number(`0x${deviceCodeHash.slice(0, 13)}`);
  return Number.isNaN(key) ? null : key;
}

export class SqliteDeviceAuthorizations implements DeviceAuthorizationStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  // The two hot writes are group-committed (SqliteDb.grouped): one commit per event-loop turn.
  insert(d: DeviceAuthorization, audit?: AuditOf<DeviceAuthorization>): Promise<InsertDeviceResult> {
    const write = (rowid: number) => {
      this.#db.run(`INSERT INTO device_authorizations (rowid, id, env_id, client_id, device_code_hash, user_code_hash, scope, status,
        expires_at, interval, last_polled_at, user_id, created_at, decided_at, source_network,
        request_address, request_user_agent, request_country, request_asn, request_network)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      rowid, d.id, d.envId, d.clientId, d.deviceCodeHash, d.userCodeHash, d.scope, d.status, d.expiresAt, d.interval,
      d.lastPolledAt, d.userId, d.createdAt, d.decidedAt, d.sourceNetwork, ...contextColumns(d.requestContext));
      if (audit) appendAudit(this.#db, audit(d));
    };
    // In the group's transaction; with events, in a savepoint of it, so the row and its events
    // are kept or rolled back together.
    const attempt = (rowid: number): InsertDeviceResult => {
      try {
        if (audit) this.#db.atomically(() => { write(rowid); });
        else write(rowid);
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err) && err.message.includes('device_live_user_code')) return 'user_code_taken';
        throw err;
      }
    };
    return this.#db.grouped((): InsertDeviceResult => {
      const key = rowKey(d.deviceCodeHash);
      if (key === null) return attempt(this.#nextUnkeyed());
      try {
        return attempt(key);
      } catch (err) {
        // Another row holds the key (two hashes alike in their first 52 bits): this one goes
        // unkeyed. The same hash is refused, as a unique index would.
        if (!isRowidConflict(err) || this.#db.get('SELECT 1 FROM device_authorizations WHERE rowid = ? AND device_code_hash = ?', key, d.deviceCodeHash)) throw err;
        return attempt(this.#nextUnkeyed());
      }
    });
  }

  /** A negative rowid no row has: unkeyed rows count down from -1. */
  #nextUnkeyed(): number {
    return Number(this.#db.get('SELECT coalesce(min(rowid), 0) - 1 AS next FROM device_authorizations WHERE rowid < 0')?.next);
  }

  get(envId: string, id: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(toDevice, 'SELECT * FROM device_authorizations WHERE env_id = ? AND id = ?', envId, id));
  }

  getByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => {
      const row = this.#byHash(hash);
      return row === undefined ? undefined : toDevice(row);
    });
  }

  /** The row of a device code's hash, with its rowid: by its key, else (an unkeyed row) by the hash's partial index. */
  #byHash(hash: string): Row | undefined {
    const key = rowKey(hash);
    return (key === null ? undefined : this.#db.get('SELECT rowid AS row_id, * FROM device_authorizations WHERE rowid = ? AND device_code_hash = ?', key, hash))
      ?? this.#db.get('SELECT rowid AS row_id, * FROM device_authorizations WHERE device_code_hash = ? AND rowid < 0', hash);
  }

  getByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(toDevice,
      `SELECT * FROM device_authorizations WHERE env_id = ? AND user_code_hash = ?
       ORDER BY (status = 'pending') DESC, created_at DESC LIMIT 1`, envId, hash));
  }

  recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean> {
    return this.#db.grouped(() => this.#db.run(
      'UPDATE device_authorizations SET last_polled_at = ?, interval = ? WHERE id = ? AND last_polled_at IS ?',
      now, interval, id, expectedLastPolledAt) === 1);
  }

  // The read finds the row by its key (rowKey) and brings its rowid, and the poll is recorded by it
  // (the id still checked, against a rowid that a swept row left free): the UPDATE then reaches the
  // row through the table's own key, in the page the read has just brought in.
  async poll(hash: string, attempt: PollAttempt): Promise<PollRead | undefined> {
    const row = await this.#db.async(() => this.#byHash(hash));
    if (!row) return undefined;
    const device = toDevice(row);
    const due = device.envId === attempt.envId && device.clientId === attempt.clientId && device.status === 'pending' && attempt.now < device.expiresAt;
    const recorded = due && await this.#db.grouped(() => this.#db.run(
      'UPDATE device_authorizations SET last_polled_at = ?, interval = ? WHERE rowid = ? AND id = ? AND last_polled_at IS ?',
      attempt.now, intervalAfterPoll(device, attempt.now, attempt.slowDownStep), row.row_id, device.id, device.lastPolledAt) === 1);
    return { device, recorded };
  }

  decide(
    id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, authentication: Authentication | null, now: number,
    record?: DecisionRecord,
    audit?: AuditOf<DeviceAuthorization>,
  ): Promise<DeviceAuthorization | undefined> {
    return audited(this.#db, () => this.#db.one(toDevice,
      `UPDATE device_authorizations SET status = ?, user_id = ?, decided_at = ?, auth_time = ?, auth_amr = ?, auth_acr = ?, ${DECISION_SET}
       WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *`,
      status, userId, now, ...authenticationColumns(authentication), ...decisionColumns(record, now, bit), id, now), audit);
  }

  consume(id: string, now: number): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#consume(id, now, null));
  }

  redeem(id: string, now: number, grant: Grant, refreshTokenHash: string | null, audit?: AuditOf<DeviceAuthorization>): Promise<DeviceAuthorization | undefined> {
    return this.#db.groupedAtomic(() => {
      const consumed = this.#consume(id, now, grant.id);
      if (consumed) {
        insertGrant(this.#db, grant, refreshTokenHash);
        if (audit) appendAudit(this.#db, audit(consumed));
      }
      return consumed;
    });
  }

  #consume(id: string, now: number, grantId: string | null): DeviceAuthorization | undefined {
    return this.#db.one(toDevice,
      `UPDATE device_authorizations SET status = 'consumed', grant_id = ?
       WHERE id = ? AND status = 'approved' AND expires_at > ? RETURNING *`, grantId, id, now);
  }
}
