// RFC 8628 device authorizations: the polling hot path. Every transition is one conditional UPDATE.
import type { Authentication, DeviceAuthorization, DeviceStatus, Grant } from '../../model/records.ts';
import {
  intervalAfterPoll, type AuditOf, type DecisionRecord, type DeviceAuthorizationStore, type InsertDeviceResult, type PollAttempt, type PollRead,
} from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { insertGrant } from './grants.ts';
import { isUniqueViolation, type SqliteDb } from './db.ts';
import { authenticationColumns, contextColumns, decisionColumns, toDevice } from '../rows.ts';

/** SQLite's boolean. */
export const bit = (b: boolean): number => (b ? 1 : 0);

/** The approver and report columns a decision sets, for `SET …`; decisionColumns gives the values. */
export const DECISION_SET = `approver_address = ?, approver_user_agent = ?, approver_country = ?, approver_asn = ?, approver_network = ?,
  location_mismatch = ?, reported_at = ?`;


export class SqliteDeviceAuthorizations implements DeviceAuthorizationStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  // The two hot writes are group-committed (SqliteDb.grouped): one commit per event-loop turn.
  insert(d: DeviceAuthorization, audit?: AuditOf<DeviceAuthorization>): Promise<InsertDeviceResult> {
    const write = () => {
      this.#db.run(`INSERT INTO device_authorizations (id, env_id, client_id, device_code_hash, user_code_hash, scope, status,
        expires_at, interval, last_polled_at, user_id, created_at, decided_at, source_network,
        request_address, request_user_agent, request_country, request_asn, request_network)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      d.id, d.envId, d.clientId, d.deviceCodeHash, d.userCodeHash, d.scope, d.status, d.expiresAt, d.interval,
      d.lastPolledAt, d.userId, d.createdAt, d.decidedAt, d.sourceNetwork, ...contextColumns(d.requestContext));
      if (audit) appendAudit(this.#db, audit(d));
    };
    // In the group's transaction; with events, in a savepoint of it, so the row and its events
    // are kept or rolled back together.
    return this.#db.grouped((): InsertDeviceResult => {
      try {
        if (audit) this.#db.atomically(write);
        else write();
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err) && err.message.includes('device_live_user_code')) return 'user_code_taken';
        throw err;
      }
    });
  }

  get(envId: string, id: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(toDevice, 'SELECT * FROM device_authorizations WHERE env_id = ? AND id = ?', envId, id));
  }

  getByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(toDevice, 'SELECT * FROM device_authorizations WHERE device_code_hash = ?', hash));
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

  // The read brings the row's rowid, and the poll is recorded by it (the id still checked, against a
  // rowid that a swept row left free): the UPDATE then reaches the row through the table's own key,
  // in the page the read has just brought in. By id it went through the id index first, one more
  // random page once the table outgrows the cache (bench/RESULTS.md, a million codes).
  async poll(hash: string, attempt: PollAttempt): Promise<PollRead | undefined> {
    const row = await this.#db.async(() => this.#db.get('SELECT rowid AS row_id, * FROM device_authorizations WHERE device_code_hash = ?', hash));
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
