// RFC 8628 device authorizations: the polling hot path, as prepared statements. Every transition is
// one conditional UPDATE; under READ COMMITTED a concurrent one waits for the row and re-checks its
// WHERE against the committed row, so of racing transitions exactly one applies.
import type { Authentication, DeviceAuthorization, DeviceStatus, Grant } from '../../model/records.ts';
import type { AuditOf, DecisionRecord, DeviceAuthorizationStore, InsertDeviceResult, PollAttempt, PollRead } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { isUniqueViolation, type PgDb, type Queries } from './db.ts';
import { authenticationColumns, contextColumns, decisionColumns, toDevice } from '../rows.ts';
import { insertGrant } from './grants.ts';

/**
 * What a new device authorization is inserted with (where its request came from included); how its
 * approver signed in, and where they were, come with the decision.
 */
const INSERTED = `id, env_id, client_id, device_code_hash, user_code_hash, scope, status, expires_at, "interval", last_polled_at,
  user_id, created_at, decided_at, source_network, request_address, request_user_agent, request_country, request_asn, request_network`;
const COLUMNS = `${INSERTED}, auth_time, auth_amr, auth_acr, grant_id, approver_address, approver_user_agent, approver_country, approver_asn,
  approver_network, location_mismatch, reported_at`;

/** `SET …` of what a decision records, its seven parameters from `$first` on (decisionColumns gives the values). */
export function decisionSet(first: number): string {
  const names = ['approver_address', 'approver_user_agent', 'approver_country', 'approver_asn', 'approver_network', 'location_mismatch', 'reported_at'];
  return names.map((n, i) => `${n} = $${first + i}`).join(', ');
}

/**
 * A poll's bookkeeping (last_polled_at, the interval slow_down grows) commits without waiting for
 * its WAL flush: in the FROM list of the statement that writes it, this is `SET LOCAL
 * synchronous_commit = off` for that statement's own transaction and no other, in the same round
 * trip. A crash of PostgreSQL can lose the polls of its last moments (README, "Storage and
 * secrets"); decisions, redemptions and grants keep the server's setting.
 */
const ASYNC_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit`;

/** PostgreSQL's boolean is a boolean. */
export const same = (b: boolean): boolean => b;


export class PgDeviceAuthorizations implements DeviceAuthorizationStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async insert(d: DeviceAuthorization, audit?: AuditOf<DeviceAuthorization>): Promise<InsertDeviceResult> {
    try {
      await audited(this.#db, async (q) => {
        await q.run({
          name: 'device_insert',
          text: `INSERT INTO device_authorizations (${INSERTED})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
          values: [d.id, d.envId, d.clientId, d.deviceCodeHash, d.userCodeHash, d.scope, d.status, d.expiresAt, d.interval,
            d.lastPolledAt, d.userId, d.createdAt, d.decidedAt, d.sourceNetwork, ...contextColumns(d.requestContext)],
        });
        return d;
      }, audit);
      return 'ok';
    } catch (err) {
      // The partial UNIQUE index over pending user codes decides a collision (the engine retries).
      if (isUniqueViolation(err) && err.constraint === 'device_live_user_code') return 'user_code_taken';
      throw err;
    }
  }

  get(envId: string, id: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.one(toDevice, {
      name: 'device_get', text: `SELECT ${COLUMNS} FROM device_authorizations WHERE env_id = $1 AND id = $2`, values: [envId, id],
    });
  }

  getByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.one(toDevice, {
      name: 'device_by_device_code', text: `SELECT ${COLUMNS} FROM device_authorizations WHERE device_code_hash = $1`, values: [hash],
    });
  }

  getByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#db.one(toDevice, {
      name: 'device_by_user_code',
      text: `SELECT ${COLUMNS} FROM device_authorizations WHERE env_id = $1 AND user_code_hash = $2
        ORDER BY (status = 'pending') DESC, created_at DESC LIMIT 1`,
      values: [envId, hash],
    });
  }

  async recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean> {
    // IS NOT DISTINCT FROM is SQLite's `IS`: equal, or both NULL (the first poll).
    return await this.#db.run({
      name: 'device_record_poll',
      text: `UPDATE device_authorizations SET last_polled_at = $1, "interval" = $2 FROM ${ASYNC_COMMIT}
        WHERE id = $3 AND last_polled_at IS NOT DISTINCT FROM $4::bigint`,
      values: [now, interval, id, expectedLastPolledAt],
    }) === 1;
  }

  async poll(hash: string, attempt: PollAttempt): Promise<PollRead | undefined> {
    // One statement, one round trip, its own transaction: `cur` is the row as the statement's
    // snapshot has it, and the UPDATE is recordPoll's compare-and-set against it. A concurrent
    // poll's UPDATE holds the row until its transaction ends; this one then re-checks its WHERE
    // against the row as committed, finds last_polled_at changed and writes nothing, and the caller
    // reads again, as after getByDeviceCodeHash then a lost recordPoll. The CASE is slowDownDue and
    // intervalAfterPoll (store.ts).
    const row = await this.#db.get({
      name: 'device_poll',
      text: `WITH cur AS (
          SELECT ${COLUMNS} FROM device_authorizations WHERE device_code_hash = $1
        ), polled AS (
          UPDATE device_authorizations d SET last_polled_at = $2::bigint,
              "interval" = CASE WHEN cur.last_polled_at IS NOT NULL AND $2::bigint - cur.last_polled_at < cur."interval"::bigint * 1000
                THEN cur."interval" + $5::integer ELSE cur."interval" END
            FROM cur, ${ASYNC_COMMIT}
            WHERE d.id = cur.id AND d.last_polled_at IS NOT DISTINCT FROM cur.last_polled_at
              AND cur.env_id = $3 AND cur.client_id = $4 AND cur.status = 'pending' AND cur.expires_at > $2::bigint
            RETURNING d.id
        )
        SELECT cur.*, EXISTS (SELECT 1 FROM polled) AS recorded FROM cur`,
      values: [hash, attempt.now, attempt.envId, attempt.clientId, attempt.slowDownStep],
    });
    return row === undefined ? undefined : { device: toDevice(row), recorded: row.recorded === true };
  }

  decide(
    id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, authentication: Authentication | null, now: number,
    record?: DecisionRecord,
    audit?: AuditOf<DeviceAuthorization>,
  ): Promise<DeviceAuthorization | undefined> {
    return audited(this.#db, (q) => q.one(toDevice, {
      name: 'device_decide',
      text: `UPDATE device_authorizations SET status = $1, user_id = $2, decided_at = $3, auth_time = $5, auth_amr = $6, auth_acr = $7,
          ${decisionSet(8)}
        WHERE id = $4 AND status = 'pending' AND expires_at > $3 RETURNING ${COLUMNS}`,
      values: [status, userId, now, id, ...authenticationColumns(authentication), ...decisionColumns(record, now, same)],
    }), audit);
  }

  consume(id: string, now: number): Promise<DeviceAuthorization | undefined> {
    return consumeOn(this.#db, id, now, null);
  }

  redeem(id: string, now: number, grant: Grant, refreshTokenHash: string | null, audit?: AuditOf<DeviceAuthorization>): Promise<DeviceAuthorization | undefined> {
    // The code is spent only if its grant is stored too: a failed write rolls both back, and the
    // approval waits for the device's next poll. Of concurrent redeems the first UPDATE holds the
    // row; the others, once it commits, find it consumed and store nothing.
    return this.#db.transaction(async (tx) => {
      const consumed = await consumeOn(tx, id, now, grant.id);
      if (consumed) {
        await insertGrant(tx, grant, refreshTokenHash);
        if (audit) await appendAudit(tx, audit(consumed), this.#db.auditOutbox);
      }
      return consumed;
    });
  }
}

function consumeOn(q: Queries, id: string, now: number, grantId: string | null): Promise<DeviceAuthorization | undefined> {
  return q.one(toDevice, {
    name: 'device_consume',
    text: `UPDATE device_authorizations SET status = 'consumed', grant_id = $3
      WHERE id = $1 AND status = 'approved' AND expires_at > $2 RETURNING ${COLUMNS}`,
    values: [id, now, grantId],
  });
}
