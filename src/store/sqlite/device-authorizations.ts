// RFC 8628 device authorizations: the polling hot path. Every transition is one conditional UPDATE;
// a pending poll writes nothing (poll-clock.ts keeps poll times in memory).
import type { Authentication, DeviceAuthorization, DeviceStatus, Grant } from '../../model/records.ts';
import {
  intervalAfterPoll, type AuditOf, type DecisionRecord, type DeviceAuthorizationStore, type InsertDeviceResult, type PollAttempt, type PollRead,
} from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { insertGrant } from './grants.ts';
import { isUniqueViolation, type SqliteDb } from './db.ts';
import { PollClock } from './poll-clock.ts';
import { authenticationColumns, contextColumns, decisionColumns, toDevice, type Row } from '../rows.ts';

/** SQLite's boolean. */
export const bit = (b: boolean): number => (b ? 1 : 0);

/** The approver and report columns a decision sets, for `SET …`; decisionColumns gives the values. */
export const DECISION_SET = `approver_address = ?, approver_user_agent = ?, approver_country = ?, approver_asn = ?, approver_network = ?,
  location_mismatch = ?, reported_at = ?`;


export class SqliteDeviceAuthorizations implements DeviceAuthorizationStore {
  readonly #db: SqliteDb;
  readonly #polls: PollClock;
  /** toDevice, with the last poll as remembered: what every read of this store returns. */
  readonly #toDevice = (r: Row): DeviceAuthorization => {
    const d = toDevice(r);
    const mark = this.#polls.get(d.id);
    if (mark) {
      d.lastPolledAt = mark.at;
      d.interval = mark.interval;
    }
    return d;
  };

  constructor(db: SqliteDb, polls: PollClock) {
    this.#db = db;
    this.#polls = polls;
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
        if (audit) this.#db.db.transaction(write)();
        else write();
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err) && err.message.includes('device_live_user_code')) return 'user_code_taken';
        throw err;
      }
    });
  }

  get(envId: string, id: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(this.#toDevice, 'SELECT * FROM device_authorizations WHERE env_id = ? AND id = ?', envId, id));
  }

  getByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#byDeviceCodeHash(hash));
  }

  #byDeviceCodeHash(hash: string): DeviceAuthorization | undefined {
    return this.#db.one(this.#toDevice, 'SELECT * FROM device_authorizations WHERE device_code_hash = ?', hash);
  }

  getByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.one(this.#toDevice,
      `SELECT * FROM device_authorizations WHERE env_id = ? AND user_code_hash = ?
       ORDER BY (status = 'pending') DESC, created_at DESC LIMIT 1`, envId, hash));
  }

  // The compare-and-set is on the remembered poll: one server judges a SQLite file's polls, and a
  // read and its record run in one synchronous step, so no other poll comes between them.
  // (An async method runs synchronously up to its first await.)
  async recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean> {
    const device = this.#db.one(this.#toDevice, 'SELECT * FROM device_authorizations WHERE id = ?', id);
    return device?.lastPolledAt === expectedLastPolledAt && await this.#record(device, now, interval);
  }

  async poll(hash: string, attempt: PollAttempt): Promise<PollRead | undefined> {
    const device = this.#byDeviceCodeHash(hash);
    if (!device) return undefined;
    const due = device.envId === attempt.envId && device.clientId === attempt.clientId && device.status === 'pending' && attempt.now < device.expiresAt;
    const recorded = due && await this.#record(device, attempt.now, intervalAfterPoll(device, attempt.now, attempt.slowDownStep));
    return { device, recorded };
  }

  /**
   * Remembers the poll; an interval that changes is written too, before the poll is answered
   * (it lasts for the code's life, restarts and crashes included). The time is written only at close.
   */
  #record(device: DeviceAuthorization, now: number, interval: number): Promise<boolean> {
    this.#polls.set(device.id, { at: now, interval });
    if (interval === device.interval) return Promise.resolve(true);
    return this.#db.grouped(() => this.#db.run('UPDATE device_authorizations SET last_polled_at = ?, interval = ? WHERE id = ?', now, interval, device.id) === 1);
  }

  /**
   * Writes the remembered poll times that can still matter (PollClock.running) into their rows,
   * where no later one is there, in one transaction: what closing the store does, so a restart
   * judges the next polls as before it.
   */
  savePollTimes(): void {
    this.#db.immediate(() => {
      for (const [id, mark] of this.#polls.running()) {
        this.#db.run('UPDATE device_authorizations SET last_polled_at = ? WHERE id = ? AND (last_polled_at IS NULL OR last_polled_at < ?)', mark.at, id, mark.at);
      }
    });
  }

  decide(
    id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, authentication: Authentication | null, now: number,
    record?: DecisionRecord,
    audit?: AuditOf<DeviceAuthorization>,
  ): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => audited(this.#db, () => this.#db.one(this.#toDevice,
      `UPDATE device_authorizations SET status = ?, user_id = ?, decided_at = ?, auth_time = ?, auth_amr = ?, auth_acr = ?, ${DECISION_SET}
       WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *`,
      status, userId, now, ...authenticationColumns(authentication), ...decisionColumns(record, now, bit), id, now), audit));
  }

  consume(id: string, now: number): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#consume(id, now, null));
  }

  redeem(id: string, now: number, grant: Grant, refreshTokenHash: string | null, audit?: AuditOf<DeviceAuthorization>): Promise<DeviceAuthorization | undefined> {
    return this.#db.async(() => this.#db.immediate(() => {
      const consumed = this.#consume(id, now, grant.id);
      if (consumed) {
        insertGrant(this.#db, grant, refreshTokenHash);
        if (audit) appendAudit(this.#db, audit(consumed));
      }
      return consumed;
    }));
  }

  #consume(id: string, now: number, grantId: string | null): DeviceAuthorization | undefined {
    return this.#db.one(this.#toDevice,
      `UPDATE device_authorizations SET status = 'consumed', grant_id = ?
       WHERE id = ? AND status = 'approved' AND expires_at > ? RETURNING *`, grantId, id, now);
  }
}
